// Test fixtures: a CrawlStore on the run's real Redis under a prefix of its own.
import { crawlOptionsSchema, type CrawlOptionsInput, type EventOf } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import type { Redis } from 'ioredis';
import { CrawlStore, type CrawlStoreOptions } from '../crawl-store.js';
import { type EventFrame, parseFrame } from '../frames.js';

export function testStore(overrides: Partial<CrawlStoreOptions> = {}) {
  const redis = useRedis('p');
  const connection = redis.connect();
  const store = new CrawlStore({ redis: connection, prefix: redis.prefix, ...overrides });
  /** Another store on its own connection, sharing the prefix (another process, in effect). */
  const another = (): CrawlStore =>
    new CrawlStore({ redis: redis.connect(), prefix: redis.prefix, ...overrides });
  return { store, another, redis, connection };
}

export function options(input: CrawlOptionsInput = {}) {
  return crawlOptionsSchema().parse(input);
}

/** Every stored event of a crawl, in order. */
export function allEvents(store: CrawlStore, id: string): Promise<EventFrame[]> {
  return store.readAll(id);
}

export function ofType<T extends EventFrame['type']>(frames: EventFrame[], type: T): EventOf<T>[] {
  return frames.filter((f) => f.type === type).map((f) => parseFrame(f) as EventOf<T>);
}

export async function ttlOfAllKeys(redis: Redis, store: CrawlStore, id: string): Promise<number[]> {
  const keys = Object.entries(store.keys(id))
    .filter(([name]) => name !== 'wake')
    .map(([, key]) => key);
  const ttls: number[] = [];
  for (const key of keys) if (await redis.exists(key)) ttls.push(await redis.ttl(key));
  return ttls;
}
