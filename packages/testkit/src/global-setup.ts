// Vitest global setup: one real Redis for the whole run, handed to test files
// through `inject('redisUrl')`, stopped when the run ends. With
// REDIS_TEST_CLUSTER=1, a private Redis Cluster (3 masters, 3 replicas)
// instead: `redisUrl` is then its seed list and `redisCluster` is true.
import type { TestProject } from 'vitest/node';
import { provideRedis } from './provide.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    redisSource: string;
    redisCluster: boolean;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await provideRedis();
  process.stderr.write(`[testkit] Redis for integration tests: ${redis.source} at ${redis.url}\n`);
  project.provide('redisUrl', redis.url);
  project.provide('redisSource', redis.source);
  project.provide('redisCluster', redis.cluster);
  return () => redis.stop();
}
