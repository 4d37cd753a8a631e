// options.urls: more start URLs, all at depth 0; the crawl's scope is the
// union of their scopes, and the sitemap is seeded from the first (`url`) only.
import { useRedis } from '@crawlstream/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

const LINKS: Record<string, string[]> = {
  '/a/': ['/a/1', '/b/', '/c/x'],
  '/a/1': ['/b/2', '/c/y'],
  '/b/': ['/b/2', '/c/z', '/a/'],
  '/b/2': ['/c/'],
};
const SITEMAP = ['/a/s', '/b/s', '/c/s'];
const requests: string[] = [];
const site = useLoopbackServer((req, res) => {
  const target = req.url ?? '/';
  requests.push(target);
  if (target === '/sitemap.xml') {
    const entries = SITEMAP.map((path) => `<url><loc>${site.origin}${path}</loc></url>`).join('');
    res.writeHead(200, { 'content-type': 'application/xml' }).end(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${entries}</urlset>`);
    return;
  }
  const anchors = (LINKS[target] ?? []).map((href) => `<a href="${href}">${href}</a>`).join('');
  res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><head><title>${target}</title></head><body><main>${anchors}</main></body></html>`);
});

describe('more start URLs (options.urls)', () => {
  let w: CrawlWorker | undefined;
  afterEach(async () => {
    await w?.close();
    requests.length = 0;
  });

  it('crawls under /a/ and /b/ with scope prefix, never /c/; seeds the sitemap once, from the first start URL', async () => {
    const redis = useRedis('wu');
    w = await createCrawlWorker(testWorkerOptions(redis));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/a/`, {
      urls: [`${site.origin}/b/`],
      scope: 'prefix',
      respectRobotsTxt: false,
      useSitemap: true,
    });
    const done = await waitForEnd(store, crawl.id);
    const expected = ['/a/', '/a/1', '/a/s', '/b/', '/b/2', '/b/s'];
    expect(done).toMatchObject({ status: 'completed', counters: { processed: expected.length, failed: 0, skipped: 0 } });
    const pages = (await store.pages(crawl.id, 0, 100)).items;
    expect(pages.map((page) => page.url.slice(site.origin.length)).sort()).toEqual(expected);
    expect(pages.filter((page) => page.depth === 0).map((page) => page.url.slice(site.origin.length)).sort()).toEqual(['/a/', '/b/']);
    expect(requests.filter((path) => path.startsWith('/c/'))).toEqual([]);
    expect(requests.filter((path) => path === '/sitemap.xml')).toHaveLength(1);
  });
});
