// API faults with real processes: two API instances and 2 workers.
import { describe } from 'vitest';
import { apiKillPosts, apiKillReaders, slowReaders } from './scenarios.js';
import { scenarioTest } from './test-support/scenario-test.js';

describe('API faults', () => {
  // Fails if an answered crawl is missing, a crawl stays running (a create cut half-way and never
  // healed), or an Idempotency-Key retry returns a crawl that does not complete.
  scenarioTest(apiKillPosts, 'kill -9 of the API during a burst of POSTs: every crawl that exists ends, every keyed retry completes');
  // Fails if a reader does not resume on the second instance with Last-Event-ID, or sees an event twice.
  scenarioTest(apiKillReaders, 'kill -9 of the API serving 10 readers: they fail over to a second API and end whole');
  // Fails if a slow reader loses or repeats events, or never gets its terminal event.
  scenarioTest(slowReaders, 'slow readers (paused sockets) beside normal ones: all whole, the crawl exact');
});
