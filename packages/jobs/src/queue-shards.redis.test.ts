// The page queue split into shards (QUEUE_SHARDS): a crawl's jobs land on
// the shard of its id, shard 0 is the queue as it was before shards, a job is
// found on whatever shard holds it, the sweep replaces a vanished job on the
// crawl's shard, and the announced shard count only grows.
import { CrawlStore } from '@crawlstream/progress';
import { crawlOptionsSchema, globalKeys, MAX_QUEUE_SHARDS, queuePrefix, queueShardOf } from '@crawlstream/shared';
import { type TestRedis, useRedis } from '@crawlstream/testkit';
import type { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { PAGE_QUEUE, PageQueues, QueuePageJobs } from './index.js';

const START = 'http://127.0.0.1:9/docs/';

const opened: PageQueues[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((queues) => queues.close()));
});

function shards(redis: TestRedis, count: number) {
  const queues = new PageQueues(redis.connect({ maxRetriesPerRequest: null }), redis.prefix, count);
  opened.push(queues);
  return queues;
}

/** Keys matching `pattern` on every master (on one Redis: KEYS; on a cluster, KEYS reaches one node). */
async function keysEverywhere(redis: TestRedis, pattern: string): Promise<string[]> {
  const connection = redis.connect();
  try {
    if (!connection.isCluster) return await connection.keys(pattern);
    await new Promise((resolve) => connection.once('ready', resolve));
    const found = await Promise.all((connection as Cluster).nodes('master').map((node) => node.keys(pattern)));
    return found.flat();
  } finally {
    connection.disconnect();
  }
}

/** A crawl id of each shard among `count`, in shard order (ids as the store makes them are random; these are fixed). */
function idsByShard(count: number): string[] {
  const ids: string[] = [];
  for (let i = 0; ids.filter(Boolean).length < count; i++) {
    const id = `crawl${i}`;
    ids[queueShardOf(id, count)] ??= id;
  }
  return ids;
}

describe('page queue shards', () => {
  it('puts the jobs of each crawl on the shard of its id, and only there', async () => {
    const redis = useRedis('qs');
    const queues = shards(redis, 3);
    const jobs = new QueuePageJobs(queues);
    const ids = idsByShard(3);
    for (const id of ids) await jobs.add(id, [{ url: START, depth: 0, jobId: `${id}-1-a` }]);
    for (const [shard, id] of ids.entries()) {
      expect(queues.of(id)).toBe(queues.queues[shard]);
      for (const [other, queue] of queues.queues.entries()) {
        expect(Boolean(await queue.getJob(`${id}-1-a`)), `${id} on shard ${other}`).toBe(other === shard);
      }
    }
    // Each shard is its own BullMQ queue under its own hash tag: shard 0 is the legacy `{prefix-queue}`.
    expect(queues.queues.map((queue) => queue.opts.prefix)).toEqual([0, 1, 2].map((shard) => queuePrefix(redis.prefix, shard)));
    expect(queues.queues[0]!.opts.prefix).toBe(`{${redis.prefix}-queue}`);
    expect(new Set(queues.queues.map((queue) => queue.opts.prefix)).size).toBe(3);
    const keys = await keysEverywhere(redis, `${queuePrefix(redis.prefix, 2)}:${PAGE_QUEUE}:*`);
    expect(keys.length).toBeGreaterThan(0);
  });

  it('with one shard uses the queue as it was before shards: `{prefix-queue}`, nothing else', async () => {
    const redis = useRedis('qs');
    const jobs = new QueuePageJobs(shards(redis, 1));
    const [id] = idsByShard(3).slice(2);
    await jobs.add(id!, [{ url: START, depth: 0, jobId: `${id}-1-a` }]);
    const keys = await keysEverywhere(redis, `*${redis.prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.startsWith(`${queuePrefix(redis.prefix)}:${PAGE_QUEUE}:`), key).toBe(true);
    expect(queuePrefix(redis.prefix)).toBe(`{${redis.prefix}-queue}`);
  });

  it('finds a job on any shard: one put there by a process with another QUEUE_SHARDS is alive', async () => {
    // Fails if a job were looked up only on the shard this process would choose: the sweep would add it twice.
    const redis = useRedis('qs');
    const wideQueues = shards(redis, 3);
    await wideQueues.announce();
    const wide = new QueuePageJobs(wideQueues);
    const id = idsByShard(3)[2]!;
    await wide.add(id, [{ url: START, depth: 0, jobId: `${id}-1-a` }]);
    const narrowQueues = shards(redis, 1);
    await narrowQueues.announce();
    const narrow = new QueuePageJobs(narrowQueues);
    expect(await narrow.alive(`${id}-1-a`)).toBe(true);
    expect(await narrow.alive(`${id}-1-nope`)).toBe(false);
  });

  it('announces the highest shard count: a process with fewer opens every shard announced, the count never drops', async () => {
    const redis = useRedis('qs');
    const key = globalKeys(redis.prefix).queueShards;
    expect(await shards(redis, 1).announce()).toHaveLength(0);
    expect(await redis.connect().get(key)).toBe('1');
    await shards(redis, 3).announce();
    expect(await redis.connect().get(key)).toBe('3');
    const narrow = shards(redis, 1);
    const more = await narrow.announce();
    expect(more.map((queue) => queue.opts.prefix)).toEqual([queuePrefix(redis.prefix, 1), queuePrefix(redis.prefix, 2)]);
    expect(narrow.queues).toHaveLength(3);
    expect(await redis.connect().get(key)).toBe('3');
    // Its own new crawls still go where one shard puts them: shard 0.
    for (const id of idsByShard(3)) expect(narrow.of(id)).toBe(narrow.queues[0]);
  });

  it('reads a count written by hand safely: garbage counts as none, past MAX_QUEUE_SHARDS opens that many at most', async () => {
    const redis = useRedis('qs');
    const key = globalKeys(redis.prefix).queueShards;
    await redis.connect().set(key, 'garbage');
    const first = shards(redis, 2);
    await first.announce();
    expect(await redis.connect().get(key)).toBe('2');
    await redis.connect().set(key, String(MAX_QUEUE_SHARDS + 1));
    const second = shards(redis, 1);
    await second.announce();
    expect(second.queues).toHaveLength(MAX_QUEUE_SHARDS);
  });

  it('the sweep replaces a vanished job on the shard of its crawl', async () => {
    const redis = useRedis('qs');
    const queues = shards(redis, 3);
    const store = new CrawlStore({ redis: redis.connect(), prefix: redis.prefix, jobs: new QueuePageJobs(queues) });
    const options = crawlOptionsSchema().parse({ maxPages: 20, concurrency: 4, useSitemap: false });
    // Crawl ids are random: create until one lands on a shard other than 0.
    let crawl = (await store.create({ url: START, options })).crawl;
    while (queueShardOf(crawl.id, 3) === 0) crawl = (await store.create({ url: START, options })).crawl;
    const shard = queues.of(crawl.id);
    const [first] = await store.inflight(crawl.id);
    expect(await shard.getJob(first!.jobId)).toBeTruthy();
    await shard.remove(first!.jobId);
    const report = await store.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(report.redispatched).toBeGreaterThanOrEqual(1);
    const [again] = await store.inflight(crawl.id);
    expect(again).toMatchObject({ url: START, generation: 2 });
    const job = await shard.getJob(again!.jobId);
    expect(job?.data).toEqual({ crawlId: crawl.id, pages: [{ url: START, depth: 0 }] });
    for (const other of queues.queues) if (other !== shard) expect(await other.getJob(again!.jobId)).toBeFalsy();
  });
});
