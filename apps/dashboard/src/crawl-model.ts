// What the dashboard knows about one crawl, built from the crawl object and
// its stream events: status, counters, the page log and the page rate per
// second. Pure (no DOM), so unit tests drive it with plain events. An event id
// it has already applied is refused, so however a stream is resumed nothing
// is counted or rendered twice.
import type { Counters, Crawl, CrawlEvent, CrawlStatus, StreamedEvent } from '@crawlstream/client';
import { isTerminalStatus } from '@crawlstream/client';

export const PAGE_EVENT_TYPES = ['page', 'page_failed', 'page_skipped'] as const;
export type PageEventType = (typeof PAGE_EVENT_TYPES)[number];
export type PageEvent = Extract<CrawlEvent, { type: PageEventType }>;

/** One line of the live log: a page event, or a note about the crawl or the stream. */
export type LogEntry =
  | { kind: 'page'; id: string; event: PageEvent }
  | { kind: 'note'; id: string; ts: number; type: CrawlEvent['type']; text: string };

/** Settled pages in one second of server time. */
export interface RateBucket {
  stored: number;
  other: number;
}

const ZERO: Counters = { discovered: 0, processed: 0, failed: 0, skipped: 0 };

export function isPageEvent(event: CrawlEvent): event is PageEvent {
  return (PAGE_EVENT_TYPES as readonly string[]).includes(event.type);
}

export class CrawlModel {
  status: CrawlStatus | undefined;
  url: string | undefined;
  error: { code: string; message: string } | undefined;
  /** Pages per second from the newest `progress` event. */
  serverRate: number | undefined;
  /** Epoch ms when the crawl started (or was created); when it ended. */
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** The id to resume after: the newest event applied (or position of the newest snapshot). */
  lastEventId: string | undefined;
  /** Server time of the newest event applied. */
  lastTs: number | undefined;
  /** Stored events applied, by id. */
  readonly seen = new Set<string>();
  /** Log entries not taken by the view yet (see `takeLog`). */
  private pendingLog: LogEntry[] = [];
  /** Settled pages per epoch second (server time). */
  readonly rate = new Map<number, RateBucket>();

  /** Counters as stored at `base`'s event, plus what the events after it add. */
  private base: Counters = { ...ZERO };
  private delta: Counters = { ...ZERO };

  /**
   * `initial`: the crawl as GET answered it. Its counters are taken only when
   * the stream will not replay the log from the first event (`fromStart`
   * false), or they would be counted twice.
   */
  constructor(initial?: Crawl, fromStart = false) {
    if (initial) this.applyCrawl(initial, !fromStart);
  }

  get counters(): Counters {
    return {
      discovered: this.base.discovered + this.delta.discovered,
      processed: this.base.processed + this.delta.processed,
      failed: this.base.failed + this.delta.failed,
      skipped: this.base.skipped + this.delta.skipped,
    };
  }

  /** Settled URLs (stored, failed or skipped). */
  get settled(): number {
    const c = this.counters;
    return c.processed + c.failed + c.skipped;
  }

  get ended(): boolean {
    return this.status !== undefined && isTerminalStatus(this.status);
  }

  /** The crawl object (GET, or a `snapshot`): replaces status and, with `withCounters`, the counters. */
  applyCrawl(crawl: Crawl, withCounters = true): void {
    this.url = crawl.url;
    this.status = crawl.status;
    if (withCounters) this.setCounters(crawl.counters);
    this.startedAt = Date.parse(crawl.startedAt ?? crawl.createdAt);
    if (crawl.finishedAt) this.finishedAt = Date.parse(crawl.finishedAt);
    if (crawl.error) this.error = crawl.error;
  }

  /**
   * Applies one streamed event; false when it was applied before (a repeat
   * after a reconnect), in which case nothing changes.
   */
  apply(streamed: StreamedEvent): boolean {
    const { id, event } = streamed;
    if (event.type === 'snapshot' || event.type === 'reset') {
      // Not stored: they carry the id of the newest stored event.
      if (event.type === 'snapshot') {
        // After a reset too: the snapshot's counters hold what the log lost.
        this.applyCrawl(event);
      } else {
        this.note(id, event, `stream reset (${event.reason}): events before this point may be missing from the log`);
      }
      this.lastEventId = id;
      this.lastTs = Math.max(this.lastTs ?? 0, event.ts);
      return true;
    }
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    this.lastEventId = id;
    this.lastTs = event.ts;
    switch (event.type) {
      case 'started':
        this.url = event.url;
        if (!this.ended) this.status = 'running';
        this.startedAt ??= event.ts;
        this.note(id, event, `started ${event.url}`);
        break;
      case 'discovered':
        this.delta.discovered += event.urls.length;
        break;
      case 'page':
      case 'page_failed':
      case 'page_skipped': {
        if (!this.ended) this.status = 'running';
        if (event.type === 'page') this.delta.processed++;
        else if (event.type === 'page_failed') this.delta.failed++;
        else this.delta.skipped++;
        const second = Math.floor(event.ts / 1000);
        const bucket = this.rate.get(second) ?? { stored: 0, other: 0 };
        if (event.type === 'page') bucket.stored++;
        else bucket.other++;
        this.rate.set(second, bucket);
        this.pendingLog.push({ kind: 'page', id, event });
        break;
      }
      case 'progress':
        this.setCounters(event.counters);
        this.serverRate = event.pagesPerSecond;
        break;
      case 'completed':
        this.setCounters(event.counters);
        this.status = 'completed';
        this.finishedAt = event.ts;
        this.note(id, event, `completed: ${event.counters.processed} pages stored, ${event.counters.failed} failed, ${event.counters.skipped} skipped`);
        break;
      case 'failed':
        this.setCounters(event.counters);
        this.status = 'failed';
        this.error = event.error;
        this.finishedAt = event.ts;
        this.note(id, event, `failed: ${event.error.message} (${event.error.code})`);
        break;
      case 'cancelled':
        this.setCounters(event.counters);
        this.status = 'cancelled';
        this.finishedAt = event.ts;
        this.note(id, event, 'cancelled');
        break;
    }
    return true;
  }

  /** The log entries added since the last call, in order. */
  takeLog(): LogEntry[] {
    const out = this.pendingLog;
    this.pendingLog = [];
    return out;
  }

  /** How long the crawl has run, up to `now` (epoch ms, server time) while it runs. */
  elapsedMs(now: number): number | undefined {
    if (this.startedAt === undefined) return undefined;
    return Math.max(0, (this.finishedAt ?? now) - this.startedAt);
  }

  /** Settled pages per second over the whole crawl (for a finished one), or the server's current rate. */
  pagesPerSecond(now: number): number {
    if (!this.ended && this.serverRate !== undefined) return this.serverRate;
    const elapsed = this.elapsedMs(now);
    return elapsed ? (this.settled * 1000) / elapsed : 0;
  }

  private setCounters(counters: Counters): void {
    this.base = { ...counters };
    this.delta = { ...ZERO };
  }

  private note(id: string, event: CrawlEvent, text: string): void {
    this.pendingLog.push({ kind: 'note', id, ts: event.ts, type: event.type, text });
  }
}
