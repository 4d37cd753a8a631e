// Redis faults with real processes: a private redis-server with AOF (fsync
// every second) under the API and 2 workers, killed or shut down at 30 % of
// a crawl and restarted on the same AOF after 2 s.
import { describe } from 'vitest';
import { redisKill, redisLoseWrites, redisShutdown } from './scenarios.js';
import { scenarioTest } from './test-support/scenario-test.js';

describe('Redis faults', () => {
  // Fails if a page is lost or counted twice after the AOF rollback, if a reader hangs or sees
  // an event twice instead of getting reset + snapshot, or if /readyz does not say 503 then 200.
  scenarioTest(redisKill, 'kill -9 of Redis, restarted on its AOF: exact counts, readers whole, /readyz 503 then 200');
  scenarioTest(redisShutdown, 'SHUTDOWN of Redis, restarted: exact counts, readers whole, /readyz 503 then 200');
  // Fails if a reader that saw events the restarted Redis no longer has gets silence, or the
  // re-settled pages a second time, instead of reset + snapshot; or if counts are not exact.
  scenarioTest(redisLoseWrites, 'Redis back on an AOF 1 s old (the everysec window lost): exact counts, readers reset, none sees a page twice');
});
