// Worker faults with real processes: 2 workers crawl a 400-page site, beside
// the same crawl without the fault.
import { describe } from 'vitest';
import { workerKill, workerSigterm } from './scenarios.js';
import { scenarioTest } from './test-support/scenario-test.js';

describe('worker faults', () => {
  // Fails while a dead worker's pages wait for its 30 s lock and the 30 s stalled check (~50 s > 25 s bound).
  scenarioTest(workerKill, 'kill -9 of one of 2 workers at 30 %, a new one started: exact counts, readers whole, healed within 25 s (target 10 s)');
  // Fails if the stopped worker waits for its slow pages (8 s) instead of handing them back
  // (exit beyond 3 s), exits non-zero, or a page is lost or settled twice.
  scenarioTest(workerSigterm, 'SIGTERM to a worker holding slow pages: exits 0 within the close grace + hand-back bound, the crawl not delayed, none lost or twice, readers whole');
});
