// A crawl's state folded from its crawl object and its events (status,
// counters, start and end, error, rate), with one rule for each, so the CLI's
// progress line and the dashboard's pages read the same figures. Events come
// exactly once and in order (the iterator sees to it), so counting page,
// failure, skip and discovery events locally is exact between two events that
// carry the stored counters (snapshot, progress, terminal), which replace them.
import type { Counters, CrawlStatus, ErrorInfo } from '@crawlstream/shared';
import { type ClientCrawl, type ClientCrawlEvent, isTerminalStatus } from '@crawlstream/shared';

const ZERO: Counters = { discovered: 0, processed: 0, failed: 0, skipped: 0 };

/** The four counters of the contract (a newer server's extra counters are not tallied). */
function knownCounters(counters: Counters): Counters {
  const { discovered, processed, failed, skipped } = counters;
  return { discovered, processed, failed, skipped };
}

/**
 * The rules, in one place:
 * - counters: the stored ones from the crawl object, `progress` and the
 *   terminal event; page, failure, skip and discovery events add to them.
 * - status: the crawl object's; `started` and page events make a crawl
 *   `running` unless it has ended (a replayed log does not reopen it); a
 *   terminal event ends it.
 * - elapsed: from the start (the crawl's `startedAt`, else the `started`
 *   event's time, else its `createdAt`) to the end (its `finishedAt`, or the
 *   terminal event's time), or to `now` while it runs.
 * - rate: while it runs, the server's rate from the newest `progress` event;
 *   before the first one and once it has ended, settled pages over elapsed.
 * Events of a type it does not know change nothing.
 */
export class CrawlTally {
  status: CrawlStatus | undefined;
  url: string | undefined;
  error: ErrorInfo | undefined;
  /** Pages per second from the newest `progress` event. */
  serverRate: number | undefined;
  /** Epoch ms the crawl started (or, until that is known, was created). */
  startedAt: number | undefined;
  /** Epoch ms the crawl ended. */
  finishedAt: number | undefined;
  private counts: Counters = { ...ZERO };
  /** `startedAt` is the creation time, which a `started` event replaces. */
  private startIsCreation = false;

  /** `initial`: the crawl as GET answered it, with its counters unless `withCounters` is false. */
  constructor(initial?: ClientCrawl, withCounters = true) {
    if (initial) this.applyCrawl(initial, withCounters);
  }

  get counters(): Counters {
    return { ...this.counts };
  }

  /** URLs settled one way or another (stored, failed or skipped). */
  get settled(): number {
    const { processed, failed, skipped } = this.counts;
    return processed + failed + skipped;
  }

  get ended(): boolean {
    return this.status !== undefined && isTerminalStatus(this.status);
  }

  /**
   * The crawl object (GET, or a `snapshot`): replaces what it says; the
   * counters too unless `withCounters` is false (a log replayed from its first
   * event counts them itself).
   */
  applyCrawl(crawl: ClientCrawl, withCounters = true): void {
    this.url = crawl.url;
    this.status = crawl.status;
    if (withCounters) this.counts = knownCounters(crawl.counters);
    this.startIsCreation = crawl.startedAt === undefined;
    this.startedAt = Date.parse(crawl.startedAt ?? crawl.createdAt);
    if (crawl.finishedAt) this.finishedAt = Date.parse(crawl.finishedAt);
    if (crawl.error) this.error = knownError(crawl.error);
  }

  /** Folds one event in. */
  apply(event: ClientCrawlEvent): void {
    switch (event.type) {
      case 'snapshot':
        this.applyCrawl(event);
        break;
      case 'started':
        this.url = event.url;
        this.run();
        if (this.startedAt === undefined || this.startIsCreation) {
          this.startedAt = event.ts;
          this.startIsCreation = false;
        }
        break;
      case 'discovered':
        this.counts.discovered += event.urls.length;
        break;
      case 'page':
        this.run();
        this.counts.processed++;
        break;
      case 'page_failed':
        this.run();
        this.counts.failed++;
        break;
      case 'page_skipped':
        this.run();
        this.counts.skipped++;
        break;
      case 'progress':
        this.counts = knownCounters(event.counters);
        this.serverRate = event.pagesPerSecond;
        break;
      case 'completed':
      case 'failed':
      case 'cancelled':
        this.counts = knownCounters(event.counters);
        this.status = event.type;
        this.finishedAt = event.ts;
        if (event.type === 'failed') this.error = knownError(event.error);
        break;
      case 'reset':
        // The snapshot that follows a reset brings the counters the log lost.
        break;
    }
  }

  /** How long the crawl has run, up to `now` (epoch ms) while it runs; undefined before its start is known. */
  elapsedMs(now: number): number | undefined {
    if (this.startedAt === undefined) return undefined;
    return Math.max(0, (this.finishedAt ?? now) - this.startedAt);
  }

  /** While it runs the server's rate (when one came), else settled pages per second over the elapsed time. */
  pagesPerSecond(now: number): number {
    if (!this.ended && this.serverRate !== undefined) return this.serverRate;
    const elapsed = this.elapsedMs(now);
    return elapsed ? (this.settled * 1000) / elapsed : 0;
  }

  private run(): void {
    if (!this.ended) this.status = 'running';
  }
}

function knownError(error: ErrorInfo): ErrorInfo {
  return { code: error.code, message: error.message };
}
