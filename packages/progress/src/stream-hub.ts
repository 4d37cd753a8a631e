// The reader side of the event log, for the API. One subscriber connection
// per process; per crawl being watched, one feed that keeps a bounded ring of
// the newest frames and fetches once per wake-up for all its readers; per
// client, only a cursor. A reader behind the ring catches up from Redis in
// pages (reads for the same position are shared), so a slow client costs a
// cursor, never a buffer. Pub/sub only wakes feeds: the stream is the truth,
// and a periodic poll covers a lost wake-up.
import { compareEventIds, isTerminalEvent } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import type { Cluster } from 'ioredis';
import type { CrawlStore } from './crawl-store.js';
import { type EventFrame, makeFrame } from './frames.js';

export interface StreamHubOptions {
  store: CrawlStore;
  /** A connection the hub puts into subscriber mode (it is used for nothing else). */
  subscriber: RedisConnection;
  /** Frames kept per watched crawl. */
  ringSize?: number;
  /** Safety poll while a crawl has readers, in case a wake-up was lost. */
  pollMs?: number;
  /** Entries per Redis read. */
  batchSize?: number;
}

/** `owner`: the crawl's recorded owner ('' when none), read with the rest, for the caller's access check. */
export type OpenResult =
  | { kind: 'missing' }
  /** The cursor is at or past the terminal event: nothing more will come (HTTP 204). */
  | { kind: 'ended'; owner: string }
  | { kind: 'stream'; reader: StreamReader; owner: string };

/** Where every reader of one crawl opening at one cursor starts: read once, shared by all of them. */
type ReaderStart =
  | { kind: 'missing' }
  | { kind: 'ended'; owner: string }
  | {
      kind: 'start';
      owner: string;
      /** The newest stored event id when read: where a new feed starts. */
      lastId: string;
      /** The reader's cursor. */
      cursor: string;
      /** Frames handed out before anything from the feed (snapshot, or reset + snapshot); never mutated. */
      initial: EventFrame[];
    };

const NOTHING: EventFrame[] = [];

/** Catch-up reads a feed keeps for later readers at the same cursor (CrawlFeed.catchUp). */
const KEPT_CATCH_UPS = 8;

class CrawlFeed {
  ring: EventFrame[] = [];
  /** Id just before ring[0]; the ring holds every event after it, contiguously. */
  ringBase: string;
  tail: string;
  readers = 0;
  terminal = false;
  /** Readers waiting for frames after the tail. */
  readonly waiters = new Set<StreamReader>();
  /** Readers in live mode: new frames are handed to them synchronously, no wake-up, no promise. */
  readonly live = new Set<StreamReader>();
  /**
   * Set when the subscriber lost its connection (Redis may have restarted
   * from older data, and the ring may hold what the log lost); cleared by the
   * next read that reached Redis, which checked the tail. Meanwhile readers
   * wait instead of being served from the ring.
   */
  stale = false;
  private fetching: Promise<void> | null = null;
  private again = false;
  private catchUps = new Map<string, Promise<EventFrame[] | 'lost'>>();
  private timer: NodeJS.Timeout;
  /** Reader starts read when the tail was `startsTail`, by cursor (StreamHub.sharedStart). */
  readonly starts = new Map<string, ReaderStart & { kind: 'start' }>();
  startsTail = '';

  constructor(
    readonly hub: StreamHub,
    readonly id: string,
    start: string,
  ) {
    this.ringBase = start;
    this.tail = start;
    this.timer = setInterval(() => this.wake(), hub.pollMs);
    this.timer.unref();
  }

