// A retried page whose attempts follow a redirect is stored exactly once:
// the redirect target is claimed inside the page's settle, not before it.
import type { PageOutcome } from '@crawlstream/progress';
import { useRedis, redisCluster } from '@crawlstream/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, waitForEnd } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

const html = (title: string, links: string[] = []) =>
  `<!doctype html><html><head><title>${title}</title></head><body><main><h1>${title}</h1>${links
    .map((href) => `<a href="${href}">${href}</a>`)
    .join('')}</main></body></html>`;

// /docs/a -> /docs/b, which answers 503 the first time and 200 after;
// /docs/c -> /docs/d, always 200.
const hits = new Map<string, number>();
const site = useLoopbackServer((req, res) => {
  const path = req.url ?? '/';
  const count = (hits.get(path) ?? 0) + 1;
  hits.set(path, count);
  const redirect = { a: '/docs/b', c: '/docs/d' }[path.slice('/docs/'.length)];
  if (redirect) {
    res.writeHead(302, { location: redirect }).end();
  } else if (path === '/docs/b' && count === 1) {
    res.writeHead(503, { 'content-type': 'text/html' }).end('busy');
  } else if (path.startsWith('/docs/')) {
    const links = path === '/docs/' ? ['/docs/a', '/docs/c'] : ['/docs/'];
    res.writeHead(200, { 'content-type': 'text/html' }).end(html(`Page ${path}`, links));
  } else {
    res.writeHead(404).end();
  }
});

describe('a redirected page that is retried', () => {
  let w: CrawlWorker | undefined;
  afterAll(() => w?.close());

  it('is stored exactly once, whether its target failed first (503) or its first settle was lost', async () => {
    const redis = useRedis('w');
    w = await createCrawlWorker({
      redisUrl: redis.url, redisCluster: redisCluster(),
      prefix: redis.prefix,
      concurrency: 4,
      ssrfAllow: ['127.0.0.1/32'],
      retryBaseMs: 50,
    });
    // The first settle of /docs/c never reaches Redis (a connection lost after the fetch): the job is retried.
    const settle = w.store.settle.bind(w.store);
    let lost = 0;
    w.store.settle = async (id: string, outcome: PageOutcome) => {
      if (outcome.kind === 'processed' && outcome.url === `${site.origin}/docs/c` && lost++ === 0) {
        throw new Error('connection lost');
      }
      return settle(id, outcome);
    };
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/`, {
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { discovered: 3, processed: 3, failed: 0, skipped: 0 } });
    expect(await store.errors(crawl.id)).toEqual([]);
    const stored = (await store.pages(crawl.id, 0, 10)).items;
    expect(stored.map((p) => p.url).sort()).toEqual([`${site.origin}/docs/`, `${site.origin}/docs/a`, `${site.origin}/docs/c`]);
    expect(stored.find((p) => p.url === `${site.origin}/docs/a`)!.title).toBe('Page /docs/b');
    expect(hits.get('/docs/b')).toBe(2); // 503, then the retry followed the redirect again
    expect(hits.get('/docs/a')).toBe(2);
    expect(lost).toBe(2); // the lost settle, then the retry's
    expect(hits.get('/docs/d')).toBe(2);
  });
});
