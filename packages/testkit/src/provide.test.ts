import { describe, expect, it, vi } from 'vitest';
import { provideRedis } from './provide.js';

const server = () =>
  Promise.resolve({
    url: 'redis://127.0.0.1:1',
    port: 1,
    dir: '/tmp/x',
    pid: 1,
    stop: vi.fn(async () => {}),
    kill: async () => {},
    restart: async () => {},
  });

describe('where tests get Redis', () => {
  it('uses REDIS_URL first and starts nothing', async () => {
    const startContainer = vi.fn();
    const startServer = vi.fn();
    const redis = await provideRedis({
      env: { REDIS_URL: 'redis://10.0.0.9:6379' },
      startContainer,
      startServer,
      findBinary: () => '/usr/bin/redis-server',
    });
    expect(redis).toMatchObject({ source: 'REDIS_URL', url: 'redis://10.0.0.9:6379' });
    expect(startContainer).not.toHaveBeenCalled();
    expect(startServer).not.toHaveBeenCalled();
  });

  it('prefers a container when a Docker engine answers', async () => {
    const startServer = vi.fn(server);
    const redis = await provideRedis({
      env: {},
      startContainer: async () => ({ url: 'redis://c:1', source: 'testcontainers', cluster: false, stop: async () => {} }),
      startServer,
      findBinary: () => '/usr/bin/redis-server',
    });
    expect(redis.source).toBe('testcontainers');
    expect(startServer).not.toHaveBeenCalled();
  });

  it('falls back to a private redis-server', async () => {
    const redis = await provideRedis({
      env: {},
      startContainer: async () => undefined,
      startServer: server,
      findBinary: () => '/usr/bin/redis-server',
    });
    expect(redis.source).toBe('redis-server');
  });

  it('fails with a message that says how to get Redis', async () => {
    await expect(
      provideRedis({ env: {}, startContainer: async () => undefined, findBinary: () => undefined }),
    ).rejects.toThrow(/apt-get install -y redis-server/);
  });

  it('with REDIS_TEST_CLUSTER=1, starts a private Redis Cluster and hands out its seed list', async () => {
    const startServer = vi.fn(server);
    const redis = await provideRedis({
      // REDIS_URL is a single server's: not used for a cluster run.
      env: { REDIS_TEST_CLUSTER: '1', REDIS_URL: 'redis://10.0.0.9:6379' },
      startContainer: vi.fn(),
      startServer,
      startCluster: async () => ({
        nodes: [],
        url: 'redis://127.0.0.1:1,redis://127.0.0.1:2',
        cli: async () => '',
        stop: async () => {},
      }),
      findBinary: () => '/usr/bin/redis-server',
    });
    expect(redis).toMatchObject({ source: 'redis-cluster', cluster: true, url: 'redis://127.0.0.1:1,redis://127.0.0.1:2' });
    expect(startServer).not.toHaveBeenCalled();
  });

  it('with REDIS_TEST_CLUSTER=1 and REDIS_TEST_CLUSTER_URL, uses that running cluster', async () => {
    const startCluster = vi.fn();
    const redis = await provideRedis({ env: { REDIS_TEST_CLUSTER: '1', REDIS_TEST_CLUSTER_URL: 'redis://10.0.0.9:7000' }, startCluster });
    expect(redis).toMatchObject({ source: 'REDIS_TEST_CLUSTER_URL', cluster: true, url: 'redis://10.0.0.9:7000' });
    expect(startCluster).not.toHaveBeenCalled();
  });
});