  wake(): void {
    // After the terminal event nothing is appended, unless Redis lost it (stale: check).
    if (this.terminal && !this.stale) return;
    if (this.fetching) {
      this.again = true;
      return;
    }
    this.fetching = this.fetch().finally(() => {
      this.fetching = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async fetch(): Promise<void> {
    let changed = false;
    try {
      for (;;) {
        const frames = await this.hub.store.readAfter(this.id, this.tail, this.hub.batchSize);
        if (frames === 'lost') {
          // Our tail is no longer in the log: trimmed faster than we read, or
          // lost with the last writes before a Redis restart (the log may now
          // end before it, and new ids may pass it). Start the ring afresh at
          // the newest event; every reader's cursor is then checked against
          // Redis (fromRing serves known positions only), so whoever saw what
          // the log no longer has gets reset + snapshot.
          const opened = await this.hub.store.open(this.id, '');
          if (!opened) {
            // The crawl itself is gone (its creation was among the lost writes):
            // end its readers; a reconnect then gets 404, not silence.
            this.hub.unwatch(this);
            return;
          }
          this.ring = [];
          this.ringBase = opened.lastId;
          this.tail = opened.lastId;
          // A terminal event the ring held may be among the lost: read on.
          this.terminal = opened.terminalId !== null && opened.terminalId === opened.lastId;
          this.stale = false;
          changed = true;
          // Live readers were behind the new tail: back to pulling, where they get reset.
          for (const reader of [...this.live]) reader.detach();
          break;
        }
        if (this.stale) {
          this.stale = false;
          changed = true; // readers held back by the stale ring go on
        }
        const before = this.tail;
        for (const frame of frames) this.push(frame);
        if (frames.length > 0) this.pushLive(before, frames);
        if (frames.length > 0) changed = true;
        if (frames.length < this.hub.batchSize || this.terminal) break;
      }
    } catch {
      // Redis unavailable: the poll tries again; readers keep waiting.
    }
    // Wake readers only when there is something new: a poll that found
    // nothing must not disturb their heartbeat timers.
    if (changed) this.notify();
  }

  private push(frame: EventFrame): void {
    this.ring.push(frame);
    this.tail = frame.id;
    if (isTerminalEvent(frame.type)) this.terminal = true;
    if (this.ring.length > this.hub.ringSize) {
      const dropped = this.ring.splice(0, this.ring.length - this.hub.ringSize);
      this.ringBase = dropped[dropped.length - 1]!.id;
    }
  }

  /** Hands a contiguous batch (the events right after `before`) to the live readers at `before`. */
  private pushLive(before: string, frames: EventFrame[]): void {
    for (const reader of [...this.live]) reader.receive(before, frames);
  }

  private notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const reader of waiters) reader.wake();
  }

  /**
   * Frames after `cursor` from the ring, or undefined when the cursor is not a
   * position the ring knows (before it, or an id it does not hold): Redis
   * then answers, and says `lost` for an id the log does not have. A cursor
   * between two ring ids, or past the tail, is such an id: after a Redis
   * restart that lost the newest entries, a reader can hold one (and new ids
   * can pass it), so serving "what follows it" from the ring would skip the
   * loss in silence.
   */
  fromRing(cursor: string, max: number): EventFrame[] | undefined {
    if (cursor === this.tail || this.stale) return NOTHING; // up to date (the common case), or wait for the check
    if (cursor === this.ringBase) return this.ring.slice(0, max);
    if (cursor === '0') return undefined;
    let lo = 0;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareEventIds(this.ring[mid]!.id, cursor) <= 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0 || this.ring[lo - 1]!.id !== cursor) return undefined;
    return this.ring.slice(lo, lo + max);
  }

  /**
   * One Redis read per distinct cursor, shared by every reader at that
   * position: while in flight, and afterwards for the last KEPT_CATCH_UPS
   * cursors read (a reconnect storm resumes thousands of readers at the same
   * few cursors, most of them behind a new feed's ring). Events after a
   * cursor never change, so a kept read stays true; a trimmed log shows on
   * the reader's next read.
   */
  catchUp(cursor: string): Promise<EventFrame[] | 'lost'> {
    let pending = this.catchUps.get(cursor);
    if (!pending) {
      const read = this.hub.store.readAfter(this.id, cursor, this.hub.batchSize);
      const forget = () => {
        if (this.catchUps.get(cursor) === read) this.catchUps.delete(cursor);
      };
      read.then((frames) => frames === 'lost' && forget(), forget);
      this.catchUps.set(cursor, read);
      if (this.catchUps.size > KEPT_CATCH_UPS) this.catchUps.delete(this.catchUps.keys().next().value!);
      pending = read;
    }
    return pending;
  }

  closed = false;

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const reader of [...this.live]) reader.detach();
    this.notify();
  }
}

/** Who takes a live reader's frames (see StreamReader.attach). */
export interface LiveListener {
  /** New frames; false to leave live mode (e.g. the socket is full). */
  receive(frames: EventFrame[]): boolean;
  /** Live mode ended (push-back, terminal event, close or reset). */
  liveEnded(): void;
}

