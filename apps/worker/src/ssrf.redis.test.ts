// The SSRF guard end to end, past the start URL: a crawl allowed on 127.0.0.1
// (SSRF_ALLOW=127.0.0.1/32) whose pages link and redirect to a host name that
// resolves to 127.0.0.2, a loopback alias that is not allowed. Scope is the
// registrable domain (site.test), so those URLs are in the crawl: only the
// guard keeps the worker off 127.0.0.2, whose listener counts every connection.
import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import type { Resolver } from '@crawlstream/pipeline';
import { useRedis } from '@crawlstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';

const DNS: Record<string, string> = { 'www.site.test': '127.0.0.1', 'inner.site.test': '127.0.0.2' };
const resolve: Resolver = async (hostname) => (DNS[hostname] ? [{ address: DNS[hostname]!, family: 4 }] : []);

let site: Server;
let inner: NetServer;
let sitePort = 0;
let innerPort = 0;
let innerConnections = 0;
const siteHits: string[] = [];

beforeAll(async () => {
  inner = createNetServer((socket) => {
    innerConnections++;
    socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 21\r\n\r\n<title>secret</title>');
    socket.on('error', () => {});
  });
  await new Promise<void>((ok) => inner.listen(0, '127.0.0.2', ok));
  innerPort = (inner.address() as AddressInfo).port;
  const innerOrigin = `http://inner.site.test:${innerPort}`;
  site = createHttpServer((req, res) => {
    siteHits.push(req.url ?? '');
    if (req.url === '/docs/redirect') {
      res.writeHead(302, { location: `${innerOrigin}/docs/moved` }).end();
    } else if (req.url === '/docs/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(
        `<title>start</title><a href="${innerOrigin}/docs/secret">secret</a><a href="/docs/redirect">r</a>` +
          `<a href="/docs/ok">ok</a><a href="http://127.0.0.2:${innerPort}/docs/literal">literal</a>`,
      );
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<title>ok</title>');
    }
  });
  await new Promise<void>((ok) => site.listen(0, '127.0.0.1', ok));
  sitePort = (site.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((ok) => site.close(ok));
  await new Promise((ok) => inner.close(ok));
});

describe('SSRF guard in a crawl', () => {
  let w: CrawlWorker | undefined;
  afterAll(async () => {
    await w?.close();
  });

  // Without the guard on the worker's connections (or with the check only on
  // the start URL), the secret page is fetched and stored and the redirect
  // followed: `innerConnections` > 0 and the settled reasons differ.
  it('settles pages that link or redirect to a blocked address as ssrf_blocked, and nothing reaches that address', async () => {
    const redis = useRedis('w');
    w = await createCrawlWorker(testWorkerOptions(redis, { ssrfResolve: resolve }));
    const start = `http://www.site.test:${sitePort}/docs/`;
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, start, {
      scope: 'domain',
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id, 60_000);
    const innerOrigin = `http://inner.site.test:${innerPort}`;
    expect(done).toMatchObject({ status: 'completed', counters: { discovered: 4, processed: 2, failed: 2, skipped: 0 } });
    const errors = await store.errors(crawl.id);
    expect(errors.map((e) => [e.url, e.reason]).sort()).toEqual(
      [
        [`${innerOrigin}/docs/secret`, 'ssrf_blocked'],
        [`http://www.site.test:${sitePort}/docs/redirect`, 'ssrf_blocked'],
      ].sort(),
    );
    const stored = (await store.pages(crawl.id, 0, 10)).items.map((p) => p.url).sort();
    expect(stored).toEqual([start, `http://www.site.test:${sitePort}/docs/ok`].sort());
    // The redirect was asked of the allowed site, once (ssrf_blocked is not retried); its target never.
    expect(siteHits.filter((url) => url === '/docs/redirect')).toHaveLength(1);
    expect(innerConnections).toBe(0);
    await w.close();
    w = undefined;
  });
});
