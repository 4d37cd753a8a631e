// The fault scenarios of issue #12, in report order (see run.ts for what a
// scenario is and checks).
import type { Scenario } from './run.js';
import { apiKillPosts, apiKillReaders, slowReaders } from './scenarios/api.js';
import { manyCrawls } from './scenarios/load.js';
import { partitionApi, partitionWorker } from './scenarios/partition.js';
import { redisKill, redisLoseWrites, redisShutdown } from './scenarios/redis.js';
import { workerKill, workerSigterm } from './scenarios/worker.js';

export type { Scenario } from './run.js';
export {
  apiKillPosts,
  apiKillReaders,
  manyCrawls,
  partitionApi,
  partitionWorker,
  redisKill,
  redisLoseWrites,
  redisShutdown,
  slowReaders,
  workerKill,
  workerSigterm,
};

export const SCENARIOS: Scenario[] = [
  workerKill,
  workerSigterm,
  redisKill,
  redisShutdown,
  redisLoseWrites,
  apiKillPosts,
  partitionWorker,
  partitionApi,
  apiKillReaders,
  slowReaders,
  manyCrawls,
];
