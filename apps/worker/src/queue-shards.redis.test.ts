// Workers on a sharded page queue (QUEUE_SHARDS): one BullMQ Worker per
// shard sharing the process's page slots; a crawl queued before shards (on
// the legacy queue) completes under workers with 3 shards; a worker started
// with fewer shards consumes the ones another process announced.
import { PageQueues, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { type Crawl, crawlOptionsSchema, queueShardOf } from '@crawlstream/shared';
import { type TestRedis, useRedis } from '@crawlstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { crawlStore, testWorkerOptions as workerOptions, waitForEnd } from './test-support/crawl.js';
import { type Site, startSite } from './test-support/site.js';

const PAGES = 40;
let site: Site;
beforeAll(async () => {
  site = await startSite({ pages: PAGES, latencyMs: 20 });
});
afterAll(() => site.close());

const running: CrawlWorker[] = [];
const opened: PageQueues[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((worker) => worker.close()));
  await Promise.all(opened.splice(0).map((queues) => queues.close()));
});

/** The test's worker options, on its Redis (a cluster with REDIS_TEST_CLUSTER=1). */
const testWorkerOptions = (redis: TestRedis, extra: Parameters<typeof workerOptions>[1]) =>
  workerOptions(redis, { redisCluster: redis.cluster, ...extra });

const OPTIONS = crawlOptionsSchema().parse({ maxPages: 100, maxDepth: 5, concurrency: 4, useSitemap: false });

/** A store putting jobs on `shards` shards, announced as a started API would. */
async function shardedStore(redis: TestRedis, shards: number): Promise<{ store: CrawlStore; queues: PageQueues }> {
  const connection = redis.connect({ maxRetriesPerRequest: null });
  const queues = new PageQueues(connection, redis.prefix, shards);
  opened.push(queues);
  await queues.announce();
  return { store: new CrawlStore({ redis: connection, prefix: redis.prefix, jobs: new QueuePageJobs(queues) }), queues };
}

/** Creates crawls until each of `shards` shards has one (ids are random); returns them in shard order. */
async function oneCrawlPerShard(store: CrawlStore, shards: number): Promise<Crawl[]> {
  const byShard: Crawl[] = [];
  while (byShard.filter(Boolean).length < shards) {
    const { crawl } = await store.create({ url: site.start, options: OPTIONS });
    byShard[queueShardOf(crawl.id, shards)] ??= crawl;
  }
  return byShard;
}

function expectComplete(done: Crawl) {
  expect(done).toMatchObject({ status: 'completed', counters: { discovered: PAGES, processed: PAGES, failed: 0, skipped: 0 } });
}

/** Most page requests the site was answering at once. */
function mostAtOnce(site: Site): number {
  const pages = site.log.filter((request) => request.path.startsWith('/docs/p'));
  let most = 0;
  for (const request of pages) {
    const overlapping = pages.filter((other) => other.at <= request.at && (other.endedAt ?? Number.POSITIVE_INFINITY) > request.at);
    most = Math.max(most, overlapping.length);
  }
  return most;
}

describe('workers on a sharded page queue', () => {
  it('with 3 shards: one crawl per shard, each page once, no more pages at once than WORKER_CONCURRENCY', async () => {
    const redis = useRedis('ws');
    const { store, queues } = await shardedStore(redis, 3);
    const crawls = await oneCrawlPerShard(store, 3);
    for (const [shard, crawl] of crawls.entries()) {
      const [first] = await store.inflight(crawl.id);
      expect(await queues.queues[shard]!.getJob(first!.jobId)).toBeTruthy();
    }
    site.log.length = 0;
    const worker = await createCrawlWorker(testWorkerOptions(redis, { concurrency: 2, queueShards: 3 }));
    running.push(worker);
    expect(worker.workers).toHaveLength(3);
    for (const crawl of crawls) {
      expectComplete(await waitForEnd(store, crawl.id));
      expect(new Set((await store.pages(crawl.id, 0, 1000)).items.map((page) => page.url)).size).toBe(PAGES);
    }
    // Three shards, each with jobs and a Worker taking 2 at once: the process's page slots still bound pages to 2.
    expect(mostAtOnce(site)).toBeLessThanOrEqual(2);
  });

  it('a crawl queued on one shard (the legacy queue) completes under workers restarted with 3 shards', async () => {
    const redis = useRedis('ws');
    const { store } = await shardedStore(redis, 1);
    // A crawl whose id maps to another shard among 3: its later jobs go there, its queued first job stays on shard 0.
    let { crawl } = await store.create({ url: site.start, options: OPTIONS });
    while (queueShardOf(crawl.id, 3) === 0) crawl = (await store.create({ url: site.start, options: OPTIONS })).crawl;
    // A worker with one shard takes a few pages, then stops (pages in flight are handed back).
    const before = await createCrawlWorker(testWorkerOptions(redis, { concurrency: 1 }));
    await new Promise<void>((resolve) => {
      before.worker.once('completed', () => resolve());
    });
    await before.close();
    expect((await store.get(crawl.id))?.status).toBe('running');
    const after = await createCrawlWorker(testWorkerOptions(redis, { concurrency: 4, queueShards: 3 }));
    running.push(after);
    expectComplete(await waitForEnd(store, crawl.id));
  });

  it('a worker started with 1 shard consumes the shards a process with 3 announced later', async () => {
    // Fails if workers consumed only their own QUEUE_SHARDS: the crawls on shards 1 and 2 would never run.
    const redis = useRedis('ws');
    const worker = await createCrawlWorker(testWorkerOptions(redis, { concurrency: 4, shardsCheckMs: 100 }));
    running.push(worker);
    expect(worker.workers).toHaveLength(1);
    const { store } = await shardedStore(redis, 3);
    const crawls = await oneCrawlPerShard(store, 3);
    for (const crawl of crawls) expectComplete(await waitForEnd(store, crawl.id));
    expect(worker.workers).toHaveLength(3);
  });

  it('a store with one shard still finds and completes what it queued (the default is unchanged)', async () => {
    const redis = useRedis('ws');
    const worker = await createCrawlWorker(testWorkerOptions(redis, {}));
    running.push(worker);
    const store = crawlStore(redis.connect(), redis.prefix);
    const { crawl } = await store.create({ url: site.start, options: OPTIONS });
    expectComplete(await waitForEnd(store, crawl.id));
    expect(worker.workers).toHaveLength(1);
  });
});
