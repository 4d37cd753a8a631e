import { findRedisServer } from '@crawlstream/redis-runner';
import { describe, expect, it } from 'vitest';
import { redisSource, startExtraRedis, useRedis } from './index.js';

describe('the run Redis', () => {
  it('is real and answers', async () => {
    const redis = useRedis().connect();
    expect(await redis.ping()).toBe('PONG');
    const info = await redis.info('server');
    expect(info).toMatch(/redis_version:\d+/);
  });

  it('comes from a private redis-server when there is no REDIS_URL and no Docker engine', () => {
    if (process.env.REDIS_URL || !findRedisServer()) return;
    expect(['testcontainers', 'redis-server']).toContain(redisSource());
  });

  it('gives every test its own prefix', async () => {
    const a = useRedis();
    const b = useRedis();
    expect(a.prefix).not.toBe(b.prefix);
    const client = a.connect();
    await client.set(`${a.prefix}:k`, 'a');
    await client.set(`${b.prefix}:k`, 'b');
    expect(await client.get(`${a.prefix}:k`)).toBe('a');
    expect(await client.keys(`${a.prefix}*`)).toEqual([`${a.prefix}:k`]);
  });

  it('starts extra private servers for fault tests', async () => {
    const extra = await startExtraRedis({ aof: true });
    const client = useRedis('x', extra.url).connect({ maxRetriesPerRequest: 0 });
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(extra.url).not.toBe(useRedis().url);
  });
});
