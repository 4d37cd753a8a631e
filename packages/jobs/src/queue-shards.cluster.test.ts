// The page queue's shards on a real Redis Cluster (3 masters, equal slot
// ranges, as `redis-cli --cluster create` makes them): with the production
// prefix and QUEUE_SHARDS=3 each master holds one shard's keys; a crawl's
// jobs sit on its shard's master and are found there from any process.
import { type RedisCluster, startRedisCluster } from '@crawlstream/redis-runner';
import { connectRedis } from '@crawlstream/redis-connection';
import { DEFAULT_KEY_PREFIX, queuePrefix, queueShardOf } from '@crawlstream/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_QUEUE, PageQueues, QueuePageJobs } from './index.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
}, 120_000);
afterAll(() => cluster?.stop());

/** The ports of the masters, each with the queue shards whose keys it holds. */
async function shardsPerMaster(shards: number): Promise<Map<number, number[]>> {
  const held = new Map<number, number[]>();
  for (const node of cluster.nodes) {
    const direct = new Redis(node.port, '127.0.0.1', { lazyConnect: true });
    await direct.connect();
    try {
      if ((await direct.call('ROLE').then((role) => (role as string[])[0])) !== 'master') continue;
      const mine: number[] = [];
      for (let shard = 0; shard < shards; shard++) {
        if ((await direct.keys(`${queuePrefix(DEFAULT_KEY_PREFIX, shard)}:${PAGE_QUEUE}:*`)).length > 0) mine.push(shard);
      }
      held.set(node.port, mine);
    } finally {
      direct.disconnect();
    }
  }
  return held;
}

describe('queue shards on a Redis Cluster', () => {
  it('QUEUE_SHARDS=3 with the prefix cs: one shard per master, each crawl on its shard, found from a process with 1 shard', async () => {
    const connection = connectRedis({ url: cluster.url, cluster: true }, { maxRetriesPerRequest: null });
    const queues = new PageQueues(connection, DEFAULT_KEY_PREFIX, 3);
    const narrowQueues = new PageQueues(connection, DEFAULT_KEY_PREFIX, 1);
    try {
      await queues.announce();
      const jobs = new QueuePageJobs(queues);
      const ids: string[] = [];
      for (let i = 0; ids.filter(Boolean).length < 3; i++) ids[queueShardOf(`crawl${i}`, 3)] ??= `crawl${i}`;
      for (const id of ids) await jobs.add(id, [{ url: 'http://127.0.0.1:9/', depth: 0, jobId: `${id}-1-a` }]);

      const held = await shardsPerMaster(3);
      expect(held.size).toBe(3);
      expect([...held.values()].map((shards) => shards.length)).toEqual([1, 1, 1]);
      expect(new Set([...held.values()].flat())).toEqual(new Set([0, 1, 2]));

      await narrowQueues.announce();
      const narrow = new QueuePageJobs(narrowQueues);
      for (const id of ids) expect(await narrow.alive(`${id}-1-a`)).toBe(true);
    } finally {
      await queues.close();
      await narrowQueues.close();
      connection.disconnect();
    }
  });
});
