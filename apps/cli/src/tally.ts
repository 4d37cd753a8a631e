// A crawl's counters as its events arrive. Events come exactly once and in
// order, so counting page, failure, skip and discovery events locally is
// exact between two `progress` events; snapshot, progress and terminal
// events carry the counters as stored and replace the local ones.
import type { Counters, CrawlEvent, CrawlStatus } from '@crawlstream/client';

export class CrawlTally {
  counters: Counters = { discovered: 0, processed: 0, failed: 0, skipped: 0 };
  status: CrawlStatus | undefined;
  /** Server-side pages per second from the newest `progress` event. */
  rate: number | undefined;
  /** Epoch ms the crawl started (or was created), when known. */
  startedAt: number | undefined;
  /** Length of the finished crawl, when known. */
  durationMs: number | undefined;
  error: { code: string; message: string } | undefined;

  apply(event: CrawlEvent): void {
    switch (event.type) {
      case 'snapshot':
        this.counters = { ...event.counters };
        this.status = event.status;
        this.startedAt = Date.parse(event.startedAt ?? event.createdAt);
        if (event.finishedAt) this.durationMs = Date.parse(event.finishedAt) - this.startedAt;
        this.error = event.error;
        break;
      case 'started':
        this.status = 'running';
        this.startedAt = event.ts;
        break;
      case 'discovered':
        this.counters.discovered += event.urls.length;
        break;
      case 'page':
        this.counters.processed++;
        break;
      case 'page_failed':
        this.counters.failed++;
        break;
      case 'page_skipped':
        this.counters.skipped++;
        break;
      case 'progress':
        this.counters = { ...event.counters };
        this.rate = event.pagesPerSecond;
        break;
      case 'completed':
        this.counters = { ...event.counters };
        this.status = 'completed';
        this.durationMs = event.durationMs;
        break;
      case 'failed':
        this.counters = { ...event.counters };
        this.status = 'failed';
        this.error = event.error;
        break;
      case 'cancelled':
        this.counters = { ...event.counters };
        this.status = 'cancelled';
        break;
      case 'reset':
        break;
    }
  }

  /** URLs settled one way or another. */
  get done(): number {
    const { processed, failed, skipped } = this.counters;
    return processed + failed + skipped;
  }

  elapsedMs(now: number): number {
    if (this.durationMs !== undefined) return this.durationMs;
    return this.startedAt === undefined ? 0 : Math.max(0, now - this.startedAt);
  }

  /** The server's rate when it sent one, else the average so far. */
  pagesPerSecond(now: number): number {
    if (this.rate !== undefined && this.durationMs === undefined) return this.rate;
    const seconds = this.elapsedMs(now) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }
}
