// options.dedupe on a fixture site: a page whose <link rel=canonical> names a
// stored page (or that a stored page names) and, with `content`, a page with
// the same markdown as a stored one are skipped as `duplicate`, not stored.
import type { DedupeMode } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

// Linked in this order from /docs/; the crawl runs one page at a time, so pages settle in it.
const PAGES: Record<string, { canonical?: string; body?: string; links?: string[] }> = {
  '/docs/': { links: ['/docs/a', '/docs/a-print', '/docs/old', '/docs/new', '/docs/b', '/docs/c'] },
  '/docs/a': { canonical: '/docs/a' },
  '/docs/a-print': { canonical: '/docs/a', links: ['/docs/from-print'] },
  '/docs/old': { canonical: '/docs/new' },
  '/docs/new': {},
  '/docs/b': { body: 'The very same words.' },
  '/docs/c': { body: 'The   very same\nwords.' },
  '/docs/from-print': {},
};
const site = useLoopbackServer((req, res) => {
  const path = req.url ?? '/';
  const found = PAGES[path];
  if (!found) return res.writeHead(404).end();
  const canonical = found.canonical ? `<link rel="canonical" href="${found.canonical}">` : '';
  const anchors = (found.links ?? []).map((href) => `<a href="${href}">${href}</a>`).join(' ');
  const body = found.body ?? `Page ${path}. ${anchors}`;
  res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><head><title>Same</title>${canonical}</head><body><main><p>${body}</p></main></body></html>`);
});

describe('dedupe', () => {
  let w: CrawlWorker | undefined;
  afterEach(async () => {
    await w?.close();
  });

  it.each<[string, DedupeMode[] | undefined, string[], Record<string, string>]>([
    ['default (canonical)', undefined, ['a', 'old', 'b', 'c'], { 'a-print': 'a', new: 'old' }],
    ['canonical and content', ['canonical', 'content'], ['a', 'old', 'b'], { 'a-print': 'a', new: 'old', c: 'b' }],
    ['none', [], ['a', 'a-print', 'old', 'new', 'b', 'c'], {}],
  ])('%s: stores the first of each set of duplicates, skips the others as duplicate of it', async (_name, dedupe, kept, duplicates) => {
    const redis = useRedis('wd');
    w = await createCrawlWorker(testWorkerOptions(redis));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/`, {
      ...(dedupe ? { dedupe } : {}),
      concurrency: 1,
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    const url = (name: string) => `${site.origin}/docs/${name}`;
    const all = ['', ...kept, 'from-print'];
    expect(done).toMatchObject({
      status: 'completed',
      counters: { discovered: 8, processed: all.length, skipped: Object.keys(duplicates).length, failed: 0 },
    });
    const stored = (await store.pages(crawl.id, 0, 100)).items.map((page) => page.url);
    expect(stored.sort()).toEqual(all.map(url).sort());
    const skipped = (await store.errors(crawl.id)).map((item) => [item.url, item.reason, item.duplicateOf]);
    expect(skipped.sort()).toEqual(Object.entries(duplicates).map(([dup, of]) => [url(dup), 'duplicate', url(of)]).sort());
  });
});
