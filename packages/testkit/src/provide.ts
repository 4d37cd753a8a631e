// Where integration tests get their Redis, in this order: with
// REDIS_TEST_CLUSTER=1, a Redis Cluster (REDIS_TEST_CLUSTER_URL, the seed list
// of a running one, else a private one; REDIS_URL is not used); REDIS_URL; a Testcontainers Redis when a
// Docker engine answers; a private redis-server from PATH; otherwise a
// failure that says how to get one.
import {
  findRedisServer,
  HOW_TO_GET_REDIS,
  type RedisCluster,
  type RedisServer,
  startRedisCluster,
  startRedisServer,
} from '@crawlstream/redis-runner';

export type RedisSource = 'REDIS_URL' | 'testcontainers' | 'redis-server' | 'redis-cluster' | 'REDIS_TEST_CLUSTER_URL';

export interface ProvidedRedis {
  /** A URL, or for a cluster its seed nodes, comma-separated. */
  url: string;
  source: RedisSource;
  /** A Redis Cluster: connect with REDIS_CLUSTER=true semantics. */
  cluster: boolean;
  stop(): Promise<void>;
}

export interface ProvideDeps {
  env: Record<string, string | undefined>;
  /** Starts a container Redis, or returns undefined when no engine answers. */
  startContainer(): Promise<ProvidedRedis | undefined>;
  findBinary(): string | undefined;
  startServer(): Promise<RedisServer>;
  startCluster(): Promise<RedisCluster>;
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
    cluster: false,
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
  startCluster: () => startRedisCluster(),
};

export async function provideRedis(deps: Partial<ProvideDeps> = {}): Promise<ProvidedRedis> {
  const { env, startContainer, findBinary, startServer, startCluster } = { ...defaultDeps, ...deps };
  const fromEnv = env.REDIS_URL?.trim();
  if (env.REDIS_TEST_CLUSTER === '1') {
    const seeds = env.REDIS_TEST_CLUSTER_URL?.trim();
    if (seeds) return { url: seeds, source: 'REDIS_TEST_CLUSTER_URL', cluster: true, stop: async () => {} };
    if (!findBinary()) throw new Error(`REDIS_TEST_CLUSTER=1 needs redis-server and redis-cli on PATH, or REDIS_TEST_CLUSTER_URL naming a running cluster. ${HOW_TO_GET_REDIS}`);
    const cluster = await startCluster();
    return { url: cluster.url, source: 'redis-cluster', cluster: true, stop: () => cluster.stop() };
  }
  if (fromEnv) return { url: fromEnv, source: 'REDIS_URL', cluster: false, stop: async () => {} };

  const container = await startContainer();
  if (container) return container;

  if (findBinary()) {
    const server = await startServer();
    return { url: server.url, source: 'redis-server', cluster: false, stop: () => server.stop() };
  }
  throw new Error(
    `Integration tests need a real Redis and none was found (no REDIS_URL, no Docker engine, no redis-server on PATH). ${HOW_TO_GET_REDIS}`,
  );
}