export class StreamReader {
  private initial: EventFrame[];
  private ended = false;
  private closed = false;
  /** Resolves the pending wait, if any. */
  private resume: (() => void) | null = null;
  /** One timer for the reader's life, re-armed per next() call with refresh(). */
  private timer: NodeJS.Timeout | null = null;
  private timerMs = 0;
  private timedOut = false;
  private signal: AbortSignal | undefined;

  constructor(
    private readonly feed: CrawlFeed,
    private readonly release: () => void,
    /** The id of the last frame handed out. */
    public cursor: string,
    initial: EventFrame[],
  ) {
    this.initial = initial;
  }

  /** True once the terminal event was handed out (or the reader closed). */
  get done(): boolean {
    return this.ended || this.closed;
  }

  /**
   * The next frames after the cursor, waiting up to `waitMs` for them: `[]`
   * when none came in time (send a heartbeat), `null` when the stream is over.
   * Call it again only after the previous frames were written out: that is
   * the back-pressure.
   */
  async next(waitMs: number, signal?: AbortSignal): Promise<EventFrame[] | null> {
    if (this.initial.length > 0) {
      const frames = this.initial;
      this.initial = [];
      return this.deliver(frames);
    }
    this.arm(waitMs, signal);
    for (;;) {
      if (this.done || this.feed.closed || signal?.aborted) return null;
      const frames = await this.read();
      if (frames.length > 0) return this.deliver(frames);
      if (this.timedOut) return [];
      await new Promise<void>((resolve) => {
        this.resume = resolve;
        this.feed.waiters.add(this);
      });
    }
  }

  /** Starts this call's deadline; listens to the caller's signal once. */
  private arm(waitMs: number, signal?: AbortSignal): void {
    this.timedOut = false;
    if (this.timer && this.timerMs === waitMs) this.timer.refresh();
    else {
      if (this.timer) clearTimeout(this.timer);
      this.timerMs = waitMs;
      this.timer = setTimeout(() => this.onTimeout(), waitMs);
      this.timer.unref();
    }
    if (signal && signal !== this.signal) {
      this.signal = signal;
      this.abortListener ??= () => this.wake();
      signal.addEventListener('abort', this.abortListener, { once: true });
    }
  }

  private abortListener: (() => void) | null = null;

  private onTimeout(): void {
    this.timedOut = true;
    this.wake();
  }

  private listener: LiveListener | null = null;

  /**
   * Live mode, for a reader that is up to date: from now on every new batch
   * of frames is handed to `listener.receive` synchronously as the feed reads
   * it, with no wake-up and no promise per event. Returns false (nothing
   * attached) when the reader is not at the feed's tail: pull with next()
   * first. Live mode ends (detach, then `listener.liveEnded()`) when receive
   * returns false (the client is not keeping up: go back to next(), which
   * paces by drain), after the terminal event, or on close; the frames given
   * to receive are delivered either way.
   */
  attach(listener: LiveListener): boolean {
    if (this.done || this.feed.closed || this.initial.length > 0 || this.cursor !== this.feed.tail) return false;
    this.listener = listener;
    this.feed.live.add(this);
    // No pull deadline while live: the listener keeps its own heartbeat.
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return true;
  }

  /** Leaves live mode; the listener's liveEnded() runs once. */
  detach(): void {
    const listener = this.listener;
    if (!listener) return;
    this.listener = null;
    this.feed.live.delete(this);
    listener.liveEnded();
  }

  /** Called by the feed with the batch that follows `before`. */
  receive(before: string, frames: EventFrame[]): void {
    const listener = this.listener;
    if (!listener) return;
    if (before !== this.cursor) {
      // Not contiguous with what this reader has (cannot happen while the
      // feed is the only writer of the cursor); fall back to pulling.
      this.detach();
      return;
    }
    const out = this.deliver(frames);
    if (!listener.receive(out) || this.done) this.detach();
  }

  /** Ends the pending wait (new frames, the deadline, an abort or a close). */
  wake(): void {
    const resume = this.resume;
    if (!resume) return;
    this.resume = null;
    this.feed.waiters.delete(this);
    resume();
  }

