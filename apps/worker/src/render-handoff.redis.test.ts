// Rendering from the worker's side (#17, docs/rendering.md "When a page is
// rendered"), against real Redis, a real worker and a loopback site of static
// docs pages and app shells. The renderer here is the stand-in of
// test-support/stand-in-renderer.ts (a real render-queue consumer with a
// heartbeat; no browser): what is tested is the worker's decision, its wait,
// its fallbacks and that each page settles once.
import { beatRenderer, createRenderQueue, RENDERER_STALE_MS, type RenderJobData, type RenderOutput } from '@crawlstream/jobs';
import { parseFrame } from '@crawlstream/progress';
import type { CrawlOptionsInput, PageResult } from '@crawlstream/shared';
import { type TestRedis, useRedis } from '@crawlstream/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';
import { renderedFrom, type StandInRenderer, startStandInRenderer } from './test-support/stand-in-renderer.js';

const page = (title: string, body: string, head = '') =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head><body>${body}</body></html>`;
const prose = (what: string) => `<p>${`${what} explains how the configuration is read, merged and validated before the crawl starts. `.repeat(3)}</p>`;
/** A Create React App shell: everything it shows comes from /static/main.js. */
const shell = (title: string) =>
  page(title, '<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>', '<script defer src="/static/main.js"></script>');
const SHELLS = ['/app/one', '/app/two'];

const site = useLoopbackServer((req, res) => {
  const path = req.url ?? '/';
  const html = (body: string) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  if (path === '/') html(page('Docs', `<main><h1>Docs</h1>${prose('The index')}<a href="/guide">Guide</a> <a href="/app/one">One</a> <a href="/app/two">Two</a> <a href="/notes.txt">Notes</a></main>`));
  else if (path === '/guide') html(page('Guide', `<main><h1>Guide</h1>${prose('The guide')}<a href="/">Home</a></main>`));
  else if (SHELLS.includes(path)) html(shell(`App ${path.slice(5)}`));
  else if (path.endsWith('/after')) html(page('After', `<main><h1>After ${path}</h1>${prose('This page')}</main>`));
  else if (path === '/notes.txt') res.writeHead(200, { 'content-type': 'text/plain' }).end('notes');
  else res.writeHead(404).end();
});

/** What the browser builds in an app's root: its heading, text and a link only the rendered DOM has. */
const appContent = (url: string) => {
  const name = new URL(url).pathname.slice(5);
  return `<main><h1>App ${name} rendered</h1><p>Built by the browser for ${name}.</p><a href="/app/${name}/after">After ${name}</a></main>`;
};
const renderApps = (data: RenderJobData) => renderedFrom(data, appContent);

const url = (path: string) => `${site.origin}${path}`;
const HTML_PAGES = ['/', '/guide', ...SHELLS];

describe('rendering in the worker', () => {
  let w: CrawlWorker | undefined;
  let renderer: StandInRenderer | undefined;
  afterEach(async () => {
    await w?.close();
    await renderer?.close();
    w = undefined;
    renderer = undefined;
  });

  async function crawl(redis: TestRedis, options: CrawlOptionsInput, start = '/') {
    w ??= await createCrawlWorker(testWorkerOptions(redis, { extractThreads: 1, renderWaitMs: 300 }));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, url(start), { respectRobotsTxt: false, useSitemap: false, ...options });
    const done = await waitForEnd(store, crawl.id);
    const pages = new Map((await store.pages(crawl.id, 0, 100)).items.map((item) => [new URL(item.url).pathname, item] as const));
    const errors = await store.errors(crawl.id);
    const events = (await store.readAll(crawl.id)).filter((frame) => frame.type.startsWith('page')).map(parseFrame);
    return { done, pages, errors, events };
  }

  const renderJobs = async (redis: TestRedis) => {
    const queue = createRenderQueue(redis.connect(), redis.prefix);
    const counts = await queue.getJobCounts();
    await queue.close();
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };

  /** The render queue's events, by name, in order. */
  const renderQueueEvents = async (redis: TestRedis) => {
    const connection = redis.connect();
    const queue = createRenderQueue(connection, redis.prefix);
    const entries = await connection.xrange(queue.keys.events!, '-', '+');
    await queue.close();
    return entries.map(([, fields]) => fields[fields.indexOf('event') + 1]);
  };

  describe('with no renderer alive', () => {
    it('auto: the crawl completes from the fetched HTML, shells included, every page rendered false, nothing queued', async () => {
      const redis = useRedis('rnone');
      const { done, pages, events } = await crawl(redis, { render: 'auto' });
      expect(done).toMatchObject({ status: 'completed', counters: { processed: 4, failed: 0, skipped: 1 } });
      expect([...pages.keys()].sort()).toEqual([...HTML_PAGES].sort());
      for (const stored of pages.values()) expect(stored.rendered).toBe(false);
      for (const event of events) if (event.type === 'page') expect(event.rendered).toBe(false);
      expect(await renderJobs(redis)).toBe(0);
    });

    it('always: every HTML page fails renderer_unavailable after the wait, and the crawl completes', async () => {
      const redis = useRedis('rnonea');
      const { done, errors } = await crawl(redis, { render: 'always' });
      // Only the start page is fetched: failed, it found no links.
      expect(done).toMatchObject({ status: 'completed', counters: { processed: 0, failed: 1 } });
      expect(errors).toEqual([expect.objectContaining({ url: url('/'), kind: 'failed', reason: 'renderer_unavailable' })]);
      expect(await renderJobs(redis)).toBe(0);
    });
  });

  describe('with a renderer alive', () => {
    it('auto renders the app shells only; their rendered content and links are crawled', async () => {
      const redis = useRedis('rauto');
      renderer = await startStandInRenderer(redis, renderApps);
      const { done, pages } = await crawl(redis, { render: 'auto' });
      expect(done).toMatchObject({ status: 'completed', counters: { processed: 6, failed: 0 } });
      expect(renderer.seen.map((data) => new URL(data.url).pathname).sort()).toEqual(SHELLS);
      for (const path of SHELLS) {
        const name = path.slice(5);
        expect(pages.get(path)).toMatchObject({ rendered: true, title: `App ${name}`, markdown: expect.stringContaining(`App ${name} rendered`) });
        expect(pages.get(`/app/${name}/after`)).toMatchObject({ rendered: false, depth: 2 });
      }
      for (const path of ['/', '/guide']) expect(pages.get(path)?.rendered).toBe(false);
      expect(renderer.seen[0]).toMatchObject({ timeoutMs: expect.any(Number), maxBytes: expect.any(Number), gapMs: 0, respectRobotsTxt: false });
    });

    it('always renders every HTML page (never the others); map mode takes links from the rendered DOM', async () => {
      const redis = useRedis('ralways');
      renderer = await startStandInRenderer(redis, renderApps);
      const { done, pages } = await crawl(redis, { render: 'always', discoverOnly: true, waitFor: '#root main' });
      expect(done).toMatchObject({ status: 'completed', counters: { processed: 6, failed: 0, skipped: 1 } });
      const rendered = renderer.seen.map((data) => new URL(data.url).pathname).sort();
      expect(rendered).toEqual(['/', '/app/one', '/app/one/after', '/app/two', '/app/two/after', '/guide']);
      expect(renderer.seen[0]?.waitFor).toBe('#root main');
      for (const stored of pages.values()) expect(stored.rendered).toBe(true);
    });

    it('never: no render job, even with a renderer alive', async () => {
      const redis = useRedis('rnever');
      renderer = await startStandInRenderer(redis, renderApps);
      const { done, pages } = await crawl(redis, { render: 'never' });
      expect(done).toMatchObject({ status: 'completed', counters: { processed: 4 } });
      expect(renderer.seen).toEqual([]);
      for (const stored of pages.values()) expect(stored.rendered).toBe(false);
    });

    it('a failed render: auto keeps the fetched page, always fails the page with the render\'s reason', async () => {
      const failed: RenderOutput = { kind: 'failed', reason: 'render_failed', message: 'the browser crashed' };
      const redis = useRedis('rfail');
      renderer = await startStandInRenderer(redis, async () => failed);
      const auto = await crawl(redis, { render: 'auto' });
      expect(auto.done).toMatchObject({ status: 'completed', counters: { processed: 4, failed: 0 } });
      for (const path of SHELLS) expect(auto.pages.get(path)).toMatchObject({ rendered: false, title: `App ${path.slice(5)}` });
      const always = await crawl(redis, { render: 'always' });
      expect(always.done).toMatchObject({ status: 'completed', counters: { processed: 0, failed: 1 } });
      expect(always.errors).toEqual([expect.objectContaining({ url: url('/'), reason: 'render_failed', message: 'the browser crashed' })]);
    });

    it('a render job that throws: auto keeps the fetched page; always fails the page render_failed', async () => {
      const redis = useRedis('rthrow');
      renderer = await startStandInRenderer(redis, async () => {
        throw new Error('renderer broke');
      });
      const auto = await crawl(redis, { render: 'auto' }, '/app/one');
      expect(auto.pages.get('/app/one')).toMatchObject({ rendered: false });
      const always = await crawl(redis, { render: 'always' }, '/guide');
      expect(always.errors).toEqual([expect.objectContaining({ url: url('/guide'), reason: 'render_failed' })]);
    });
  });

  it('a renderer that stops beating before taking the job: the page gives up after RENDER_WAIT_MS and its job is removed', async () => {
    // A heartbeat that goes stale two seconds from now, and no consumer on the queue.
    const ghost = async (redis: TestRedis) => beatRenderer(redis.connect(), 'ghost', redis.prefix, Date.now() - RENDERER_STALE_MS + 2_000);
    const redis = useRedis('rghost');
    await ghost(redis);
    const auto = await crawl(redis, { render: 'auto' }, '/app/one');
    expect(auto.done).toMatchObject({ status: 'completed', counters: { processed: 1, failed: 0 } });
    expect(auto.pages.get('/app/one')).toMatchObject({ rendered: false });
    expect(await renderJobs(redis)).toBe(0);
    // The job was added (a renderer was alive), then removed when the page gave up.
    expect(await renderQueueEvents(redis)).toEqual(['added', 'waiting', 'removed']);
    await ghost(redis);
    const always = await crawl(redis, { render: 'always' }, '/guide');
    expect(always.errors).toEqual([expect.objectContaining({ url: url('/guide'), reason: 'renderer_unavailable' })]);
    expect(await renderJobs(redis)).toBe(0);
    expect(await renderQueueEvents(redis)).toEqual(['added', 'waiting', 'removed', 'added', 'waiting', 'removed']);
  });

  it('a page whose worker stops while it waits is handed back, rendered once and settled once by the next worker', async () => {
    const redis = useRedis('ronce');
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let taken!: () => void;
    const took = new Promise<void>((resolve) => {
      taken = resolve;
    });
    renderer = await startStandInRenderer(redis, async (data) => {
      taken();
      await released;
      return renderApps(data);
    });
    const first = await createCrawlWorker(testWorkerOptions(redis, { extractThreads: 1, closeTimeoutMs: 50 }));
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, url('/app/one'), { respectRobotsTxt: false, useSitemap: false, render: 'auto' });
    await took;
    // Past its close's grace the waiting page is handed back, unsettled; the render goes on.
    await first.close();
    expect((await store.get(crawl.id))?.counters.processed).toBe(0);
    w = await createCrawlWorker(testWorkerOptions(redis, { extractThreads: 1 }));
    release();
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: 2, failed: 0, skipped: 0 } });
    expect(renderer.seen.map((data) => data.url)).toEqual([url('/app/one')]);
    const events = (await store.readAll(crawl.id)).filter((frame) => frame.type.startsWith('page_') || frame.type === 'page').map(parseFrame);
    const perUrl = new Map<string, number>();
    for (const event of events) if ('url' in event) perUrl.set(event.url, (perUrl.get(event.url) ?? 0) + 1);
    expect(Object.fromEntries(perUrl)).toEqual({ [url('/app/one')]: 1, [url('/app/one/after')]: 1 });
    const pages = (await store.pages(crawl.id, 0, 10)).items as PageResult[];
    expect(pages.find((item) => item.url === url('/app/one'))).toMatchObject({ rendered: true });
  });
});
