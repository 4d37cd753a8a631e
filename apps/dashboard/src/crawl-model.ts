// What the dashboard knows about one crawl, built from the crawl object and
// its stream events: the SDK's CrawlTally (status, counters, times, rate: the
// same figures as the CLI's), plus the page log and the settled pages per
// second for the chart. Pure (no DOM), so unit tests drive it with plain
// events. An event id it has already applied is refused, so however a stream
// is resumed nothing is counted or rendered twice.
import type { Counters, Crawl, CrawlEvent, CrawlStatus, StreamedEvent } from '@crawlstream/client';
import { CrawlTally } from '@crawlstream/client';

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

export function isPageEvent(event: CrawlEvent): event is PageEvent {
  return (PAGE_EVENT_TYPES as readonly string[]).includes(event.type);
}

export class CrawlModel {
  /** The crawl's state as its events fold (the SDK's one set of rules). */
  readonly tally: CrawlTally;
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

  /**
   * `initial`: the crawl as GET answered it. Its counters are taken only when
   * the stream will not replay the log from the first event (`fromStart`
   * false), or they would be counted twice.
   */
  constructor(initial?: Crawl, fromStart = false) {
    this.tally = new CrawlTally(initial, !fromStart);
  }

  get status(): CrawlStatus | undefined {
    return this.tally.status;
  }

  get url(): string | undefined {
    return this.tally.url;
  }

  get error(): { code: string; message: string } | undefined {
    return this.tally.error;
  }

  /** Pages per second from the newest `progress` event. */
  get serverRate(): number | undefined {
    return this.tally.serverRate;
  }

  /** Epoch ms when the crawl started (or was created); when it ended. */
  get startedAt(): number | undefined {
    return this.tally.startedAt;
  }

  get finishedAt(): number | undefined {
    return this.tally.finishedAt;
  }

  get counters(): Counters {
    return this.tally.counters;
  }

  /** Settled URLs (stored, failed or skipped). */
  get settled(): number {
    return this.tally.settled;
  }

  get ended(): boolean {
    return this.tally.ended;
  }

  /** The crawl object (GET, or a `snapshot`): replaces status and, with `withCounters`, the counters. */
  applyCrawl(crawl: Crawl, withCounters = true): void {
    this.tally.applyCrawl(crawl, withCounters);
  }

  /**
   * Applies one streamed event; false when it was applied before (a repeat
   * after a reconnect), in which case nothing changes. An event of a type it
   * does not know (a newer server's, if one gets here) changes nothing but
   * the position.
   */
  apply(streamed: StreamedEvent): boolean {
    const { id, event } = streamed;
    if (event.type === 'snapshot' || event.type === 'reset') {
      // Not stored: they carry the id of the newest stored event.
      // After a reset the snapshot that follows holds what the log lost.
      this.tally.apply(event);
      if (event.type === 'reset') {
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
    this.tally.apply(event);
    switch (event.type) {
      case 'started':
        this.note(id, event, `started ${event.url}`);
        break;
      case 'page':
      case 'page_failed':
      case 'page_skipped': {
        const second = Math.floor(event.ts / 1000);
        const bucket = this.rate.get(second) ?? { stored: 0, other: 0 };
        if (event.type === 'page') bucket.stored++;
        else bucket.other++;
        this.rate.set(second, bucket);
        this.pendingLog.push({ kind: 'page', id, event });
        break;
      }
      case 'completed':
        this.note(id, event, `completed: ${event.counters.processed} pages stored, ${event.counters.failed} failed, ${event.counters.skipped} skipped`);
        break;
      case 'failed':
        this.note(id, event, `failed: ${event.error.message} (${event.error.code})`);
        break;
      case 'cancelled':
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
    return this.tally.elapsedMs(now);
  }

  /** The server's current rate while it runs, else settled pages per second over the whole crawl. */
  pagesPerSecond(now: number): number {
    return this.tally.pagesPerSecond(now);
  }

  private note(id: string, event: CrawlEvent, text: string): void {
    this.pendingLog.push({ kind: 'note', id, ts: event.ts, type: event.type, text });
  }
}
