// Pub/sub on a Redis Cluster (runs with REDIS_TEST_CLUSTER=1 only): wake-ups
// are sharded channels, published by the crawl's scripts on the master that
// owns the crawl and received by the stream hub through one subscriber
// connection per master; the `ended` channel stays classic and reaches
// subscribers on every node.
import { isTerminalEvent } from '@crawlstream/shared';
import { redisCluster, useRedis } from '@crawlstream/testkit';
import { type Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CrawlStore } from './crawl-store.js';
import type { EventFrame } from './frames.js';
import { StreamHub } from './stream-hub.js';
import { options, page, RecordingJobs } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
/** A safety poll so long that only wake-ups can deliver within a test. */
const NO_POLL = 600_000;

const plain: Redis[] = [];
afterAll(() => {
  for (const connection of plain) connection.disconnect();
});

/** The master and replica nodes of the run's cluster (CLUSTER NODES), each as a plain connection. */
async function eachNode(cluster: Cluster): Promise<{ role: 'master' | 'replica'; node: Redis }[]> {
  const lines = String(await cluster.cluster('NODES')).trim().split('\n');
  return lines.map((line) => {
    const [, address = '', flags = ''] = line.split(' ');
    const [host, port] = address.split('@')[0]!.split(':');
    const connection = new Redis({ host: host!, port: Number(port) });
    plain.push(connection);
    return { role: flags.includes('master') ? 'master' : 'replica', node: connection };
  });
}

describe.skipIf(!redisCluster())('pub/sub on a Redis Cluster', () => {
  it('wakes every reader through SSUBSCRIBE on the shard that owns its crawl, one subscriber connection per master for 12 crawls', async () => {
    const redis = useRedis('c');
    const admin = redis.connect() as Cluster;
    const name = `hub-${redis.prefix}`;
    const store = new CrawlStore({ redis: redis.connect(), prefix: redis.prefix, jobs: new RecordingJobs() });
    const hub = new StreamHub({ store, subscriber: redis.connect({ shardedSubscribers: true, connectionName: name }), pollMs: NO_POLL });
    const crawls = await Promise.all(Array.from({ length: 12 }, () => store.create({ url: START, options: options() })));
    const ids = crawls.map(({ crawl }) => crawl.id);
    const followed = await Promise.all(
      ids.map(async (id) => {
        const result = await hub.open(id, '0');
        if (result.kind !== 'stream') throw new Error(`expected a stream, got ${result.kind}`);
        const frames: EventFrame[] = [];
        const done = (async () => {
          for (;;) {
            const batch = await result.reader.next(200);
            if (batch === null) break;
            frames.push(...batch);
          }
          result.reader.close();
        })();
        return { frames, done };
      }),
    );

    const nodes = await eachNode(admin);
    const masters = nodes.filter(({ role }) => role === 'master').map(({ node }) => node);
    expect(masters).toHaveLength(3);
    // Each crawl's wake channel is subscribed on its own shard, and as a sharded channel only.
    const owning = new Set<number>();
    for (const id of ids) {
      const channel = store.channel(id);
      const counts = await Promise.all(masters.map(async (node) => Number(((await node.call('PUBSUB', 'SHARDNUMSUB', channel)) as unknown[])[1])));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
      owning.add(counts.indexOf(1));
      expect(await masters[0]!.pubsub('NUMSUB', channel)).toEqual([channel, 0]);
    }
    // The hub holds one subscriber connection on each master that owns a
    // watched crawl (at most one on the others), however many crawls it watches.
    for (const [i, node] of masters.entries()) {
      const clients = String(await node.client('LIST')).split('\n').filter((line) => line.includes(`name=ioredis-cluster(ssubscriber):${name} `));
      expect(clients.length).toBe(owning.has(i) ? 1 : Math.min(clients.length, 1));
    }

    // Only wake-ups deliver (no safety poll): every reader gets its crawl's page and terminal event once.
    await Promise.all(ids.map((id) => store.settle(id, page(START))));
    await Promise.all(followed.map(({ done }) => done));
    for (const [i, { frames }] of followed.entries()) {
      const types = frames.map((f) => f.type);
      expect(types.slice(0, 2)).toEqual(['started', 'discovered']);
      expect(types.filter((type) => type === 'page')).toHaveLength(1);
      expect(types.filter(isTerminalEvent)).toEqual(['completed']);
      expect(types.at(-1)).toBe('completed');
      expect(new Set(frames.map((f) => f.id)).size).toBe(frames.length);
      // The same events as the crawl's log: nothing from another crawl, nothing missing.
      expect(frames.map((f) => f.id)).toEqual((await store.readAll(ids[i]!)).map((f) => f.id));
    }
    await hub.close();
  });

  it('announces an ended crawl on the classic `ended` channel to subscribers on every node, masters and replicas', async () => {
    const redis = useRedis('e');
    const store = new CrawlStore({ redis: redis.connect(), prefix: redis.prefix, jobs: new RecordingJobs() });
    const nodes = await eachNode(redis.connect() as Cluster);
    expect(nodes).toHaveLength(6);
    const heard = nodes.map(() => [] as string[]);
    await Promise.all(
      nodes.map(async ({ node }, i) => {
        const subscriber = node.duplicate();
        plain.push(subscriber);
        subscriber.on('message', (_channel: string, id: string) => heard[i]!.push(id));
        await subscriber.subscribe(store.endedChannel());
      }),
    );
    const { crawl } = await store.create({ url: START, options: options() });
    await store.settle(crawl.id, page(START));
    expect((await store.get(crawl.id))?.status).toBe('completed');
    await expect.poll(() => heard.map((ids) => ids.join(' ')), { timeout: 10_000 }).toEqual(nodes.map(() => crawl.id));
  });
});
