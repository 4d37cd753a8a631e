// The stalled-work sweep: so that no crawl stays running forever, in-flight
// URLs whose job vanished (a worker died, an enqueue was lost) get a new job,
// or are settled as failed (`stalled`) once they used up their dispatches;
// free slots are refilled and drained crawls completed.
import { createHash } from 'node:crypto';
import type { CrawlStore, Dispatch } from './crawl-store.js';

/** The deterministic BullMQ job id of a dispatch (must match frontier.lua). */
export function jobIdFor(crawlId: string, url: string, generation: number): string {
  return `${crawlId}-${generation}-${createHash('sha1').update(url).digest('hex').slice(0, 20)}`;
}

export interface SweepOptions {
  store: CrawlStore;
  /** Whether the job with this id still exists (waiting, delayed, active or retrying). */
  jobAlive(jobId: string): Promise<boolean>;
  /** Enqueues jobs for dispatched URLs. */
  enqueue(crawlId: string, dispatched: Dispatch[]): Promise<void>;
  /** In-flight entries younger than this are left alone. */
  staleMs: number;
  /** Dispatches of one URL before it is settled as failed. */
  maxGenerations: number;
}

export interface SweepReport {
  crawls: number;
  redispatched: number;
  failed: number;
  completed: number;
}

export async function sweep(options: SweepOptions): Promise<SweepReport> {
  const { store } = options;
  const report: SweepReport = { crawls: 0, redispatched: 0, failed: 0, completed: 0 };
  const now = Date.now();
  for (const crawlId of await store.activeIds()) {
    const status = await store.redis.hget(store.keys(crawlId).meta, 'status');
    if (status !== 'running') {
      await store.forgetActive(crawlId);
      continue;
    }
    report.crawls++;
    for (const entry of await store.inflight(crawlId)) {
      if (entry.dispatchedAt > now - options.staleMs) continue;
      if (await options.jobAlive(jobIdFor(crawlId, entry.url, entry.generation))) continue;
      if (entry.generation >= options.maxGenerations) {
        const settled = await store.settle(crawlId, {
          kind: 'failed',
          url: entry.url,
          reason: 'stalled',
          message: `no worker finished this page after ${entry.generation} attempts`,
          attempts: entry.generation,
        });
        if (settled.result === 'settled') {
          report.failed++;
          if (settled.completed) report.completed++;
          await options.enqueue(crawlId, settled.dispatched);
        }
        continue;
      }
      const again = await store.redispatch(crawlId, entry.url, entry.generation);
      if (again) {
        report.redispatched++;
        await options.enqueue(crawlId, [again]);
      }
    }
    const filled = await store.dispatch(crawlId);
    if (filled.result === 'dispatched') {
      if (filled.completed) report.completed++;
      await options.enqueue(crawlId, filled.dispatched);
    }
  }
  return report;
}
