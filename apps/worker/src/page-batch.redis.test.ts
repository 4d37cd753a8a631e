// A page job carries the URLs of one dispatch (up to PAGES_PER_JOB); each
// URL still has its own retries, politeness and exactly-once settle.
import { jobPages, PAGE_JOB_ATTEMPTS } from '@crawlstream/jobs';
import { PAGES_PER_JOB } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

const CHILDREN = Array.from({ length: PAGES_PER_JOB }, (_, i) => `/docs/p${i + 1}`);
const html = (title: string, links: string[] = []) =>
  `<!doctype html><html><head><title>${title}</title></head><body><main><h1>${title}</h1>${links
    .map((href) => `<a href="${href}">${href}</a>`)
    .join('')}</main></body></html>`;

// The start page links to PAGES_PER_JOB children; /docs/p3 answers 503 twice
// and then 200; /docs/p5 always answers 503. Every request's time is logged.
const hits = new Map<string, number>();
const log: { path: string; at: number }[] = [];
let open = 0;
let peak = 0;
const site = useLoopbackServer((req, res) => {
  const path = req.url ?? '/';
  const count = (hits.get(path) ?? 0) + 1;
  hits.set(path, count);
  log.push({ path, at: Date.now() });
  if ((path === '/docs/p3' && count <= 2) || path === '/docs/p5') {
    res.writeHead(503, { 'content-type': 'text/html' }).end('busy');
  } else if (path.startsWith('/slow/')) {
    // Answers after 40 ms: how many are open at once is what the worker lets through.
    open++;
    peak = Math.max(peak, open);
    const links = path === '/slow/' ? CHILDREN.map((child) => child.replace('/docs/', '/slow/')) : [];
    setTimeout(() => {
      open--;
      res.writeHead(200, { 'content-type': 'text/html' }).end(html(`Slow ${path}`, links));
    }, 40);
  } else if (path === '/docs/') {
    res.writeHead(200, { 'content-type': 'text/html' }).end(html('Start', CHILDREN));
  } else if (path.startsWith('/docs/')) {
    res.writeHead(200, { 'content-type': 'text/html' }).end(html(`Page ${path}`, ['/docs/']));
  } else {
    res.writeHead(404).end();
  }
});

describe('a page job of several URLs', () => {
  let w: CrawlWorker | undefined;
  afterEach(async () => {
    await w?.close();
    hits.clear();
    log.length = 0;
    peak = 0;
  });

  it('fetches each URL once, retries only the URLs that failed, and fails for good only the one that kept failing', async () => {
    const redis = useRedis('w');
    w = await createCrawlWorker(testWorkerOptions(redis, { concurrency: PAGES_PER_JOB }));
    const sizes: number[] = [];
    w.worker.on('active', (job) => sizes.push(jobPages(job.data).pages.length));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/`, {
      concurrency: PAGES_PER_JOB,
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({
      status: 'completed',
      counters: { discovered: PAGES_PER_JOB + 1, processed: PAGES_PER_JOB, failed: 1, skipped: 0 },
    });
    // The start page's job, then one job for all its children (one dispatch); then
    // retries of that job with only the URLs still failing.
    expect(sizes.slice(0, 2)).toEqual([1, PAGES_PER_JOB]);
    expect(sizes.slice(2)).toEqual([2, 2, 1]);
    for (const path of CHILDREN) {
      const expected = path === '/docs/p3' ? 3 : path === '/docs/p5' ? PAGE_JOB_ATTEMPTS : 1;
      expect([path, hits.get(path)]).toEqual([path, expected]);
    }
    expect(await store.errors(crawl.id)).toEqual([
      expect.objectContaining({ url: `${site.origin}/docs/p5`, reason: 'http_5xx', status: 503 }),
    ]);
  });

  it('keeps delayMs between requests to the host while its URLs share a job, each fetched once', async () => {
    const redis = useRedis('w');
    w = await createCrawlWorker(testWorkerOptions(redis, { concurrency: PAGES_PER_JOB }));
    const delayMs = 150;
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/`, {
      concurrency: PAGES_PER_JOB,
      delayMs,
      respectRobotsTxt: false,
      useSitemap: false,
      include: ['/docs/', '/docs/p1', '/docs/p2', '/docs/p4', '/docs/p6', '/docs/p7', '/docs/p8'],
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: 7, failed: 0 } });
    for (const path of ['/docs/p1', '/docs/p2', '/docs/p4', '/docs/p6', '/docs/p7', '/docs/p8']) expect(hits.get(path)).toBe(1);
    const times = log.map((entry) => entry.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(delayMs - 5);
  });

  it('has at most WORKER_CONCURRENCY pages in flight in the process, whatever the jobs carry', async () => {
    const redis = useRedis('w');
    const concurrency = 2;
    w = await createCrawlWorker(testWorkerOptions(redis, { concurrency }));
    const sizes: number[] = [];
    w.worker.on('active', (job) => sizes.push(jobPages(job.data).pages.length));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/slow/`, {
      concurrency: PAGES_PER_JOB,
      respectRobotsTxt: false,
      useSitemap: false,
    });
    expect(await waitForEnd(store, crawl.id)).toMatchObject({ status: 'completed', counters: { processed: PAGES_PER_JOB + 1 } });
    expect(sizes).toContain(PAGES_PER_JOB);
    // At the limit, and never one past it.
    expect(peak).toBe(concurrency);
  });
});
