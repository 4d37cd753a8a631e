// Which crawls run, as this worker process last heard, so that a page job
// need not read its crawl's status from Redis before fetching. A crawl seen
// running is trusted for RUNNING_CACHE_MS at most. Its end is announced on
// the ended channel (globalKeys().ended, published by the script that ends
// it): that crawl is then known ended, at once and for good (crawl ids are
// never reused). A settle answered `finished` or `missing` says the same
// (forget). So pages of a cancelled crawl stop as soon as the announcement
// arrives, and within RUNNING_CACHE_MS should it be lost (the subscriber
// reconnecting).
import type { CrawlStore } from '@crawlstream/progress';
import { RUNNING_CACHE_MS } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';

export interface RunningCrawlsOptions {
  /** How long a crawl seen running is trusted (RUNNING_CACHE_MS). */
  maxAgeMs?: number;
  /** Crawls remembered, running and ended each; the oldest are forgotten first (and read again when asked). */
  maxEntries?: number;
}

export class RunningCrawls {
  /** Crawl id -> when it was last seen running (epoch ms); oldest first. */
  private readonly running = new Map<string, number>();
  /** Crawls known ended; oldest first. */
  private readonly ended = new Set<string>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;

  constructor(
    private readonly store: CrawlStore,
    options: RunningCrawlsOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? RUNNING_CACHE_MS;
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  /** Listens to the ended channel on `subscriber` (a connection of its own; ioredis subscribes again after a reconnect). */
  async listen(subscriber: RedisConnection): Promise<void> {
    subscriber.on('message', (channel: string, id: string) => {
      if (channel === this.store.endedChannel()) this.forget(id);
    });
    await subscriber.subscribe(this.store.endedChannel());
  }

  async isRunning(id: string): Promise<boolean> {
    if (this.ended.has(id)) return false;
    const seenAt = this.running.get(id);
    if (seenAt !== undefined && Date.now() - seenAt < this.maxAgeMs) return true;
    const asked = Date.now();
    const running = (await this.store.status(id)) === 'running';
    // An end announced while the status was on its way wins over the answer.
    if (!running || this.ended.has(id)) {
      this.forget(id);
      return false;
    }
    this.running.delete(id);
    this.running.set(id, asked);
    if (this.running.size > this.maxEntries) this.running.delete(this.running.keys().next().value!);
    return true;
  }

  /** The crawl has ended (announced, or a settle said so). */
  forget(id: string): void {
    this.running.delete(id);
    this.ended.add(id);
    if (this.ended.size > this.maxEntries) this.ended.delete(this.ended.values().next().value!);
  }
}
