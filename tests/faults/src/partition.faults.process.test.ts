// Partitions with real processes: a TCP proxy between a process and Redis,
// paused for 20 s (sockets stay open, nothing passes) and resumed.
import { describe } from 'vitest';
import { partitionApi, partitionWorker } from './scenarios.js';
import { scenarioTest } from './test-support/scenario-test.js';

describe('partitions', () => {
  // Fails if a page is counted twice (the partitioned worker settling what another took over),
  // the worker does not reconnect by itself (the crawl on it alone afterwards does not complete).
  scenarioTest(partitionWorker, 'worker<->Redis cut for 20 s: the worker reconnects by itself, nothing counted twice, crawl exact');
  // Fails if readers attached to the cut-off API hang, lose or repeat events, or the API does not reconnect.
  scenarioTest(partitionApi, 'API<->Redis cut for 20 s with readers attached: readers whole, the API reconnects by itself');
});
