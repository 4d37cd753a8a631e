// ignoreQueryParameters: URLs that differ only in their query are one page.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useRedis } from '@crawlstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';

const LINKS: Record<string, string[]> = {
  '/docs/': ['/docs/a?v=1', '/docs/a?v=2', '/docs/b'],
  '/docs/a': ['/docs/?from=a'],
  '/docs/b': ['/docs/a?v=3'],
};
const requests: string[] = [];
const server = createServer((req, res) => {
  const target = req.url ?? '/';
  requests.push(target);
  const links = LINKS[new URL(target, 'http://x').pathname] ?? [];
  const anchors = links.map((href) => `<a href="${href}">${href}</a>`).join('');
  res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><head><title>${target}</title></head><body><main>${anchors}</main></body></html>`);
});
let origin = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

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
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${origin}/docs/`, {
      ignoreQueryParameters,
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: expected.length, failed: 0 } });
    expect([...requests].sort()).toEqual(expected);
    const stored = (await store.pages(crawl.id, 0, 100)).items.map((page) => page.url.slice(origin.length));
    expect(stored.sort()).toEqual(expected);
  });
});