  private async read(): Promise<EventFrame[]> {
    const max = this.feed.hub.batchSize;
    const fromRing = this.feed.fromRing(this.cursor, max);
    if (fromRing) return fromRing;
    const frames = await this.feed.catchUp(this.cursor);
    if (frames !== 'lost') return frames;
    // Our position is gone from the log: say so, then start over from a
    // snapshot. Trimmed (older than the log's first entry), or unknown: an id
    // the log lost when Redis restarted from older data.
    const opened = await this.feed.hub.store.open(this.feed.id, this.cursor);
    if (!opened) {
      // The crawl is gone: nothing more will come (close() still releases the feed).
      this.ended = true;
      return [];
    }
    // A snapshot of an ended crawl is the last frame: the terminal event is behind it.
    if (opened.terminalId !== null) this.ended = true;
    const now = Date.now();
    return [
      makeFrame(this.feed.id, opened.lastId, 'reset', `{"reason":"cursor_${opened.verdict === 'trimmed' ? 'trimmed' : 'unknown'}"}`, now),
      snapshotFrame(this.feed.id, opened.lastId, opened.crawl, now),
    ];
  }

  private deliver(frames: EventFrame[]): EventFrame[] {
    const end = frames.findIndex((frame) => isTerminalEvent(frame.type));
    const out = end >= 0 ? frames.slice(0, end + 1) : frames;
    if (end >= 0) this.ended = true;
    this.cursor = out[out.length - 1]!.id;
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    if (this.timer) clearTimeout(this.timer);
    if (this.abortListener) this.signal?.removeEventListener('abort', this.abortListener);
    this.wake();
    this.release();
  }
}

function snapshotFrame(crawlId: string, id: string, crawl: object, ts: number): EventFrame {
  return makeFrame(crawlId, id, 'snapshot', JSON.stringify(crawl), ts);
}

export class StreamHub {
  readonly store: CrawlStore;
  readonly ringSize: number;
  readonly pollMs: number;
  readonly batchSize: number;
  private readonly subscriber: RedisConnection;
  private readonly sharded: boolean;
  private readonly feeds = new Map<string, CrawlFeed>();
  private readonly byChannel = new Map<string, CrawlFeed>();
  private readonly opening = new Map<string, Promise<CrawlFeed>>();
  /** Open reads in flight, by crawl and cursor (sharedStart). */
  private readonly starting = new Map<string, Promise<ReaderStart>>();

  constructor(options: StreamHubOptions) {
    this.store = options.store;
    this.subscriber = options.subscriber;
    this.ringSize = options.ringSize ?? 1024;
    this.pollMs = options.pollMs ?? 1000;
    this.batchSize = options.batchSize ?? 256;
    // On a Redis Cluster the wake channels are sharded (SPUBLISH from the
    // crawl's slot): the subscriber SSUBSCRIBEs, through one connection per
    // master (ioredis' shardedSubscribers), not one per crawl.
    this.sharded = this.subscriber.isCluster;
    if (this.sharded && !(this.subscriber as Cluster).options.shardedSubscribers) {
      throw new Error('on a Redis Cluster the stream hub needs a subscriber connected with shardedSubscribers');
    }
    this.subscriber.on(this.sharded ? 'smessage' : 'message', (channel: string) => this.byChannel.get(channel)?.wake());
    this.subscriber.on('ready', () => this.resubscribe());
    this.subscriber.on('close', () => {
      for (const feed of this.feeds.values()) feed.stale = true;
    });
  }

  /** Crawls currently watched by at least one reader of this process. */
  get watched(): number {
    return this.feeds.size;
  }

  /**
   * Opens a reader. `cursor`: undefined (snapshot, then live), '0' (every
   * event from the first), or an event id (the events after it).
   */
  async open(crawlId: string, cursor?: string): Promise<OpenResult> {
    const start = await this.sharedStart(crawlId, cursor ?? '');
    if (start.kind !== 'start') return start;
    const feed = await this.feed(crawlId, start.lastId);
    this.remember(feed, cursor ?? '', start);
    feed.readers++;
    let released = false;
    const reader = new StreamReader(
      feed,
      () => {
        if (released) return;
        released = true;
        this.release(feed);
      },
      start.cursor,
      start.initial,
    );
    return { kind: 'stream', reader, owner: start.owner };
  }

