import { type RedisCluster, type RedisServer, startRedisCluster, startRedisServer } from '@crawlstream/redis-runner';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, type RedisConnection } from './index.js';

let server: RedisServer;
let cluster: RedisCluster;
const open: RedisConnection[] = [];
beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedisServer(), startRedisCluster()]);
});
afterAll(async () => {
  for (const connection of open) connection.disconnect();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

function connect(...args: Parameters<typeof connectRedis>): RedisConnection {
  const connection = connectRedis(...args);
  open.push(connection);
  return connection;
}

describe('connectRedis', () => {
  it('connects to one server with the options given', async () => {
    const redis = connect({ url: server.url, cluster: false }, { maxRetriesPerRequest: null });
    expect(redis).toBeInstanceOf(Redis);
    expect(redis.isCluster).toBe(false);
    await redis.set('k', 'v');
    expect(await redis.get('k')).toBe('v');
  });

  it('with cluster, reaches every master from one seed node, each node with the options given', async () => {
    const seed = cluster.nodes[0]!.url;
    const redis = connect({ url: seed, cluster: true }, { maxRetriesPerRequest: null, enableOfflineQueue: false });
    expect(redis).toBeInstanceOf(Cluster);
    expect(redis.isCluster).toBe(true);
    await new Promise((resolve) => redis.once('ready', resolve));
    // BullMQ's check for its blocking connections reads the nodes' options.
    expect((redis as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
    expect((redis as Cluster).options.enableOfflineQueue).toBe(false);
    for (let i = 0; i < 60; i++) await redis.set(`key${i}`, String(i));
    const perMaster = await Promise.all((redis as Cluster).nodes('master').map((node) => node.dbsize()));
    expect(perMaster).toHaveLength(3);
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect(await redis.get('key59')).toBe('59');
  });

  it('with cluster, takes a comma-separated list of seeds (spaces and empty items ignored)', async () => {
    const seeds = ` ${cluster.nodes[1]!.url}, ,${cluster.nodes[2]!.url} `;
    const redis = connect({ url: seeds, cluster: true });
    await redis.set('{t}a', '1');
    expect(await redis.get('{t}a')).toBe('1');
  });

  it('with cluster and shardedSubscribers, SSUBSCRIBE receives what a Lua script SPUBLISHes from the channel slot', async () => {
    const target = { url: cluster.url, cluster: true };
    const subscriber = connect(target, { shardedSubscribers: true });
    const publisher = connect(target);
    const received: string[] = [];
    subscriber.on('smessage', (channel: string, message: string) => received.push(`${channel} ${message}`));
    const channels = Array.from({ length: 6 }, (_, i) => `cs:{crawl${i}}:wake`);
    for (const channel of channels) await subscriber.ssubscribe(channel);
    for (const channel of channels) {
      await publisher.eval("redis.call('SET', KEYS[1], '1'); return redis.call('SPUBLISH', ARGV[1], 'hello')", 1, channel.replace(':wake', ':meta'), channel);
    }
    while (received.length < channels.length) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received.sort()).toEqual(channels.map((channel) => `${channel} hello`).sort());
  });
});
