// Limits a crawl's pages are held to, end to end through a real worker and
// Redis: links kept per page and the budget of body bytes in flight.
import { MAX_LINKS_PER_PAGE } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, waitForEnd, testWorkerOptions } from './test-support/crawl.js';
import { type Site, startSite } from './test-support/site.js';

let site: Site;
beforeAll(async () => {
  site = await startSite({
    pages: 30,
    route(path, res) {
      if (path.startsWith('/docs/cap/link/')) {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<title>Linked</title><p>linked</p>');
        return true;
      }
      const cap = /^\/docs\/cap\/(\d+)$/.exec(path);
      if (!cap) return false;
      const anchors = Array.from({ length: Number(cap[1]) }, (_, i) => `<a href=/docs/cap/link/${i}>x</a>`).join('');
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html><head><title>Cap</title></head><body>${anchors}</body></html>`);
      return true;
    },
  });
});
afterAll(() => site.close());

const workers: CrawlWorker[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
});

async function worker(redis: ReturnType<typeof useRedis>, extra: Partial<Parameters<typeof createCrawlWorker>[0]> = {}) {
  const w = await createCrawlWorker(testWorkerOptions(redis, extra));
  workers.push(w);
  return w;
}

describe('links kept per page', () => {
  it.each([
    [MAX_LINKS_PER_PAGE, undefined],
    [MAX_LINKS_PER_PAGE + 1, 1],
  ])('a page with %i distinct in-scope links is stored with linksDropped %s', async (links, dropped) => {
    const redis = useRedis('wl');
    await worker(redis);
    const start = `${site.origin}/docs/cap/${links}`;
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, start, {
      scope: 'origin',
      maxPages: 3,
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { discovered: 3, processed: 3 } });
    const stored = (await store.pages(crawl.id, 0, 10)).items.find((p) => p.url === start)!;
    expect(stored.linksDropped).toBe(dropped);
  });
});

describe('bytes in flight', () => {
  it('reserves at most the budget at once, and every page still completes', async () => {
    const slow = await startSite({ pages: 30, latencyMs: 50 });
    const redis = useRedis('wb');
    const maxBytes = 64 * 1024;
    // Room for two pages, with eight worker slots and eight pages of the crawl in flight.
    const w = await worker(redis, { maxBytesInFlight: 2 * maxBytes });
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, slow.start, {
      maxPages: 30,
      maxBytes,
      concurrency: 8,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { discovered: 30, processed: 30 } });
    // The last page releases its bytes just after its settle completed the crawl.
    await expect.poll(() => w.budget.stats(), { timeout: 5_000 }).toMatchObject({ reserved: 0, waiting: 0 });
    const stats = w.budget.stats();
    expect(stats.peak).toBeLessThanOrEqual(2 * maxBytes);
    expect(stats.waited).toBeGreaterThan(0); // pages did queue for room
    await slow.close();
  });
});
