// The stalled-work sweep: so that no crawl stays running forever, in-flight
// URLs whose job vanished (a worker died, an enqueue was lost) get a new job,
// or are settled as failed (`stalled`) once they used up their dispatches;
// free slots are refilled and drained crawls completed; an `active` id with
// no crawl behind it (a create interrupted before its script, or a crawl
// that expired) leaves every index; and expired crawls are pruned from the
// crawl list and the status sets, a bounded number per pass, so those do not
// grow when nobody lists crawls or reads the metrics. Everything it enqueues
// goes through the store's page queue.
import { SWEEP_PRUNE_LIST } from '@crawlstream/shared';
import type { CrawlIndex } from './crawl-index.js';
import type { CrawlResults } from './crawl-results.js';
import type { CrawlTransitions } from './crawl-transitions.js';
import type { PageJobs } from './page-jobs.js';
import type { SettleBatcher } from './settle-batcher.js';

export interface SweepOptions {
  /**
   * In-flight entries younger than this are left alone, and so is an
   * `active` id without a crawl that entered `active` less than this ago (a
   * create still under way).
   */
  staleMs: number;
  /** Dispatches of one URL before it is settled as failed. */
  maxGenerations: number;
  /**
   * When set, the pass runs only if this process takes the sweep's turn for
   * this long (one pass per turn across all processes; SWEEP_INTERVAL_MS).
   */
  turnMs?: number;
}

export interface SweepReport {
  /** False when another process had the turn (nothing was looked at). */
  ran: boolean;
  crawls: number;
  redispatched: number;
  failed: number;
  completed: number;
  /** Ids taken out of the indexes because no crawl is stored under them. */
  removed: number;
  /** Expired crawls taken out of the crawl list (at most SWEEP_PRUNE_LIST per pass). */
  pruned: number;
}

/** The parts of a store the sweep works with (CrawlStore.sweep). */
export interface SweepParts {
  index: CrawlIndex;
  results: CrawlResults;
  transitions: CrawlTransitions;
  settler: SettleBatcher;
  jobs: PageJobs;
  /** How long an ended crawl is kept (CRAWL_TTL_SECONDS), for pruning the status sets. */
  keepSeconds: number;
}

export async function sweep(parts: SweepParts, options: SweepOptions): Promise<SweepReport> {
  const { index, results, transitions, settler, jobs } = parts;
  const report: SweepReport = { ran: false, crawls: 0, redispatched: 0, failed: 0, completed: 0, removed: 0, pruned: 0 };
  if (options.turnMs !== undefined && !(await index.takeSweepTurn(options.turnMs))) return report;
  report.ran = true;
  const now = Date.now();
  for (const { id, since } of await index.active()) {
    const status = await results.status(id);
    if (status === null) {
      if (since > now - options.staleMs) continue;
      await index.forget(id);
      report.removed++;
      continue;
    }
    if (status !== 'running') {
      await index.forget(id);
      continue;
    }
    report.crawls++;
    for (const entry of await results.inflight(id)) {
      if (entry.dispatchedAt > now - options.staleMs) continue;
      if (entry.jobId !== '' && (await jobs.alive(entry.jobId))) continue;
      if (entry.generation >= options.maxGenerations) {
        const settled = await settler.settle(id, {
          kind: 'failed',
          url: entry.url,
          reason: 'stalled',
          message: `no worker finished this page after ${entry.generation} attempts`,
          attempts: entry.generation,
        });
        if (settled.result === 'settled') {
          report.failed++;
          if (settled.completed) report.completed++;
        }
        continue;
      }
      if (await transitions.redispatch(id, entry.url, entry.generation)) report.redispatched++;
    }
    const filled = await transitions.dispatch(id);
    if (filled.result === 'dispatched' && filled.completed) report.completed++;
  }
  report.pruned = await index.prune(now - options.staleMs, SWEEP_PRUNE_LIST, parts.keepSeconds);
  return report;
}
