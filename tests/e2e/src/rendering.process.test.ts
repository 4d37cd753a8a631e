// JavaScript rendering end to end (#17, docs/rendering.md), every part a real
// process: the API, a worker and renderer processes (Playwright + Debian's
// Chromium) on a private redis-server, SSRF_ALLOW=127.0.0.1. The site is
// testkit's spaSite: app pages whose content and links exist only once the
// bundle ran, static pages of plain HTML. What a user depends on: `auto`
// renders the app pages and only them, follows links only the rendered DOM
// has, never lets a page's script reach an address outside SSRF_ALLOW, loses
// nothing and stores nothing twice when a renderer dies, and `never`,
// `always` and a missing renderer do what the option says.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenTrap, type SpaRequest, type SpaSite, spaSite } from '@crawlstream/testkit/spa-site';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderedDomKey } from '@crawlstream/shared';
import { CHROMIUM, type CrawlOutcome, crawlOutcome, openRenderStack, type RenderStack, until } from './test-support/render-stack.js';

const TEST_TIMEOUT_MS = 300_000;
const APP_PAGES = 12;
const STATIC_PAGES = 3;
const RENDERER = fileURLToPath(new URL('../../../apps/renderer/dist/main.js', import.meta.url));

beforeAll(() => {
  if (!existsSync(CHROMIUM)) throw new Error(`the rendering tests need Debian's Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  if (!existsSync(RENDERER)) throw new Error(`the rendering tests need the renderer built: ${RENDERER} (npx turbo run build)`);
});

/** The worker fetches with undici and its own User-Agent; Chromium sends fetch metadata (Sec-Fetch-*) on every request. */
const fromWorker = (r: SpaRequest) => String(r.headers['user-agent']).startsWith('crawlstream/') && r.headers['sec-fetch-dest'] === undefined;
const fromBrowser = (r: SpaRequest) => !fromWorker(r);

async function withStack(site: SpaSite, body: (stack: RenderStack) => Promise<void>): Promise<void> {
  const stack = await openRenderStack();
  try {
    await body(stack);
  } finally {
    await stack.close();
    await site.close();
  }
}

async function crawl(stack: RenderStack, url: string, options: Record<string, unknown>): Promise<CrawlOutcome> {
  const created = await stack.client.createCrawl(url, { scope: 'origin', useSitemap: false, maxPages: 200, concurrency: 4, ...options });
  return crawlOutcome(stack, created.id);
}

const sorted = (urls: Iterable<string>) => [...urls].sort();
/** Jobs the render queue was ever given (finished ones are kept for RENDER_RESULT_TTL_SECONDS). */
async function renderJobs(stack: RenderStack): Promise<number> {
  const counts = await stack.renderQueue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('render: auto', () => {
  it(
    'renders every app page (its heading, rendered: true) and no static page; follows links that only the rendered DOM has',
    async () => {
      const site = await spaSite({ pages: APP_PAGES, staticPages: STATIC_PAGES });
      await withStack(site, async (stack) => {
        await stack.startRenderer();
        await stack.startWorker();
        const out = await crawl(stack, site.start, { render: 'auto' });

        expect(out.crawl.status).toBe('completed');
        expect([...out.errors.values()]).toEqual([]);
        expect(out.duplicates).toEqual([]);
        // The static pages link only /app/: the other app pages were found in rendered DOMs.
        expect(sorted(out.pages.keys())).toEqual(sorted([...site.appUrls, ...site.staticUrls]));
        expect(out.crawl.counters.processed).toBe(APP_PAGES + STATIC_PAGES);
        for (const url of site.appUrls) {
          const page = out.pages.get(url);
          expect(page?.rendered, url).toBe(true);
          expect(page?.markdown, url).toContain(site.heading(url));
        }
        for (const url of site.staticUrls) {
          expect(out.pages.get(url)?.rendered, url).toBe(false);
          // Fetched once by the worker, never by the browser.
          expect(site.count(url, fromWorker), url).toBe(1);
          expect(site.count(url, fromBrowser), url).toBe(0);
        }
        // The bundle ran in the browser; the worker never fetches scripts.
        expect(site.count('/app/bundle.js', fromBrowser)).toBeGreaterThan(0);
        expect(site.count('/app/bundle.js', fromWorker)).toBe(0);
        // Each rendered DOM was dropped once its page was settled (render-queue.ts): none is left in Redis.
        expect(await stack.connection.keys(renderedDomKey(out.crawl.id, '*'))).toEqual([]);
      });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('scripts of a rendered page and SSRF_ALLOW', () => {
  it(
    'fetch, XHR, WebSocket, EventSource, beacon, image, iframe, stylesheet and navigation to 127.0.0.2 reach nothing; the crawl completes and the pages settle',
    async () => {
      const trap = await listenTrap('127.0.0.2');
      const site = await spaSite({ pages: 4, staticPages: 1, hostileTarget: trap.url });
      try {
        await withStack(site, async (stack) => {
          await stack.startRenderer();
          await stack.startWorker();
          const out = await crawl(stack, site.start, { render: 'auto' });

          expect(out.crawl.status).toBe('completed');
          expect(out.duplicates).toEqual([]);
          for (const url of site.hostileUrls) {
            // Settled either way: stored (what rendered before the script was stopped) or failed with a reason.
            const settled = out.pages.has(url) || (out.errors.get(url)?.reason ?? '') !== '';
            expect(settled, url).toBe(true);
          }
          // The hostile pages were handed to the browser (their bundle was asked for by it).
          expect(site.count('/app/bundle.js', fromBrowser)).toBeGreaterThan(0);
          for (const url of site.appUrls) expect(out.pages.get(url)?.rendered, url).toBe(true);
          // Anything still in flight from a page's script has had its chance to arrive.
          await sleep(1000);
          expect(trap.requestLines).toEqual([]);
          expect(trap.connections).toBe(0);
        });
      } finally {
        await trap.close();
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('a renderer killed with -9 mid-crawl', () => {
  it(
    'the crawl completes with every app page stored once, rendered; nothing stored twice',
    async () => {
      // Renders take long enough (1.5 s in the bundle, read at `waitFor`) that both renderers hold jobs when one dies.
      const site = await spaSite({ pages: APP_PAGES, staticPages: 1, renderDelayMs: 1500 });
      await withStack(site, async (stack) => {
        const victim = await stack.startRenderer();
        await stack.startRenderer();
        await stack.startWorker({ WORKER_CONCURRENCY: '8' });
        const created = await stack.client.createCrawl(site.start, { scope: 'origin', useSitemap: false, render: 'auto', waitFor: 'main h1', concurrency: 8 });
        // Three renders in flight while each renderer takes two at most: the victim holds at least one.
        await until('three renders in flight', async () => (await stack.renderQueue.getActiveCount()) >= 3, 120_000);
        victim.kill('SIGKILL');
        await victim.exited;

        const out = await crawlOutcome(stack, created.id);
        expect(out.crawl.status).toBe('completed');
        expect(out.duplicates).toEqual([]);
        expect(out.pageCount).toBe(out.crawl.counters.processed);
        expect([...out.errors.values()]).toEqual([]);
        expect(sorted(out.pages.keys())).toEqual(sorted([...site.appUrls, ...site.staticUrls]));
        for (const url of site.appUrls) {
          expect(out.pages.get(url)?.rendered, url).toBe(true);
          expect(out.pages.get(url)?.markdown, url).toContain(site.heading(url));
        }
        // The kill landed on renders in flight: the survivor took them over (BullMQ's stalled check).
        const finished = await stack.renderQueue.getJobs(['completed', 'failed']);
        expect(finished.filter((job) => job.stalledCounter > 0 || job.attemptsMade > 1).length).toBeGreaterThan(0);
      });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('render: never and render: always', () => {
  it(
    'never stores the app shell unrendered and gives the renderer nothing; always renders static pages too',
    async () => {
      const site = await spaSite({ pages: APP_PAGES, staticPages: STATIC_PAGES });
      await withStack(site, async (stack) => {
        await stack.startRenderer();
        await stack.startWorker();

        const never = await crawl(stack, site.start, { render: 'never' });
        expect(never.crawl.status).toBe('completed');
        // Without rendering only /app/ is linked (from the static pages); its shell has no links.
        expect(sorted(never.pages.keys())).toEqual(sorted([site.appStart, ...site.staticUrls]));
        for (const page of never.pages.values()) expect(page.rendered, page.url).toBe(false);
        expect(never.pages.get(site.appStart)?.markdown ?? '').not.toContain('Rendered app page');
        expect(await renderJobs(stack)).toBe(0);
        expect(site.requests.filter(fromBrowser)).toEqual([]);

        const always = await crawl(stack, site.start, { render: 'always' });
        expect(always.crawl.status).toBe('completed');
        expect([...always.errors.values()]).toEqual([]);
        expect(sorted(always.pages.keys())).toEqual(sorted([...site.appUrls, ...site.staticUrls]));
        for (const page of always.pages.values()) expect(page.rendered, page.url).toBe(true);
        // Rendered means loaded in the browser: the static pages too (which auto never sends there).
        for (const url of site.staticUrls) expect(site.count(url, fromBrowser), url).toBeGreaterThan(0);
        for (const url of site.appUrls) expect(always.pages.get(url)?.markdown, url).toContain(site.heading(url));
        expect(await renderJobs(stack)).toBeGreaterThanOrEqual(APP_PAGES + STATIC_PAGES);
      });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('no renderer running', () => {
  it(
    'always fails the app pages with renderer_unavailable after RENDER_WAIT_MS; auto completes with the fetched HTML (rendered: false)',
    async () => {
      const site = await spaSite({ pages: APP_PAGES, staticPages: STATIC_PAGES });
      await withStack(site, async (stack) => {
        await stack.startWorker({ RENDER_WAIT_MS: '1000' });
        expect(await stack.liveRenderers()).toBe(0);

        const starts = site.appUrls.slice(0, 4);
        const always = await crawl(stack, starts[0]!, { render: 'always', urls: starts.slice(1) });
        expect(always.crawl.status).not.toBe('running');
        expect(always.pages.size).toBe(0);
        expect(sorted(always.errors.keys())).toEqual(sorted(starts));
        for (const error of always.errors.values()) expect(error, error.url).toMatchObject({ kind: 'failed', reason: 'renderer_unavailable' });
        expect(always.crawl.counters).toMatchObject({ processed: 0, failed: starts.length });

        const auto = await crawl(stack, site.start, { render: 'auto' });
        expect(auto.crawl.status).toBe('completed');
        expect(sorted(auto.pages.keys())).toEqual(sorted([site.appStart, ...site.staticUrls]));
        for (const page of auto.pages.values()) expect(page.rendered, page.url).toBe(false);
      });
    },
    TEST_TIMEOUT_MS,
  );
});
