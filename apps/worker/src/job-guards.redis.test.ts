// What a worker refuses to fetch: page jobs that are malformed or outside
// their crawl's scope (anyone with the queue board can add jobs), and sitemap
// files on other hosts named by robots.txt or a sitemap index.
import { createPageQueue } from '@crawlstream/jobs';
import { PAGES_PER_JOB } from '@crawlstream/shared';
import { useRedis, redisCluster } from '@crawlstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, waitForEnd } from './test-support/crawl.js';
import { type Site, startSite } from './test-support/site.js';

let site: Site;
/** A second host on a loopback alias: nothing may ever reach it. */
let other: Site;
beforeAll(async () => {
  other = await startSite({ pages: 3, host: '127.0.0.2' });
  site = await startSite({
    pages: 3,
    route(path, res, origin) {
      const xml = (body: string) => {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(`<?xml version="1.0"?>${body}`);
        return true;
      };
      if (path === '/robots.txt') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`User-agent: *\nSitemap: ${other.origin}/sitemap.xml\nSitemap: ${origin}/maps/index.xml\n`);
        return true;
      }
      if (path === '/maps/index.xml') {
        return xml(
          `<sitemapindex><sitemap><loc>${other.origin}/maps/child.xml</loc></sitemap><sitemap><loc>${origin}/maps/child.xml</loc></sitemap></sitemapindex>`,
        );
      }
      // On the start URL's origin though outside the crawl's /docs/ prefix: read.
      if (path === '/maps/child.xml') return xml(`<urlset><url><loc>${origin}/docs/orphan0.html</loc></url></urlset>`);
      return false;
    },
    orphans: 1,
  });
});
afterAll(async () => {
  await site.close();
  await other.close();
});

const workers: CrawlWorker[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
});

async function worker(redis: ReturnType<typeof useRedis>, ssrfAllow = ['127.0.0.1/32']) {
  const w = await createCrawlWorker({ redisUrl: redis.url, redisCluster: redisCluster(), prefix: redis.prefix, concurrency: 4, ssrfAllow, retryBaseMs: 50 });
  workers.push(w);
  return w;
}

describe('page jobs from the queue', () => {
  it('fetch nothing for a malformed job or a URL outside the crawl, and the crawl completes', async () => {
    const redis = useRedis('wj');
    const connection = redis.connect();
    const { store, crawl } = await startCrawl(connection, redis.prefix, site.start, { useSitemap: false });
    const queue = createPageQueue(connection, redis.prefix);
    // As the queue board would add them, before any worker runs.
    const invalid = await queue.add('page', { crawlId: 42, url: `${site.origin}/docs/p1.html?invalid` } as never, {
      jobId: 'by-hand-invalid',
      removeOnFail: false,
    });
    await queue.add('page', { crawlId: crawl.id, url: `${site.origin}/secret/by-hand`, depth: 0 }, { jobId: 'by-hand-out' });
    await queue.add('page', { crawlId: 'no-such-crawl', url: `${site.origin}/docs/p2.html?nocrawl`, depth: 0 }, { jobId: 'by-hand-nocrawl' });
    // Jobs of several URLs: PAGES_PER_JOB of them is a job (of URLs the crawl does not know: settles that change nothing);
    // one more is refused whole, unfetched.
    const many = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => ({ url: `${site.origin}/docs/${tag}-${i}.html`, depth: 1 }));
    const full = await queue.add('page', { crawlId: crawl.id, pages: many(PAGES_PER_JOB, 'full') }, { jobId: 'by-hand-full', removeOnComplete: false });
    const over = await queue.add('page', { crawlId: crawl.id, pages: many(PAGES_PER_JOB + 1, 'over') }, { jobId: 'by-hand-over', removeOnFail: false });
    // A URL the crawl knows (claimed) but that is out of its scope: settled without a fetch.
    const claimed = await store.claim(crawl.id, 'by-hand', 1, [`${site.origin}/secret/known`]);
    expect(claimed).toMatchObject({ result: 'claimed', accepted: [`${site.origin}/secret/known`] });

    await worker(redis);
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: 3, skipped: 1, failed: 0 } });
    expect(await store.errors(crawl.id)).toEqual([
      { url: `${site.origin}/secret/known`, kind: 'skipped', reason: 'out_of_scope', message: "outside the crawl's scope" },
    ]);
    await expect.poll(() => queue.getJobState(invalid.id!)).toBe('failed');
    const failed = await queue.getJob(invalid.id!);
    expect(failed?.failedReason).toMatch(/^invalid page job: crawlId: .*; depth: /);
    expect(failed?.attemptsMade).toBe(1); // not retried
    await expect.poll(() => queue.getJobState(full.id!)).toBe('completed');
    await expect.poll(() => queue.getJobState(over.id!)).toBe('failed');
    expect((await queue.getJob(over.id!))?.failedReason).toMatch(/^invalid page job: pages: /);
    expect(site.log.filter((r) => r.path.startsWith('/docs/over-'))).toEqual([]);
    expect(site.log.filter((r) => r.path.startsWith('/docs/full-'))).toHaveLength(PAGES_PER_JOB);
    for (const path of ['/secret/by-hand', '/secret/known']) expect(site.hits.get(path)).toBeUndefined();
    const queries = site.log.filter((r) => r.path === '/docs/p1.html' || r.path === '/docs/p2.html');
    expect(queries).toHaveLength(2); // each once, by the crawl itself
    await queue.close();
  });
});

describe('sitemaps', () => {
  it('reads only sitemap files on the start URL origin or in scope, never another host robots.txt or an index names', async () => {
    const redis = useRedis('ws');
    // 127.0.0.2 is allowed here, so only the sitemap rule keeps the worker away from it.
    await worker(redis, ['127.0.0.1/32', '127.0.0.2/32']);
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, site.start, {});
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: 4, failed: 0 } });
    expect(site.hits.get('/maps/index.xml')).toBe(1);
    expect(site.hits.get('/maps/child.xml')).toBe(1);
    expect(site.hits.get('/docs/orphan0.html')).toBe(1); // found only through the same-origin sitemap
    expect([...other.hits.keys()]).toEqual([]);
  });
});
