import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ping, type RedisServer, startRedisServer } from './index.js';

const started: RedisServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.stop()));
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('private redis-server', () => {
  it('starts on a free port, answers, and leaves no process after stop', async () => {
    const server = await startRedisServer();
    expect(await ping(server.port)).toBe(true);
    const pid = server.pid;
    expect(alive(pid)).toBe(true);
    await server.stop();
    expect(alive(pid)).toBe(false);
    expect(await ping(server.port)).toBe(false);
  });

  it('keeps acknowledged writes across kill -9 when AOF is on', async () => {
    const server = await startRedisServer({ aof: true });
    started.push(server);
    const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    const policy = await client.config('GET', 'maxmemory-policy');
    expect(policy).toEqual(['maxmemory-policy', 'noeviction']);
    await client.set('survives', 'yes');
    // appendfsync everysec: wait for the fsync the guarantee is about.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    client.disconnect();
    await server.kill();
    expect(await ping(server.port)).toBe(false);
    await server.restart();
    const again = new Redis(server.url);
    expect(await again.get('survives')).toBe('yes');
    again.disconnect();
  });

  it('two servers are independent', async () => {
    const [a, b] = await Promise.all([startRedisServer(), startRedisServer()]);
    started.push(a, b);
    expect(a.port).not.toBe(b.port);
    const ca = new Redis(a.url);
    const cb = new Redis(b.url);
    await ca.set('k', 'a');
    expect(await cb.get('k')).toBeNull();
    ca.disconnect();
    cb.disconnect();
  });
});
