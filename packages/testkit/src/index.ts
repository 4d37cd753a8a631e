// Test helpers for real Redis: the run's Redis, a key prefix no other test
// shares, tracked connections, and extra private servers for fault tests.
// Everything opened here is closed (and every key written under the prefix
// deleted) after the test file.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { type RedisServer, type RedisServerOptions, startRedisServer } from '@crawlstream/redis-runner';
import { connectRedis, type ConnectOptions, type RedisConnection } from '@crawlstream/redis-connection';
import type { Cluster } from 'ioredis';
import { afterAll, inject } from 'vitest';

export { provideRedis, type ProvidedRedis, type RedisSource } from './provide.js';

/** The Redis URL of this test run (see global-setup). */
export function redisUrl(): string {
  const url = inject('redisUrl');
  if (!url) throw new Error('no Redis: add @crawlstream/testkit/global-setup to globalSetup');
  return url;
}

export function redisSource(): string {
  return inject('redisSource');
}

/** Whether this run's Redis is a Redis Cluster (REDIS_TEST_CLUSTER=1): `redisUrl()` is then its seed list. */
export function redisCluster(): boolean {
  return inject('redisCluster') ?? false;
}

/** The run's Redis as processes are configured for it (REDIS_URL, REDIS_CLUSTER). */
export function redisEnv(): { REDIS_URL: string; REDIS_CLUSTER: string } {
  return { REDIS_URL: redisUrl(), REDIS_CLUSTER: String(redisCluster()) };
}

/** A key prefix unique to one test: tests never see each other's keys. */
export function uniquePrefix(label = 't'): string {
  return `${label}${randomBytes(6).toString('hex')}`;
}

const clients = new Set<RedisConnection>();
const prefixes = new Set<{ url: string; cluster: boolean; prefix: string }>();
const servers = new Set<RedisServer>();

/** The run's Redis is a cluster and `url` is the run's: connect as to a cluster. */
function isRunCluster(url: string): boolean {
  return redisCluster() && url === redisUrl();
}

/**
 * A connection closed after the file: to the run's Redis (a `Cluster` when
 * the run's Redis is a cluster), or to `url` (one server).
 */
export function connect(url: string = redisUrl(), options: ConnectOptions = {}): RedisConnection {
  const client = connectRedis({ url, cluster: isRunCluster(url) }, { maxRetriesPerRequest: 3, ...options });
  clients.add(client);
  return client;
}

export interface TestRedis {
  url: string;
  /** `url` names the seed nodes of a Redis Cluster. */
  cluster: boolean;
  prefix: string;
  /** A new tracked connection. */
  connect(options?: ConnectOptions): RedisConnection;
}

/** A Redis namespace for one test or file; its keys are deleted afterwards. */
export function useRedis(label = 't', url: string = redisUrl()): TestRedis {
  const prefix = uniquePrefix(label);
  const cluster = isRunCluster(url);
  prefixes.add({ url, cluster, prefix });
  return { url, cluster, prefix, connect: (options) => connect(url, options) };
}

/** An extra private redis-server (for restarts, kill -9, AOF), stopped after the file. */
export async function startExtraRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await startRedisServer(options);
  servers.add(server);
  return server;
}

/**
 * Every key matching `pattern`: SCAN walks one server, so on a cluster it
 * walks every master (a key lives on one master).
 */
export async function scanKeys(connection: RedisConnection, pattern: string): Promise<string[]> {
  if (connection.isCluster && connection.status !== 'ready') await new Promise((resolve) => connection.once('ready', resolve));
  const nodes = connection.isCluster ? (connection as Cluster).nodes('master') : [connection];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
  }
  return found;
}

async function deleteByPrefix(url: string, cluster: boolean, prefix: string): Promise<void> {
  const client = connectRedis({ url, cluster }, { maxRetriesPerRequest: 1 });
  try {
    // Our keys start with the prefix; BullMQ's with `{${prefix}-queue}` (shard 0) or `{${prefix}-queue-<i>…}`.
    for (const pattern of [`${prefix}*`, `{${prefix}-queue}*`, `{${prefix}-queue-*`]) {
      const keys = await scanKeys(client, pattern);
      // One key per command: on a cluster the keys span slots.
      await Promise.all(keys.map((key) => client.unlink(key)));
    }
  } finally {
    client.disconnect();
  }
}

afterAll(async () => {
  await Promise.allSettled([...clients].map((client) => client.quit().catch(() => client.disconnect())));
  clients.clear();
  await Promise.allSettled([...prefixes].map(({ url, cluster, prefix }) => deleteByPrefix(url, cluster, prefix)));
  prefixes.clear();
  await Promise.allSettled([...servers].map((server) => server.stop()));
  servers.clear();
});

/** A loopback port nothing listens on (bound, then released), for "API unreachable" cases. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
