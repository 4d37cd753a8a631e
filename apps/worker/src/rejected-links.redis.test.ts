// Rejected links on a fixture site: each link found but not taken is recorded
// once with its reason and the page it was found on: out of scope, excluded
// and not included by the globs, disallowed by a robots.txt the worker already
// has, past maxPages and past maxDepth; none counts as discovered.
import { useRedis } from '@crawlstream/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { SentRejections } from './rejected-links.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

const LINKS: Record<string, string[]> = {
  '/docs/': ['/blog/x', '/docs/old/a', '/docs/misc', '/docs/private/p', '/docs/guide/1', '/docs/guide/x', '/docs/guide/y', '/docs/guide/z'],
  '/docs/guide/1': ['/docs/guide/2', '/docs/', '/blog/x'],
};
const requests: string[] = [];
const site = useLoopbackServer((req, res) => {
  const target = req.url ?? '/';
  requests.push(target);
  if (target === '/robots.txt') return res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nDisallow: /docs/private/\n');
  const anchors = (LINKS[target] ?? []).map((href) => `<a href="${href}">${href}</a>`).join(' ');
  res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><head><title>${target}</title></head><body><main><p>${target}</p>${anchors}</main></body></html>`);
});

describe('rejected links', () => {
  let w: CrawlWorker | undefined;
  afterEach(async () => {
    await w?.close();
    requests.length = 0;
  });

  it('records each link not taken with its reason and the page it was found on, counted per reason and not as discovered', async () => {
    const redis = useRedis('wr');
    w = await createCrawlWorker(testWorkerOptions(redis));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/`, {
      maxPages: 4,
      maxDepth: 1,
      include: ['/docs/', '/docs/guide/**', '/docs/private/**', '/docs/old/**'],
      exclude: ['**/old/**'],
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    const url = (path: string) => `${site.origin}${path}`;
    expect(done).toMatchObject({
      status: 'completed',
      counters: { discovered: 4, processed: 4, failed: 0, skipped: 0 },
      rejected: { out_of_scope: 1, excluded: 1, not_included: 1, robots: 1, max_pages: 1, max_depth: 1 },
    });
    const { items, next } = await store.rejectedPage(crawl.id, 0, 100);
    expect(next).toBeNull();
    const byUrl = (a: { url: string }, b: { url: string }) => a.url.localeCompare(b.url);
    expect(items.sort(byUrl)).toEqual(
      [
        { url: url('/blog/x'), reason: 'out_of_scope', foundOn: url('/docs/') },
        { url: url('/docs/old/a'), reason: 'excluded', foundOn: url('/docs/') },
        { url: url('/docs/misc'), reason: 'not_included', foundOn: url('/docs/') },
        { url: url('/docs/private/p'), reason: 'robots', foundOn: url('/docs/') },
        { url: url('/docs/guide/z'), reason: 'max_pages', foundOn: url('/docs/') },
        { url: url('/docs/guide/2'), reason: 'max_depth', foundOn: url('/docs/guide/1') },
      ].sort(byUrl),
    );
    for (const path of ['/docs/private/p', '/docs/guide/z', '/docs/guide/2', '/blog/x']) expect(requests).not.toContain(path);
  });
});

describe('SentRejections', () => {
  it('remembers the first max URLs sent; one past them is sent again each time', () => {
    const sent = new SentRejections(2);
    expect([sent.take('a'), sent.take('b'), sent.take('a'), sent.take('b')]).toEqual([true, true, false, false]);
    expect([sent.take('c'), sent.take('c')]).toEqual([true, true]);
    expect(sent.size).toBe(2);
  });
});
