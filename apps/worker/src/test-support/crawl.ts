// Starting crawls the way the API does (the store enqueues the first page)
// and waiting for them to end, for the worker tests.
import { createPageQueue, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { type Crawl, type CrawlOptionsInput, crawlOptionsSchema, isTerminalStatus } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { redisCluster, useRedis } from '@crawlstream/testkit';
import { type CrawlWorker, type CrawlWorkerOptions, createCrawlWorker } from '../crawl-worker.js';

/**
 * A store on the page queue, as the API and the worker have it. The queue
 * shares `redis` (closing it would not close the connection): it stays open
 * for what the store dispatches.
 */
export function crawlStore(redis: RedisConnection, prefix: string): CrawlStore {
  return new CrawlStore({ redis, prefix, jobs: new QueuePageJobs(createPageQueue(redis, prefix)) });
}

export async function startCrawl(redis: RedisConnection, prefix: string, url: string, options: CrawlOptionsInput) {
  const store = crawlStore(redis, prefix);
  const { crawl } = await store.create({ url, options: crawlOptionsSchema().parse(options) });
  return { store, crawl };
}

export async function waitForEnd(store: CrawlStore, id: string, timeoutMs = 120_000): Promise<Crawl> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const crawl = await store.get(id);
    if (crawl && isTerminalStatus(crawl.status)) return crawl;
    if (Date.now() > deadline) throw new Error(`crawl did not end in time: ${JSON.stringify(crawl)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A worker's options for tests: the test's Redis and prefix, loopback allowed, quick retries. */
export function testWorkerOptions(
  redis: { url: string; prefix: string },
  extra: Partial<CrawlWorkerOptions> = {},
): CrawlWorkerOptions {
  return { redisUrl: redis.url, redisCluster: redisCluster(), prefix: redis.prefix, concurrency: 8, ssrfAllow: ['127.0.0.1/32'], retryBaseMs: 50, ...extra };
}

/**
 * A fixture-site crawl as the extraction tests run it: one worker (one
 * extraction thread) on a fresh prefix crawls `url` without robots.txt or
 * sitemaps until the crawl ends. `started` gets the worker at once, for the
 * caller to close (also when the crawl does not end).
 */
export async function crawlFixture(label: string, url: string, options: CrawlOptionsInput, started: (worker: CrawlWorker) => void) {
  const redis = useRedis(label);
  started(await createCrawlWorker(testWorkerOptions(redis, { extractThreads: 1 })));
  const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, url, { respectRobotsTxt: false, useSitemap: false, ...options });
  return { store, crawl, done: await waitForEnd(store, crawl.id) };
}