  /**
   * The open path's one Redis read (open-3.lua), shared, so that a connect
   * storm of N readers of a crawl costs O(1) Redis calls, and the snapshot
   * frame is built (and encoded) once for all of them:
   * - readers opening at the same cursor while a read for it is in flight
   *   wait for that read;
   * - while the crawl's feed is subscribed and its tail is still the newest
   *   id that read saw, later readers at that cursor start from it too. It is
   *   what a read would return (every change to a crawl appends an event), or
   *   was a moment ago, before a wake-up still on its way: either way the
   *   reader starts at an id and gets every event after it from the feed.
   * A `missing` is never shared with those who joined (the crawl may have been
   * created after the read began): each of them reads again, alone.
   */
  private async sharedStart(crawlId: string, cursor: string): Promise<ReaderStart> {
    const feed = this.feeds.get(crawlId);
    if (feed && feed.startsTail === feed.tail && this.subscriber.status === 'ready') {
      const known = feed.starts.get(cursor);
      if (known) return known;
    }
    const key = `${crawlId} ${cursor}`;
    const pending = this.starting.get(key);
    if (pending) {
      const shared = await pending;
      return shared.kind === 'missing' ? this.readStart(crawlId, cursor) : shared;
    }
    const own = this.readStart(crawlId, cursor).finally(() => this.starting.delete(key));
    this.starting.set(key, own);
    return own;
  }

  /** Keeps `start` for later readers while the feed's tail is where it was read. */
  private remember(feed: CrawlFeed, cursor: string, start: ReaderStart & { kind: 'start' }): void {
    if (start.lastId !== feed.tail) return;
    if (feed.startsTail !== feed.tail) {
      feed.starts.clear();
      feed.startsTail = feed.tail;
    }
    feed.starts.set(cursor, start);
  }

  private async readStart(crawlId: string, cursor: string): Promise<ReaderStart> {
    const opened = await this.store.open(crawlId, cursor);
    if (!opened) return { kind: 'missing' };
    const { owner, lastId } = opened;
    if (opened.verdict === 'ended') return { kind: 'ended', owner };
    const now = Date.now();
    switch (opened.verdict) {
      case 'snapshot':
        return { kind: 'start', owner, lastId, cursor: lastId, initial: [snapshotFrame(crawlId, lastId, opened.crawl, now)] };
      case 'replay':
        return { kind: 'start', owner, lastId, cursor, initial: [] };
      default:
        return {
          kind: 'start',
          owner,
          lastId,
          cursor: lastId,
          initial: [
            makeFrame(crawlId, lastId, 'reset', `{"reason":"cursor_${opened.verdict}"}`, now),
            snapshotFrame(crawlId, lastId, opened.crawl, now),
          ],
        };
    }
  }

  private async feed(crawlId: string, lastId: string): Promise<CrawlFeed> {
    const existing = this.feeds.get(crawlId);
    if (existing) return existing;
    let pending = this.opening.get(crawlId);
    if (!pending) {
      pending = (async () => {
        const feed = new CrawlFeed(this, crawlId, lastId);
        const channel = this.store.channel(crawlId);
        this.byChannel.set(channel, feed);
        this.feeds.set(crawlId, feed);
        // Subscribe first, then read: nothing appended in between is missed.
        await this.subscribe([channel]);
        feed.wake();
        return feed;
      })().finally(() => this.opening.delete(crawlId));
      this.opening.set(crawlId, pending);
    }
    return pending;
  }

  /**
   * The subscriber connected again (a Redis restart, a killed connection):
   * every wake-up sent meanwhile is lost, and Redis may have restarted from
   * older data. Subscribe to every watched crawl again (whether or not the
   * connection does it by itself), then read: each feed's read checks that
   * its tail is still in the log, and resets it when it is not.
   */
  private async resubscribe(): Promise<void> {
    const channels = [...this.byChannel.keys()];
    if (channels.length > 0) await this.subscribe(channels).catch(() => {});
    for (const feed of this.feeds.values()) feed.wake();
  }

  private release(feed: CrawlFeed): void {
    feed.readers--;
    if (feed.readers > 0) return;
    this.unwatch(feed);
  }

  /** Closes a feed (its readers then end) and stops watching its crawl, unless a newer feed took its place. */
  unwatch(feed: CrawlFeed): void {
    feed.close();
    if (this.feeds.get(feed.id) !== feed) return;
    this.feeds.delete(feed.id);
    const channel = this.store.channel(feed.id);
    this.byChannel.delete(channel);
    (this.sharded ? this.subscriber.sunsubscribe(channel) : this.subscriber.unsubscribe(channel)).catch(() => {});
  }

  /** Sharded channels one per command: each may hash to another shard. */
  private async subscribe(channels: string[]): Promise<void> {
    if (!this.sharded) await this.subscriber.subscribe(...channels);
    else await Promise.all(channels.map((channel) => this.subscriber.ssubscribe(channel)));
  }

  async close(): Promise<void> {
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
    this.byChannel.clear();
  }
}
