// Test helpers for real Redis: the run's Redis, a key prefix no other test
import { createServer } from 'node:net';
// shares, tracked connections, and extra private servers for fault tests.
// Everything opened here is closed (and every key written under the prefix
// deleted) after the test file.
import { randomBytes } from 'node:crypto';
import { type RedisServer, type RedisServerOptions, startRedisServer } from '@crawlstream/redis-runner';
import { Redis, type RedisOptions } from 'ioredis';
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

/** A key prefix unique to one test: tests never see each other's keys. */
export function uniquePrefix(label = 't'): string {
  return `${label}${randomBytes(6).toString('hex')}`;
}

const clients = new Set<Redis>();
const prefixes = new Set<{ url: string; prefix: string }>();
const servers = new Set<RedisServer>();

/** An ioredis connection closed after the file. */
export function connect(url: string = redisUrl(), options: RedisOptions = {}): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 3, ...options });
  clients.add(client);
  return client;
}

export interface TestRedis {
  url: string;
  prefix: string;
  /** A new tracked connection. */
  connect(options?: RedisOptions): Redis;
}

/** A Redis namespace for one test or file; its keys are deleted afterwards. */
export function useRedis(label = 't', url: string = redisUrl()): TestRedis {
  const prefix = uniquePrefix(label);
  prefixes.add({ url, prefix });
  return { url, prefix, connect: (options) => connect(url, options) };
}

/** An extra private redis-server (for restarts, kill -9, AOF), stopped after the file. */
export async function startExtraRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await startRedisServer(options);
  servers.add(server);
  return server;
}

async function deleteByPrefix(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    // Our keys start with the prefix; BullMQ's with `{${prefix}-queue}`.
    for (const pattern of [`${prefix}*`, `{${prefix}-queue}*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await client.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}

afterAll(async () => {
  await Promise.allSettled([...clients].map((client) => client.quit().catch(() => client.disconnect())));
  clients.clear();
  await Promise.allSettled([...prefixes].map(({ url, prefix }) => deleteByPrefix(url, prefix)));
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
