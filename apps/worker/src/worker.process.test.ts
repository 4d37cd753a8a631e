// Several worker processes on one crawl, as in production: exact counts, and
// nothing lost or counted twice when one of them is killed with SIGKILL or
// stopped with SIGTERM.
import type { ChildProcess } from 'node:child_process';
import { startExtraRedis, useRedis } from '@crawlstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCrawl, waitForEnd } from './test-support/crawl.js';
import { exited, launcher, mainJs, startProcess as start } from './test-support/processes.js';
import { type Site, startSite } from './test-support/site.js';

const children: ChildProcess[] = [];
const startProcess = (args: string[], env?: NodeJS.ProcessEnv) => start(children, args, env);

let site: Site;
beforeAll(async () => {
  site = await startSite({ pages: 2000, latencyMs: 2 });
});
afterAll(() => site.close());
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

const OPTIONS = { maxPages: 2000, maxDepth: 5, concurrency: 32, useSitemap: false };

describe('worker processes', () => {
  it('2 processes crawl 2,000 pages: processed = 2000 exactly, discovered = processed + failed + skipped', async () => {
    const redis = useRedis('wp');
    await Promise.all([1, 2].map(() => startProcess([launcher, redis.url, redis.prefix, '16'])));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, site.start, OPTIONS);
    const done = await waitForEnd(store, crawl.id, 180_000);
    expect(done).toMatchObject({ status: 'completed', counters: { discovered: 2000, processed: 2000, failed: 0, skipped: 0 } });
    const urls = new Set<string>();
    for (let offset = 0; offset !== null; ) {
      const batch = await store.pages(crawl.id, offset, 500);
      for (const page of batch.items) urls.add(page.url);
      if (batch.next === null) break;
      offset = batch.next;
    }
    expect(urls.size).toBe(2000);
  });

  it('one of 2 processes killed with SIGKILL halfway: the other finishes, every page counted once', async () => {
    const redis = useRedis('wk');
    const [victim] = await Promise.all([1, 2].map(() => startProcess([launcher, redis.url, redis.prefix, '16'])));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, site.start, OPTIONS);
    await expect.poll(async () => (await store.counters(crawl.id)).processed, { timeout: 120_000, interval: 50 }).toBeGreaterThanOrEqual(1000);
    victim!.kill('SIGKILL');
    const done = await waitForEnd(store, crawl.id, 180_000);
    expect(done).toMatchObject({ status: 'completed', counters: { discovered: 2000, processed: 2000, failed: 0, skipped: 0 } });
    expect((await store.pages(crawl.id, 0, 5000)).items).toHaveLength(2000);
  });

  it('SIGTERM: the worker stops taking jobs, hands back or finishes in-flight pages, and exits 0', async () => {
    // The real entry point, on a Redis of its own (it uses the default key prefix).
    const server = await startExtraRedis();
    const env = { ...process.env, REDIS_URL: server.url, SSRF_ALLOW: '127.0.0.1/32', WORKER_CONCURRENCY: '8', LOG_LEVEL: 'info' };
    const [first, second] = await Promise.all([startProcess([mainJs], env), startProcess([mainJs], env)]);
    const { store, crawl } = await startCrawl(useRedis('x', server.url).connect(), 'cs', site.start, { ...OPTIONS, maxPages: 600 });
    await expect.poll(async () => (await store.counters(crawl.id)).processed, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(100);
    first!.kill('SIGTERM');
    expect(await exited(first!)).toBe(0);
    const done = await waitForEnd(store, crawl.id, 120_000);
    expect(done).toMatchObject({ status: 'completed', counters: { discovered: 600, processed: 600, failed: 0 } });
    second!.kill('SIGTERM');
    expect(await exited(second!)).toBe(0);
  });
});
