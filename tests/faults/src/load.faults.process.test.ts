// Load with real processes: 1,000 concurrent crawls of 20 pages on one API and 2 workers.
import { describe } from 'vitest';
import { manyCrawls } from './scenarios.js';
import { scenarioTest } from './test-support/scenario-test.js';

describe('load', () => {
  // Fails if any of the 1,000 crawls ends with a count other than 20 pages, or a reader is not whole.
  scenarioTest(manyCrawls, '1,000 concurrent 20-page crawls: every one exact, readers whole (RSS printed)');
});
