// Where integration tests get their Redis, in this order: REDIS_URL; a
// Testcontainers Redis when a Docker engine answers; a private redis-server
// from PATH; otherwise a failure that says how to get one.
import {
  findRedisServer,
  HOW_TO_GET_REDIS,
  type RedisServer,
  startRedisServer,
} from '@crawlstream/redis-runner';

export type RedisSource = 'REDIS_URL' | 'testcontainers' | 'redis-server';

export interface ProvidedRedis {
  url: string;
  source: RedisSource;
  stop(): Promise<void>;
}

export interface ProvideDeps {
  env: Record<string, string | undefined>;
  /** Starts a container Redis, or returns undefined when no engine answers. */
  startContainer(): Promise<ProvidedRedis | undefined>;
  findBinary(): string | undefined;
  startServer(): Promise<RedisServer>;
}

export async function startContainerRedis(): Promise<ProvidedRedis | undefined> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
  } catch {
    return undefined;
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7.4-alpine').start();
  return {
    url: container.getConnectionUrl(),
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
}

const defaultDeps: ProvideDeps = {
  env: process.env,
  startContainer: startContainerRedis,
  findBinary: () => findRedisServer(),
  startServer: () => startRedisServer(),
};

export async function provideRedis(deps: Partial<ProvideDeps> = {}): Promise<ProvidedRedis> {
  const { env, startContainer, findBinary, startServer } = { ...defaultDeps, ...deps };
  const fromEnv = env.REDIS_URL?.trim();
  if (fromEnv) return { url: fromEnv, source: 'REDIS_URL', stop: async () => {} };

  const container = await startContainer();
  if (container) return container;

  if (findBinary()) {
    const server = await startServer();
    return { url: server.url, source: 'redis-server', stop: () => server.stop() };
  }
  throw new Error(
    `Integration tests need a real Redis and none was found (no REDIS_URL, no Docker engine, no redis-server on PATH). ${HOW_TO_GET_REDIS}`,
  );
}
