// Settling pages, with group commit: settles of one crawl that arrive while a
// settle call for it is in flight are sent together in the next call (one
// round trip for many pages under load, no added wait when idle). The batch's
// dispatches are enqueued once, by the flusher, before any of its callers'
// promises resolves; no caller sees them.
import type { Counters } from '@crawlstream/shared';
import type { CrawlIndex } from './crawl-index.js';
import type { PageJobs } from './page-jobs.js';
import type { Scripts, SettleOne, SettleRecord } from './scripts.js';
import {
  chunkLinks,
  keptLinks,
  MAX_BATCH_BYTES,
  MAX_BATCH_LINK_BYTES,
  MAX_BATCH_LINKS,
  MAX_BATCH_RECORDS,
  type PageOutcome,
  recordBytes,
  settleRecord,
} from './settle-records.js';

export type SettleResult =
  | { result: 'settled'; completed: boolean; counters: Counters }
  | { result: 'duplicate' | 'unknown' | 'missing' }
  | { result: 'finished'; status: string };

interface SettleItem {
  record: SettleRecord;
  /** Bytes and links the record adds to a settle call. */
  bytes: number;
  links: number;
  linkBytes: number;
  resolve(result: SettleResult): void;
  reject(error: unknown): void;
}

interface SettleBatch {
  pending: SettleItem[];
  flushing: boolean;
}

function takeBatch(pending: SettleItem[]): SettleItem[] {
  let bytes = 0;
  let links = 0;
  let linkBytes = 0;
  let count = 0;
  while (count < pending.length && count < MAX_BATCH_RECORDS) {
    const item = pending[count]!;
    const full =
      bytes + item.bytes > MAX_BATCH_BYTES ||
      links + item.links > MAX_BATCH_LINKS ||
      linkBytes + item.linkBytes > MAX_BATCH_LINK_BYTES;
    if (count > 0 && full) break;
    bytes += item.bytes;
    links += item.links;
    linkBytes += item.linkBytes;
    count++;
  }
  return pending.splice(0, count);
}

export class SettleBatcher {
  private readonly batches = new Map<string, SettleBatch>();

  constructor(
    private readonly scripts: Scripts,
    private readonly jobs: PageJobs,
    private readonly index: CrawlIndex,
  ) {}

  /**
   * Settles one URL exactly once; see settle-17.lua. A page with more links
   * than one chunk first claims the others chunk by chunk (claimLinks-8.lua,
   * idempotent, the page still in flight), and its settle carries the last
   * chunk: no call is big, and a crash between them loses nothing.
   */
  async settle(id: string, outcome: PageOutcome): Promise<SettleResult> {
    let finalUrl = '';
    let last: string[] = [];
    let dropped = 0;
    if (outcome.kind === 'processed') {
      if (outcome.finalUrl !== undefined && outcome.finalUrl !== outcome.url) finalUrl = outcome.finalUrl;
      const kept = keptLinks(outcome, finalUrl);
      dropped = kept.dropped;
      const chunks = chunkLinks(kept.links);
      last = chunks.pop() ?? [];
      for (const links of chunks) {
        const reply = await this.scripts.claimLinks(id, { url: outcome.url, finalUrl, childDepth: outcome.depth + 1, links });
        if (reply.result === 'missing' || reply.result === 'finished') return reply;
        // Settled already, unknown or redirect_known: claim no more; the settle gives the answer.
        if (reply.result !== 'claimed') {
          last = [];
          break;
        }
      }
    }
    const record = settleRecord(outcome, finalUrl, last, dropped);
    return new Promise((resolve, reject) => {
      let batch = this.batches.get(id);
      if (!batch) {
        batch = { pending: [], flushing: false };
        this.batches.set(id, batch);
      }
      // Rejected links cost the call about what links do: they count against the same bounds.
      const linkBytes = last.reduce((n, link) => n + link.length, 0) + record.rejected.reduce((n, [url]) => n + url.length, 0);
      const links = last.length + record.rejected.length;
      batch.pending.push({ record, bytes: recordBytes(record), links, linkBytes, resolve, reject });
      if (!batch.flushing) void this.flush(id, batch);
    });
  }

  private async flush(id: string, batch: SettleBatch): Promise<void> {
    batch.flushing = true;
    while (batch.pending.length > 0) {
      const items = takeBatch(batch.pending);
      try {
        const reply = await this.scripts.settle(
          id,
          items.map((item) => item.record),
        );
        // The next call goes out while this one's jobs are enqueued.
        void this.conclude(id, items, reply);
      } catch (error) {
        for (const item of items) item.reject(error);
      }
    }
    batch.flushing = false;
    this.batches.delete(id);
  }

  /** Enqueues what the call dispatched, unindexes a completed crawl, then answers every caller. */
  private async conclude(id: string, items: SettleItem[], reply: Awaited<ReturnType<Scripts['settle']>>): Promise<void> {
    try {
      if (reply.result !== 'batch') {
        for (const item of items) item.resolve(reply);
        return;
      }
      // The rate is a metric: it never delays or fails a settle that Redis already applied.
      const processed = items.filter((item, i) => item.record.outcome === 'processed' && reply.results[i] === 'settled').length;
      this.index.noteProcessed(processed);
      await this.jobs.add(id, reply.jobs);
      if (reply.completed) await this.index.forget(id);
      const { completed, counters } = reply;
      for (const [i, item] of items.entries()) {
        const one: SettleOne = reply.results[i]!;
        item.resolve(one === 'settled' ? { result: 'settled', completed, counters } : { result: one });
      }
    } catch (error) {
      for (const item of items) item.reject(error);
    }
  }
}
