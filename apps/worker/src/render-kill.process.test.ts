// A page waiting for its render survives its worker's kill -9 (#17): the page
// job's lock runs out, the stall check hands it to another worker, which
// fetches the page again, adds the same render job (BullMQ keeps the one
// under way) and settles the page once the render is done. The renderer is
// the worker tests' stand-in (test-support/stand-in-renderer.ts).
import type { ChildProcess } from 'node:child_process';
import { parseFrame } from '@crawlstream/progress';
import { useRedis } from '@crawlstream/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';
import { exited, launcher, startProcess } from './test-support/processes.js';
import { renderedFrom, type StandInRenderer, startStandInRenderer } from './test-support/stand-in-renderer.js';

const site = useLoopbackServer((req, res) => {
  const html = (body: string) => res.writeHead(200, { 'content-type': 'text/html' }).end(body);
  if (req.url === '/app/') {
    html('<!doctype html><html><head><title>App</title><script src="/main.js"></script></head><body><div id="root"></div></body></html>');
  } else if (req.url === '/app/next') {
    html(`<!doctype html><html><head><title>Next</title></head><body><main><h1>Next</h1><p>${'Static text of the next page. '.repeat(10)}</p></main></body></html>`);
  } else res.writeHead(404).end();
});

describe('a worker killed while its page waits for the render', () => {
  const children: ChildProcess[] = [];
  let w: CrawlWorker | undefined;
  let renderer: StandInRenderer | undefined;
  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL');
    await w?.close();
    await renderer?.close();
  });

  it('the page is rendered once and settled once by the worker that takes it over', { timeout: 90_000 }, async () => {
    const redis = useRedis('rkill');
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let took!: () => void;
    const taken = new Promise<void>((resolve) => {
      took = resolve;
    });
    renderer = await startStandInRenderer(redis, async (data) => {
      took();
      await released;
      return renderedFrom(data, () => '<main><h1>Rendered app</h1><p>Content only the browser shows.</p><a href="/app/next">Next</a></main>');
    });
    const first = await startProcess(children, [launcher, redis.url, redis.prefix, '2']);
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/app/`, { respectRobotsTxt: false, useSitemap: false, render: 'auto' });
    await taken;
    first.kill('SIGKILL');
    await exited(first);
    w = await createCrawlWorker(testWorkerOptions(redis, { extractThreads: 1 }));
    // The render finishes while the page job is still waiting for the stall check (or already taken over).
    release();
    const done = await waitForEnd(store, crawl.id, 60_000);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: 2, failed: 0, skipped: 0 } });
    expect(renderer.seen.map((data) => data.url)).toEqual([`${site.origin}/app/`]);
    const perUrl = new Map<string, number>();
    for (const frame of await store.readAll(crawl.id)) {
      if (frame.type !== 'page' && !frame.type.startsWith('page_')) continue;
      const event = parseFrame(frame);
      if ('url' in event) perUrl.set(event.url, (perUrl.get(event.url) ?? 0) + 1);
    }
    expect(Object.fromEntries(perUrl)).toEqual({ [`${site.origin}/app/`]: 1, [`${site.origin}/app/next`]: 1 });
    const pages = (await store.pages(crawl.id, 0, 10)).items;
    expect(pages.find((page) => page.url === `${site.origin}/app/`)).toMatchObject({ rendered: true, markdown: expect.stringContaining('Rendered app') });
  });
});
