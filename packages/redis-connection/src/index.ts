// @crawlstream/redis-connection: the one way every process (API, worker,
// tests) connects to Redis. One server: an ioredis `Redis` on the URL. A Redis
// Cluster (REDIS_CLUSTER=true): an ioredis `Cluster` reached through seed
// nodes (REDIS_URL as a comma-separated list; one is enough), which follows
// the cluster's slot map, MOVED/ASK redirections and failovers by itself.
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A connection to the deployment's Redis, whichever kind it is: both speak every command we use. */
export type RedisConnection = Redis | Cluster;

export interface RedisTarget {
  /** One `redis://` URL, or with `cluster` a comma-separated list of seed nodes. */
  url: string;
  /** REDIS_CLUSTER: the URL names seed nodes of a Redis Cluster. */
  cluster: boolean;
}

export interface ConnectOptions extends RedisOptions {
  /**
   * Cluster only: SSUBSCRIBE through one subscriber connection per master
   * (ioredis' `shardedSubscribers`), for a connection that subscribes to
   * sharded channels (the stream hub's wake-ups).
   */
  shardedSubscribers?: boolean;
}

/** The seed nodes of a comma-separated REDIS_URL (empty items ignored). */
export function seedUrls(url: string): string[] {
  return url
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * A new connection. Every node of a cluster is reached with the first seed's
 * credentials and TLS setting (a cluster has one ACL and one TLS setup);
 * `enableOfflineQueue` applies to the cluster as a whole, every other option
 * to each node's connection (`maxRetriesPerRequest: null` for BullMQ's
 * blocking connections and for subscribers, as with one server).
 */
export function connectRedis(target: RedisTarget, options: ConnectOptions = {}): RedisConnection {
  const { shardedSubscribers, ...redisOptions } = options;
  if (!target.cluster) return new Redis(target.url, redisOptions);
  const seeds = seedUrls(target.url).map((seed) => new URL(seed));
  const first = seeds[0];
  if (!first) throw new Error('REDIS_URL names no seed node');
  const { enableOfflineQueue, ...nodeOptions } = redisOptions;
  const clusterOptions: ClusterOptions = {
    redisOptions: {
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
      ...nodeOptions,
    },
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(shardedSubscribers ? { shardedSubscribers: true } : {}),
  };
  return new Cluster(
    seeds.map((seed) => ({ host: seed.hostname, port: Number(seed.port || 6379) })),
    clusterOptions,
  );
}
