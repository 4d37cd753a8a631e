// Two worker processes on a page queue of 3 shards (QUEUE_SHARDS=3), with
// the production lock, stall check, sweep and close timings: one crawl per
// shard, every page crawled once, exact counts, and each shard's jobs run.
import type { ChildProcess } from 'node:child_process';
import { PageQueues, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { type Crawl, crawlOptionsSchema, queuePrefix, queueShardOf } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitForEnd } from './test-support/crawl.js';
import { launcher, startProcess as start } from './test-support/processes.js';
import { type Site, startSite } from './test-support/site.js';

const PAGES = 300;
const children: ChildProcess[] = [];
let site: Site;
beforeAll(async () => {
  site = await startSite({ pages: PAGES, latencyMs: 2, pids: () => children.map((child) => child.pid!).filter(Boolean) });
});
afterAll(() => site.close());
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('worker processes on 3 queue shards', () => {
  it('2 processes, one crawl per shard: every page once, processed = pages exactly, each shard worked', async () => {
    const redis = useRedis('qp');
    await Promise.all([1, 2].map(() => start(children, [launcher, redis.url, redis.prefix, '8', '3'])));
    const connection = redis.connect({ maxRetriesPerRequest: null });
    const queues = new PageQueues(connection, redis.prefix, 3);
    await queues.announce();
    const store = new CrawlStore({ redis: connection, prefix: redis.prefix, jobs: new QueuePageJobs(queues) });
    const options = crawlOptionsSchema().parse({ maxPages: PAGES, maxDepth: 5, concurrency: 16, useSitemap: false });
    const byShard: Crawl[] = [];
    const all: Crawl[] = [];
    while (byShard.filter(Boolean).length < 3) {
      const { crawl } = await store.create({ url: site.start, options });
      all.push(crawl);
      byShard[queueShardOf(crawl.id, 3)] ??= crawl;
    }
    for (const crawl of all) {
      const done = await waitForEnd(store, crawl.id, 180_000);
      expect(done).toMatchObject({ status: 'completed', counters: { discovered: PAGES, processed: PAGES, failed: 0, skipped: 0 } });
      const urls: string[] = [];
      for (let offset: number | null = 0; offset !== null; ) {
        const batch = await store.pages(crawl.id, offset, 500);
        urls.push(...batch.items.map((page) => page.url));
        offset = batch.next;
      }
      expect(new Set(urls).size).toBe(PAGES);
    }
    // Each shard's BullMQ event stream recorded completed jobs; both processes fetched pages.
    for (const shard of [0, 1, 2]) {
      const events = await connection.xrange(`${queuePrefix(redis.prefix, shard)}:pages:events`, '-', '+');
      const completed = events.filter(([, fields]) => fields[fields.indexOf('event') + 1] === 'completed');
      expect(completed.length, `shard ${shard}`).toBeGreaterThan(0);
    }
    const pids = new Set(site.log.map((request) => request.pid).filter((pid) => pid !== undefined));
    expect(pids.size).toBe(2);
    await queues.close();
  });
});
