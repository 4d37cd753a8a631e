// ignoreQueryParameters: URLs that differ only in their query are one page.
import { useRedis } from '@crawlstream/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

const LINKS: Record<string, string[]> = {
  '/docs/': ['/docs/a?v=1', '/docs/a?v=2', '/docs/b'],
  '/docs/a': ['/docs/?from=a'],
  '/docs/b': ['/docs/a?v=3'],
};
const requests: string[] = [];
const site = useLoopbackServer((req, res) => {
  const target = req.url ?? '/';
  requests.push(target);
  const links = LINKS[new URL(target, 'http://x').pathname] ?? [];
  const anchors = links.map((href) => `<a href="${href}">${href}</a>`).join('');
  res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><head><title>${target}</title></head><body><main>${anchors}</main></body></html>`);
});

describe('ignoreQueryParameters', () => {
  let w: CrawlWorker | undefined;
  afterEach(async () => {
    await w?.close();
    requests.length = 0;
  });

  it.each([
    [true, ['/docs/', '/docs/a', '/docs/b']],
    [false, ['/docs/', '/docs/?from=a', '/docs/a?v=1', '/docs/a?v=2', '/docs/a?v=3', '/docs/b']],
  ])('with %s, fetches and stores each page once per URL it counts as distinct', async (ignoreQueryParameters, expected) => {
    const redis = useRedis('wq');
    w = await createCrawlWorker(testWorkerOptions(redis));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/`, {
      ignoreQueryParameters,
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: expected.length, failed: 0 } });
    expect([...requests].sort()).toEqual(expected);
    const stored = (await store.pages(crawl.id, 0, 100)).items.map((page) => page.url.slice(site.origin.length));
    expect(stored.sort()).toEqual(expected);
  });
});
