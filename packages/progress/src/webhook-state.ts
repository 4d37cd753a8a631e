// A crawl's webhook (#16) and the state of its delivery, in one hash per
// crawl (CrawlKeys.webhook): the target (url, event filter, headers), the
// cursor (id of the last event delivered or passed over by the filter) and
// the current event's failed attempts. Single-key commands only, each write
// in one MULTI that also sets the crawl's TTL (the API's CRAWL_TTL_SECONDS,
// recorded at create as the crawl's own), so no Lua script knows it.
import { type CrawlWebhook, crawlKeys, type WebhookState, type WebhookStatus } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';

/** What the delivery needs: the target as given at create, and where it stands. */
export interface WebhookTarget {
  crawlId: string;
  /** The TTL the crawl was created with, renewed on each write. */
  ttlSeconds: number;
  url: string;
  /** Event types delivered (never empty). */
  events: string[];
  headers: Record<string, string>;
  /** Last event id delivered or passed over; '0' before the first. */
  cursor: string;
  attempts: number;
  state: WebhookState;
  /** Epoch ms before which the failing event is not tried again (0: any time). */
  nextAttemptAt: number;
}

export interface WebhookFailure {
  attempts: number;
  error: string;
  status?: number;
  /** Epoch ms of the next attempt, or null: that was the last attempt, the webhook is `failed`. */
  nextAttemptAt: number | null;
}

export class CrawlWebhooks {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    /** CRAWL_TTL_SECONDS: the TTL a webhook is registered with (a crawl's own is used after that). */
    private readonly ttlSeconds: number,
  ) {}

  private key(id: string): string {
    return crawlKeys(id, this.prefix).webhook;
  }

  /** Records a crawl's webhook (at create, once the crawl exists); delivery starts from the first event. */
  async register(id: string, webhook: { url: string; events: readonly string[]; headers: Readonly<Record<string, string>> }): Promise<void> {
    const key = this.key(id);
    await this.redis
      .multi()
      .hset(key, {
        url: webhook.url,
        events: webhook.events.join(','),
        headers: JSON.stringify(webhook.headers),
        cursor: '0',
        passed: '0',
        attempts: '0',
        state: 'active',
        ttl: String(this.ttlSeconds),
      })
      .expire(key, this.ttlSeconds)
      .exec();
  }

  /** What a crawl shows of its webhook, or null when it has none. */
  async shown(id: string): Promise<CrawlWebhook | null> {
    const [url, events] = await this.redis.hmget(this.key(id), 'url', 'events');
    return url ? { url, events: events ? events.split(',') : [] } : null;
  }

  async target(id: string): Promise<WebhookTarget | null> {
    const hash = await this.redis.hgetall(this.key(id));
    if (!hash.url) return null;
    return {
      crawlId: id,
      ttlSeconds: Number(hash.ttl) || this.ttlSeconds,
      url: hash.url,
      events: (hash.events ?? '').split(','),
      headers: JSON.parse(hash.headers ?? '{}') as Record<string, string>,
      cursor: hash.cursor || '0',
      attempts: Number(hash.attempts ?? 0),
      state: (hash.state ?? 'active') as WebhookState,
      nextAttemptAt: Number(hash.nextAttemptAt ?? 0),
    };
  }

  /** The delivery state (GET /:id/webhook), or null when the crawl has no webhook. */
  async status(id: string): Promise<WebhookStatus | null> {
    const key = this.key(id);
    const [[, hash], [, length]] = (await this.redis.multi().hgetall(key).xlen(crawlKeys(id, this.prefix).events).exec()) as [
      [unknown, Record<string, string>],
      [unknown, number],
    ];
    if (!hash.url) return null;
    const nextAttemptAt = Number(hash.nextAttemptAt ?? 0);
    const state = (hash.state ?? 'active') as WebhookState;
    return {
      url: hash.url,
      events: (hash.events ?? '').split(','),
      state,
      lastDeliveredId: hash.cursor && hash.cursor !== '0' ? hash.cursor : null,
      // The log may be trimmed (MAXLEN ~): never below zero.
      pending: state === 'done' ? 0 : Math.max(0, length - Number(hash.passed ?? 0)),
      attempts: Number(hash.attempts ?? 0),
      ...(hash.lastError ? { lastError: hash.lastError } : {}),
      ...(hash.lastStatus ? { lastStatus: Number(hash.lastStatus) } : {}),
      ...(state === 'failing' && nextAttemptAt > 0 ? { nextAttemptAt: new Date(nextAttemptAt).toISOString() } : {}),
    };
  }

  /**
   * Moves the cursor past `eventId` (delivered with `status`, or passed over
   * by the filter without one); `done` once the crawl's terminal event is past.
   */
  async advance(target: WebhookTarget, eventId: string, done: boolean, status?: number): Promise<void> {
    const key = this.key(target.crawlId);
    const fields: Record<string, string> = { cursor: eventId, attempts: '0', state: done ? 'done' : 'active', nextAttemptAt: '0' };
    if (status !== undefined) fields.lastStatus = String(status);
    const multi = this.redis.multi().hset(key, fields).hincrby(key, 'passed', 1);
    // The receiver's headers are secrets: kept no longer than they are needed (as a crawl's own request headers).
    if (done) multi.hdel(key, 'headers');
    await multi.expire(key, target.ttlSeconds).exec();
  }

  /** Records a failed attempt: `failing` until the next, or `failed` when there is none. */
  async failAttempt(target: WebhookTarget, failure: WebhookFailure): Promise<void> {
    const key = this.key(target.crawlId);
    const fields: Record<string, string> = {
      attempts: String(failure.attempts),
      state: failure.nextAttemptAt === null ? 'failed' : 'failing',
      lastError: failure.error,
      nextAttemptAt: String(failure.nextAttemptAt ?? 0),
    };
    if (failure.status !== undefined) fields.lastStatus = String(failure.status);
    const multi = this.redis.multi().hset(key, fields);
    if (failure.status === undefined) multi.hdel(key, 'lastStatus');
    if (failure.nextAttemptAt === null) multi.hdel(key, 'headers');
    await multi.expire(key, target.ttlSeconds).exec();
  }

  /** Stops delivery for good (the crawl or its log is gone). */
  async stop(target: WebhookTarget, error: string): Promise<void> {
    const key = this.key(target.crawlId);
    await this.redis.multi().hset(key, { state: 'failed', lastError: error }).hdel(key, 'headers').expire(key, target.ttlSeconds).exec();
  }
}
