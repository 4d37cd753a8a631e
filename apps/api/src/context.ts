// What the routes of one API process share: its settings, its Redis
// connections' users (store, stream hub, page queue), metrics and the stream
// tokens. Built once in buildApp and handed to each plugin.
import type { PageQueue, PageQueues, WebhookQueue } from '@crawlstream/jobs';
import type { CrawlStore, CrawlWebhooks, StreamHub } from '@crawlstream/progress';
import type { Config } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import type { ApiKeys, StreamTokens } from './access.js';
import { ApiError } from './errors.js';
import type { ApiMetrics } from './plugins/metrics.js';
import type { ApiSettings } from './settings.js';

export interface ApiContext {
  config: Config;
  settings: ApiSettings;
  prefix: string;
  redis: RedisConnection;
  store: CrawlStore;
  hub: StreamHub;
  /** Shard 0 of the page queue. */
  queue: PageQueue;
  /** Every shard of the page queue (QUEUE_SHARDS, and any more another process announced). */
  queues: PageQueues;
  metrics: ApiMetrics;
  /** The crawls' webhooks (#16) and the queue their deliveries run on. */
  webhooks: CrawlWebhooks;
  webhookQueue: WebhookQueue;
  tokens: StreamTokens;
  /** API_KEYS; when `enabled`, each key sees only its own crawls. */
  apiKeys: ApiKeys;
}

/**
 * Throws 404 unless the crawl exists and `owner` may see it; one HGET. With
 * keys off every crawl is visible. Returns the crawl's recorded owner.
 */
export async function visibleCrawlOwner(ctx: ApiContext, id: string, owner: string | null): Promise<string> {
  const recorded = await ctx.store.owner(id);
  if (recorded === null) throw new ApiError('not_found');
  if (ctx.apiKeys.enabled && recorded !== owner) throw new ApiError('not_found');
  return recorded;
}
