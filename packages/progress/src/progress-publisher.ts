// Throttled `progress` events for the crawls this process works on. Leading
// and trailing emission: the first settle after a quiet spell emits at once,
// later ones within the interval collapse into one trailing event. The
// interval grows with the page rate (every page at a trickle, about one a
// second at full speed), and appendProgress-3.lua also throttles across
// processes. An entry is deleted when its crawl ends and after idleness, so
// the map cannot grow without bound; `size` is exposed for tests and metrics.
import type { CrawlStore } from './crawl-store.js';

export interface ProgressPublisherOptions {
  store: CrawlStore;
  minIntervalMs?: number;
  maxIntervalMs?: number;
  /** An entry with no settle for this long is dropped. */
  idleMs?: number;
  onError?: (error: unknown) => void;
}

interface Entry {
  lastEmitAt: number;
  lastActivityAt: number;
  /** Smoothed settles per second seen by this process. */
  rate: number;
  timer: NodeJS.Timeout | undefined;
}

export class ProgressPublisher {
  private readonly entries = new Map<string, Entry>();
  private readonly store: CrawlStore;
  private readonly minIntervalMs: number;
  private readonly maxIntervalMs: number;
  private readonly idleMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly idleSweep: NodeJS.Timeout;

  constructor(options: ProgressPublisherOptions) {
    this.store = options.store;
    this.minIntervalMs = options.minIntervalMs ?? 100;
    this.maxIntervalMs = options.maxIntervalMs ?? 1000;
    this.idleMs = options.idleMs ?? 30_000;
    this.onError = options.onError ?? (() => {});
    this.idleSweep = setInterval(() => this.dropIdle(), Math.max(10, this.idleMs / 2));
    this.idleSweep.unref();
  }

  /** Per-crawl entries held now. */
  get size(): number {
    return this.entries.size;
  }

  /** The interval for a page rate: ~10 ms per page/s, within bounds. */
  intervalFor(rate: number): number {
    return Math.min(this.maxIntervalMs, Math.max(this.minIntervalMs, rate * 10));
  }

  /** A page of `crawlId` was settled by this process. */
  notify(crawlId: string): void {
    const now = Date.now();
    let entry = this.entries.get(crawlId);
    if (!entry) {
      entry = { lastEmitAt: 0, lastActivityAt: now, rate: 0, timer: undefined };
      this.entries.set(crawlId, entry);
    }
    const gap = Math.max(now - entry.lastActivityAt, 1);
    entry.rate = entry.rate * 0.8 + (1000 / gap) * 0.2;
    entry.lastActivityAt = now;
    if (entry.timer) return;
    const wait = entry.lastEmitAt + this.intervalFor(entry.rate) - now;
    if (wait <= 0) void this.emit(crawlId, entry);
    else this.schedule(crawlId, entry, wait);
  }

  /** The crawl ended (completed, failed, cancelled): forget it. */
  finish(crawlId: string): void {
    const entry = this.entries.get(crawlId);
    if (entry?.timer) clearTimeout(entry.timer);
    this.entries.delete(crawlId);
  }

  private schedule(crawlId: string, entry: Entry, wait: number): void {
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (this.entries.get(crawlId) === entry) void this.emit(crawlId, entry);
    }, wait);
    entry.timer.unref();
  }

  private async emit(crawlId: string, entry: Entry): Promise<void> {
    entry.lastEmitAt = Date.now();
    try {
      const result = await this.store.appendProgress(crawlId, this.minIntervalMs);
      if (result.result === 'finished' || result.result === 'missing') this.finish(crawlId);
      else if (result.result === 'throttled' && !entry.timer && this.entries.get(crawlId) === entry) {
        this.schedule(crawlId, entry, result.msLeft);
      }
    } catch (error) {
      this.onError(error);
    }
  }

  private dropIdle(): void {
    const cutoff = Date.now() - this.idleMs;
    for (const [crawlId, entry] of this.entries) {
      if (!entry.timer && entry.lastActivityAt < cutoff) this.entries.delete(crawlId);
    }
  }

  close(): void {
    clearInterval(this.idleSweep);
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer);
    this.entries.clear();
  }
}
