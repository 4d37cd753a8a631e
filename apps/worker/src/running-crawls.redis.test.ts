import { crawlOptionsSchema } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RunningCrawls } from './running-crawls.js';
import { crawlStore } from './test-support/crawl.js';

const START = 'http://127.0.0.1:9/docs/';

/** A store on the test's Redis whose status reads are counted. */
async function setup() {
  const redis = useRedis('rc');
  const store = crawlStore(redis.connect(), redis.prefix);
  const reads = { count: 0 };
  const status = store.status.bind(store);
  store.status = (id: string) => {
    reads.count++;
    return status(id);
  };
  const { crawl } = await store.create({ url: START, options: crawlOptionsSchema().parse({}) });
  return { redis, store, reads, id: crawl.id };
}

describe('running crawls, as a worker knows them', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('trusts a crawl seen running for RUNNING_CACHE_MS without reading Redis, and reads it again at the limit', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { store, reads, id } = await setup();
    // Not listening to the ended channel: only the age bounds what it believes.
    const running = new RunningCrawls(store, { maxAgeMs: 1_000 });
    vi.setSystemTime(1_000_000);
    expect(await running.isRunning(id)).toBe(true);
    expect(reads.count).toBe(1);
    await store.cancel(id);
    vi.setSystemTime(1_000_000 + 999);
    expect(await running.isRunning(id)).toBe(true); // trusted, not read
    expect(reads.count).toBe(1);
    vi.setSystemTime(1_000_000 + 1_000);
    expect(await running.isRunning(id)).toBe(false); // read again: cancelled
    expect(reads.count).toBe(2);
    // Known ended for good: no more reads.
    expect(await running.isRunning(id)).toBe(false);
    expect(reads.count).toBe(2);
  });

  it('knows at once that a crawl ended when its end is announced, long before the age bound', async () => {
    const { redis, store, reads, id } = await setup();
    const running = new RunningCrawls(store, { maxAgeMs: 3_600_000 });
    const subscriber = redis.connect();
    await running.listen(subscriber);
    expect(await running.isRunning(id)).toBe(true);
    await store.cancel(id);
    await expect.poll(() => running.isRunning(id)).toBe(false);
    expect(reads.count).toBe(1);
  });

  it('remembers at most maxEntries crawls of each kind, and reads a forgotten one again', async () => {
    const { store, reads, id } = await setup();
    const other = (await store.create({ url: START, options: crawlOptionsSchema().parse({}) })).crawl.id;
    const running = new RunningCrawls(store, { maxAgeMs: 3_600_000, maxEntries: 1 });
    expect(await running.isRunning(id)).toBe(true);
    expect(await running.isRunning(id)).toBe(true);
    expect(reads.count).toBe(1); // at the limit: remembered
    expect(await running.isRunning(other)).toBe(true); // one past it: the oldest goes
    expect(await running.isRunning(id)).toBe(true);
    expect(reads.count).toBe(3);
  });
});
