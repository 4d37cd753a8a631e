import { useRedis } from '@crawlstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, waitForEnd, testWorkerOptions } from './test-support/crawl.js';
import { type Site, startSite } from './test-support/site.js';

let site: Site;
beforeAll(async () => {
  site = await startSite({ pages: 30, orphans: 3 });
});
afterAll(() => site.close());

async function worker(redis: ReturnType<typeof useRedis>, extra: Partial<Parameters<typeof createCrawlWorker>[0]> = {}) {
  return createCrawlWorker(testWorkerOptions(redis, extra));
}

describe('crawl worker', () => {
  let w: CrawlWorker | undefined;
  afterAll(async () => {
    await w?.close();
  });

  it('crawls a docs site: every page once, robots and sitemap honoured, counters add up', async () => {
    const redis = useRedis('w');
    w = await worker(redis);
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, site.start, { maxPages: 100, maxDepth: 5 });
    const done = await waitForEnd(store, crawl.id);
    expect(done.status).toBe('completed');
    const pages = await store.pages(crawl.id, 0, 1000);
    const urls = pages.items.map((p) => p.url).sort();
    const expected = site.pageUrls.sort();
    expect(urls).toEqual(expected); // 30 linked pages + 3 only in the sitemap, each once
    expect(done.counters.processed).toBe(expected.length);
    const { discovered, processed, failed, skipped } = done.counters;
    expect(discovered).toBe(processed + failed + skipped);
    expect(site.hits.get('/robots.txt')).toBe(1); // fetched once for the crawl
    const first = pages.items.find((p) => p.url === site.start)!;
    expect(first.markdown).toContain('# Page 0');
    expect(first.markdown).toContain('```');
    expect(first.markdown).not.toContain('footer');
    await w.close();
    w = undefined;
  });

  it('settles every hostile page with the right reason, and the crawl completes', async () => {
    const redis = useRedis('w');
    w = await worker(redis);
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/h/`, {
      maxPages: 60,
      maxDepth: 2,
      timeoutMs: 1_000,
      maxBytes: 1_000_000,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done.status).toBe('completed');
    const errors = await store.errors(crawl.id);
    const reasonOf = (path: string) => errors.find((e) => e.url === `${site.origin}/docs/h/${path}`)?.reason;
    expect(reasonOf('loop-a')).toBe('redirect_loop');
    expect(reasonOf('r0')).toBe('too_many_redirects');
    expect(reasonOf('out')).toBe('redirect_out_of_scope');
    expect(reasonOf('drip')).toBe('timeout');
    expect(reasonOf('big')).toBe('too_large');
    expect(reasonOf('png')).toBe('not_html');
    expect(reasonOf('missing')).toBe('http_4xx');
    // Linked from a page of a host whose robots.txt the worker had: rejected (not taken), never fetched.
    const rejected = (await store.rejectedPage(crawl.id, 0, 100)).items;
    expect(rejected.find((r) => r.url === `${site.origin}/docs/h/private/secret`)).toMatchObject({ reason: 'robots' });
    expect(site.hits.get('/docs/h/private/secret')).toBeUndefined();
    const stored = (await store.pages(crawl.id, 0, 1000)).items.map((p) => p.url);
    for (const ok of ['malformed', 'flaky', 'busy', 'many']) expect(stored, JSON.stringify(errors)).toContain(`${site.origin}/docs/h/${ok}`);
    expect(site.hits.get('/docs/h/flaky')).toBe(2); // 500, then retried
    expect(site.hits.get('/docs/h/busy')).toBe(2); // 429 + Retry-After, then retried
    expect(site.hits.get('/docs/h/drip')).toBe(4); // a timeout is retried up to the attempt limit
    const { discovered, processed, failed, skipped } = done.counters;
    expect(discovered).toBe(60); // maxPages, although the page with 10,000 links offered more
    expect(discovered).toBe(processed + failed + skipped);
    await w.close();
    w = undefined;
  });

  it('refuses a private address outside SSRF_ALLOW, checked on the address connected to', async () => {
    const redis = useRedis('w');
    w = await worker(redis);
    // 127.0.0.2 is loopback too, but only 127.0.0.1/32 is allowed.
    const blocked = site.origin.replace('127.0.0.1', '127.0.0.2');
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${blocked}/docs/`, {
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { discovered: 1, failed: 1 } });
    expect((await store.errors(crawl.id))[0]).toMatchObject({ reason: 'ssrf_blocked' });
    await w.close();
    w = undefined;
  });

  it('keeps delayMs between requests to a host across workers, with waiting jobs delayed rather than holding a slot', async () => {
    const redis = useRedis('w');
    const polite = await startSite({ pages: 6 });
    const workers = [await worker(redis), await worker(redis)];
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, polite.start, {
      delayMs: 250,
      useSitemap: false,
    });
    let sawDelayed = false;
    const queue = workers[0]!.queue;
    for (;;) {
      if ((await queue.getDelayedCount()) > 0) sawDelayed = true;
      const now = await store.get(crawl.id);
      if (now!.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await store.get(crawl.id))!.counters.processed).toBe(6);
    expect(sawDelayed).toBe(true);
    // Every page request waits for its slot; slots start after robots.txt and are 250 ms apart.
    const robotsAt = polite.log.find((r) => r.path === '/robots.txt')!.at;
    const pageTimes = polite.log.filter((r) => r.path.startsWith('/docs/')).map((r) => r.at);
    expect(pageTimes).toHaveLength(6);
    expect(Math.max(...pageTimes) - robotsAt).toBeGreaterThanOrEqual(5 * 250 - 5);
    await Promise.all(workers.map((w) => w.close()));
    await polite.close();
  });

  it('fetches nothing more once a crawl is cancelled', async () => {
    const redis = useRedis('w');
    const slow = await startSite({ pages: 200, latencyMs: 50 });
    w = await worker(redis, { concurrency: 2 });
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, slow.start, { maxPages: 200, concurrency: 2 });
    await expect.poll(async () => (await store.counters(crawl.id)).processed, { timeout: 20_000 }).toBeGreaterThan(3);
    await store.cancel(crawl.id);
    await new Promise((resolve) => setTimeout(resolve, 300)); // in-flight pages end
    const requests = [...slow.hits.values()].reduce((a, b) => a + b, 0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect([...slow.hits.values()].reduce((a, b) => a + b, 0)).toBe(requests);
    expect((await store.get(crawl.id))!.status).toBe('cancelled');
    await w.close();
    w = undefined;
    await slow.close();
  });

  it('a worker stopped mid-robots.txt stores nothing and hands the page back: the next worker fetches robots.txt at once', async () => {
    // The first robots.txt request never gets an answer. Fails without the
    // abort check (the cut fetch was stored as "unreachable": disallow all, the
    // page skipped as robots) and without the unlock (the next worker waits for
    // the 30 s robots lock: past the bound below).
    let parked = false;
    const route = (path: string, res: import('node:http').ServerResponse) => {
      if (path !== '/robots.txt') return false;
      if (!parked) {
        parked = true;
        return true;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('User-agent: *\nAllow: /\n');
      return true;
    };
    const robotsSite = await startSite({ pages: 1, route });
    const redis = useRedis('w');
    const stopping = await worker(redis, { closeTimeoutMs: 300 });
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, robotsSite.start, { maxPages: 1, useSitemap: false });
    await expect.poll(() => robotsSite.hits.get('/robots.txt') ?? 0, { timeout: 10_000 }).toBe(1);
    const next = await worker(redis);
    await stopping.close();
    const closedAt = Date.now();
    const done = await waitForEnd(store, crawl.id, 30_000);
    expect(Date.now() - closedAt).toBeLessThan(10_000);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: 1, skipped: 0 } });
    expect(robotsSite.hits.get('/robots.txt')).toBe(2);
    await next.close();
    await robotsSite.close();
  });
});
