// discoverOnly (map mode, #14) end to end: the same site crawled in full and
// in map mode reaches the same URLs, and a map crawl's pages carry url,
// title, depth, status, fetchedAt and rendered only, for a page extracted inline and
// one extracted in a thread (past INLINE_EXTRACT_MAX_CHARS).
import type { CrawlOptionsInput, PageResult } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { INLINE_EXTRACT_MAX_CHARS } from './page-extractor.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

const PAGES = 12;
const PADDING = `<!--${'x'.repeat(INLINE_EXTRACT_MAX_CHARS)}-->`;
/** Page i links to 2i+1 and 2i+2 (a tree, depth up to 3), to an external page and to a missing one; page 5 is big. */
function html(i: number): string {
  const links = [2 * i + 1, 2 * i + 2].filter((n) => n < PAGES).map((n) => `<a href="/docs/p${n}">P${n}</a>`);
  return `<!doctype html><html lang="en"><head><title>Page ${i}</title><meta name="description" content="About ${i}"></head><body>
<nav>${links.join(' ')} <a href="https://example.com/out">Out</a> <a href="/docs/missing">Missing</a></nav>
<main><h1>Heading ${i}</h1><p>Text of page ${i}.</p></main>${i === 5 ? PADDING : ''}</body></html>`;
}

const site = useLoopbackServer((req, res) => {
  const match = /^\/docs\/p(\d+)$/.exec(req.url ?? '');
  const i = match ? Number(match[1]) : req.url === '/docs/' ? 0 : -1;
  if (i >= 0 && i < PAGES) res.writeHead(200, { 'content-type': 'text/html', etag: '"e"' }).end(html(i));
  else res.writeHead(404).end();
});

describe('discoverOnly', () => {
  let w: CrawlWorker | undefined;
  afterEach(async () => {
    await w?.close();
  });

  async function crawl(options: CrawlOptionsInput): Promise<{ pages: PageResult[]; failed: string[] }> {
    const redis = useRedis('wmap');
    w = await createCrawlWorker(testWorkerOptions(redis, { extractThreads: 1 }));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/`, {
      respectRobotsTxt: false,
      useSitemap: false,
      maxDepth: 5,
      ...options,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done.status).toBe('completed');
    await w.close();
    w = undefined;
    const errors = await store.errors(crawl.id);
    return { pages: (await store.pages(crawl.id, 0, 100)).items, failed: errors.map((e) => e.url).sort() };
  }

  it('reaches the same URLs as a full crawl, and stores url, title, depth, status, fetchedAt and rendered only', async () => {
    expect(html(5).length).toBeGreaterThan(INLINE_EXTRACT_MAX_CHARS);
    const full = await crawl({});
    const map = await crawl({ discoverOnly: true });
    const urls = (pages: PageResult[]) => pages.map((page) => page.url).sort();
    expect(urls(map.pages)).toEqual(urls(full.pages));
    expect(map.pages).toHaveLength(PAGES);
    expect(map.failed).toEqual(full.failed);
    expect(map.failed).toEqual([`${site.origin}/docs/missing`]);
    const depthOf = (i: number) => Math.floor(Math.log2(i + 1));
    for (const page of map.pages) {
      const i = page.url === `${site.origin}/docs/` ? 0 : Number(page.url.split('/p').at(-1));
      expect(Object.keys(page).sort()).toEqual(['depth', 'fetchedAt', 'rendered', 'status', 'title', 'url']);
      expect(page).toMatchObject({ title: `Page ${i}`, depth: depthOf(i), status: 200 });
    }
    for (const page of full.pages) expect(page).toMatchObject({ markdown: expect.stringContaining('# Heading'), description: expect.any(String) });
  });
});
