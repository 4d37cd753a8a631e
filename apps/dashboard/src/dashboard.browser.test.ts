// The dashboard in Debian's Chromium against the real system: the API
// (buildApp, serving the built dashboard at `/`), a real crawl worker and the
// fixture docs site, all on 127.0.0.1, on the run's real Redis. Needs
// `npm run build` first (turbo's test task does it) and /usr/bin/chromium.
import { readFile } from 'node:fs/promises';
import { CrawlstreamClient } from '@crawlstream/client';
import { useRedis } from '@crawlstream/testkit';
import type { Browser, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  counterValue,
  launchBrowser,
  logLines,
  openDashboard,
  screenshot,
  startCrawlFromForm,
  waitForConnection,
  waitForStatus,
} from './test-support/browser.js';
import { type Site, startSite } from '@crawlstream/e2e';
import { type InProcessApi, startApi, startWorker, storedEvents } from './test-support/stack.js';

const redis = useRedis('dash');
const KEY = 'dashboard-test-key-0001';
const OTHER_KEY = 'other-tenant-key-00002';
/** Stored event types the log shows, one line each. */
const LOGGED = new Set(['started', 'page', 'page_failed', 'page_skipped', 'completed', 'failed', 'cancelled']);

let browser: Browser;
let api: InProcessApi;
let keyedApi: InProcessApi;
/** Keys on, stream tokens that expire after 10 s (the shortest the API allows). */
let shortTokenApi: InProcessApi;
let site: Site;
let slowSite: Site;
let slowerSite: Site;

beforeAll(async () => {
  // Chromium first: without it the file fails at once with the message saying how to install it.
  browser = await launchBrowser();
  [api, keyedApi, shortTokenApi, site, slowSite, slowerSite] = await Promise.all([
    startApi({ redisUrl: redis.url, prefix: redis.prefix }),
    startApi({ redisUrl: redis.url, prefix: redis.prefix, env: { API_KEYS: `${KEY},${OTHER_KEY}` } }),
    startApi({ redisUrl: redis.url, prefix: redis.prefix, env: { API_KEYS: KEY }, streamTokenTtlSeconds: 10 }),
    startSite({ errorPages: true, pages: 25, latencyMs: 20 }),
    startSite({ errorPages: true, pages: 12, latencyMs: 400 }),
    startSite({ errorPages: true, pages: 30, latencyMs: 500 }),
  ]);
  await startWorker({ redisUrl: redis.url, prefix: redis.prefix, concurrency: 4 });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([site?.close(), slowSite?.close(), slowerSite?.close()]);
});

/** The crawl's stored events as the log must show them: `<id> <type>`, in order. */
async function expectedLog(id: string): Promise<string[]> {
  const events = await storedEvents(redis.connect(), redis.prefix, id);
  return events.filter((event) => LOGGED.has(event.type)).map((event) => `${event.id} ${event.type}`);
}

describe('the dashboard', () => {
  it('is served at / with its assets, from the Vite build', async () => {
    const page = await fetch(`${api.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${api.base}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const missing = await fetch(`${api.base}/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'route_not_found' } });
    // Hidden from the API description.
    const docs = (await (await fetch(`${api.base}/docs`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(docs.paths)).not.toContain('/');
  });

  it('starts a crawl from the form and shows it live until it completes with the right page count', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    await screenshot(page, '01-home-empty');
    const id = await startCrawlFromForm(page, { url: site.start, maxPages: 100, concurrency: 4 });
    await waitForStatus(page, 'completed');
    await waitForConnection(page, 'ended');

    // 25 pages stored, the missing page failed, the PDF skipped.
    expect(await counterValue(page, 'processed')).toBe(site.pageUrls.length);
    expect(await counterValue(page, 'failed')).toBe(1);
    expect(await counterValue(page, 'skipped')).toBe(1);
    expect(await counterValue(page, 'discovered')).toBe(site.pageUrls.length + 2);

    // The log is the stored event log, each line once, in order.
    const lines = await logLines(page);
    expect(lines).toEqual(await expectedLog(id));
    expect(lines.filter((line) => line.endsWith(' page'))).toHaveLength(site.pageUrls.length);

    // The errors table, from /errors.
    await page.waitForSelector('#errors-table tbody tr:nth-child(2)');
    const errorRows = await page.$$eval('#errors-table tbody tr', (rows) => rows.map((row) => row.textContent ?? ''));
    expect(errorRows.find((row) => row.includes(site.missingUrl))).toMatch(/^failed\s*http_4xx \(404\)/);
    expect(errorRows.find((row) => row.includes(site.pdfUrl))).toMatch(/^skipped\s*not_html/);
    // The chart has drawn bars (some pixel is not blank).
    const drawn = await page.$eval('#rate-chart', (canvas) => {
      const c = canvas as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) painted++;
      return painted;
    });
    expect(drawn).toBeGreaterThan(500);
    await screenshot(page, '02-crawl-completed');

    // The markdown download holds every page.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#markdown-link')]);
    const markdown = await readFile((await download.path())!, 'utf8');
    for (const url of site.pageUrls) expect(markdown).toContain(`> Source: ${url}\n`);
    expect(download.suggestedFilename()).toMatch(/^127\.0\.0\.1-[0-9a-f]{8}\.md$/);

    // Stored pages, opened: each with the word count and language of its stored record.
    await page.click('#stored-pages > summary');
    await page.waitForSelector(`#pages-table tbody tr:nth-child(${site.pageUrls.length})`);
    const shown = await page.$$eval('#pages-table tbody tr', (rows) =>
      rows.map((row) => [(row as HTMLElement).dataset.url, row.querySelector('.words')?.textContent, row.querySelector('.language')?.textContent]),
    );
    const stored = new CrawlstreamClient({ baseUrl: api.base });
    const expected = [];
    for await (const record of stored.pages(id)) expected.push([record.url, (record.wordCount ?? 0).toLocaleString('en-US'), record.language ?? '–']);
    expect(shown.sort()).toEqual(expected.sort());
    expect(expected.some(([, words]) => words !== '0')).toBe(true);
    await screenshot(page, '02b-stored-pages');

    // Back on the list: the crawl, completed, with a full bar.
    await page.click('a.back');
    const row = page.locator(`#crawl-list tr[data-crawl-id="${id}"]`);
    await row.and(page.locator('[data-status="completed"]')).waitFor();
    expect(await row.locator('.count').textContent()).toBe(`${site.pageUrls.length + 2} / ${site.pageUrls.length + 2}`);
    expect(errors).toEqual([]);
  });

  it('follows running crawls in the list over their streams', async () => {
    const created = await fetch(`${api.base}/api/crawl-v2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: slowSite.start, options: { concurrency: 1, useSitemap: false } }),
    });
    const { id } = (await created.json()) as { id: string };
    const { page, errors } = await openDashboard(browser, api.base);
    const row = page.locator(`#crawl-list tr[data-crawl-id="${id}"]`);
    await row.locator('.live-dot').waitFor();
    await row.and(page.locator('[data-status="running"]')).waitFor();
    await page.waitForFunction(
      (crawlId) => {
        const text = document.querySelector(`#crawl-list tr[data-crawl-id="${crawlId}"] .count`)?.textContent ?? '';
        const [settled = 0] = text.split(' / ').map((n) => Number(n.replace(/,/g, '')));
        return settled >= 3;
      },
      id,
      { timeout: 20_000 },
    );
    await screenshot(page, '03-list-running');
    await row.and(page.locator('[data-status="completed"]')).waitFor({ timeout: 60_000 });
    expect(await row.locator('.count').textContent()).toBe(`${slowSite.pageUrls.length + 2} / ${slowSite.pageUrls.length + 2}`);
    expect(errors).toEqual([]);
  });

  it('starts a crawl with more start URLs from the text area (one per line), and shows a bad one by its field', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    await page.fill('#f-url', site.start);
    await page.fill('#f-urls', 'ftp://127.0.0.1/x\n');
    await page.click('#start-form button[type=submit]');
    await page.locator('.form-message.error', { hasText: 'options.urls.0:' }).waitFor();
    await screenshot(page, '05-start-urls-refused');
    const extra = site.pageUrls.at(-1)!;
    const id = await startCrawlFromForm(page, { url: site.start, urls: `${extra}\n\n  ${site.start}  \n${extra}\n`, maxDepth: 0 });
    await waitForStatus(page, 'completed');
    // Blank lines dropped; the start URL and repeats left out by the API; both fetched at depth 0.
    const stored = (await (await fetch(`${api.base}/api/crawl-v2/${id}`)).json()) as { options: { urls: string[] } };
    expect(stored.options.urls).toEqual([extra]);
    expect(await page.textContent('.options-json')).toContain(extra);
    expect(await counterValue(page, 'processed')).toBe(2);
    expect(errors).toEqual([]);
  });

  it('cancels a running crawl from its page', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    const id = await startCrawlFromForm(page, { url: slowSite.start, concurrency: 1, useSitemap: false });
    await waitForConnection(page, 'live');
    await page.waitForSelector('#event-log li[data-type="page"]');
    await page.click('#cancel-crawl');
    await waitForStatus(page, 'cancelled');
    await waitForConnection(page, 'ended');
    expect(await page.isHidden('#cancel-crawl')).toBe(true);
    const lines = await logLines(page);
    expect(lines.at(-1)).toMatch(/ cancelled$/);
    expect(lines).toEqual(await expectedLog(id));
    expect(errors).toEqual([]);
  });

  it('works with API_KEYS: the key for REST calls, the stream token (not the key) on the stream', async () => {
    const { page, errors } = await openDashboard(browser, keyedApi.base);
    await page.waitForSelector('.problem:not([hidden])');
    expect(await page.textContent('.problem')).toContain('unauthorized');

    await page.fill('#api-key', KEY);
    await page.click('#api-key-form button');
    await page.waitForSelector('#api-key-state[data-set="yes"]');
    const streams: Request[] = [];
    const rest: Request[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (!url.pathname.startsWith('/api/')) return;
      (url.pathname.endsWith('/stream') ? streams : rest).push(request);
    });

    const id = await startCrawlFromForm(page, { url: site.start, concurrency: 4 });
    await waitForStatus(page, 'completed');
    expect(await counterValue(page, 'processed')).toBe(site.pageUrls.length);
    expect(await logLines(page)).toEqual(await expectedLog(id));
    await screenshot(page, '04-api-keys-completed');

    expect(streams.length).toBeGreaterThan(0);
    for (const request of streams) {
      expect(new URL(request.url()).searchParams.get('token')).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
      expect((await request.allHeaders()).authorization).toBeUndefined();
    }
    expect(rest.length).toBeGreaterThan(0);
    for (const request of rest) expect((await request.allHeaders()).authorization).toBe(`Bearer ${KEY}`);

    // The markdown link cannot send the key: the dashboard fetches it and hands over a blob.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#markdown-link')]);
    const markdown = await readFile((await download.path())!, 'utf8');
    for (const url of site.pageUrls) expect(markdown).toContain(`> Source: ${url}\n`);

    // The key is remembered (localStorage): a reload lists the crawl.
    await page.goto(`${keyedApi.base}/`);
    await page.locator(`#crawl-list tr[data-crawl-id="${id}"][data-status="completed"]`).waitFor();
    expect(await page.inputValue('#api-key')).toBe(KEY);

    // Another key sees none of this key's crawls.
    await page.fill('#api-key', OTHER_KEY);
    await page.click('#api-key-form button');
    await page.waitForSelector('#crawl-list + .empty:not([hidden])');
    expect(await page.locator('#crawl-list tbody tr').count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('takes a new stream token when the old one has expired, and resumes where it was', async () => {
    const { page, errors } = await openDashboard(browser, shortTokenApi.base);
    await page.fill('#api-key', KEY);
    await page.click('#api-key-form button');
    await page.waitForSelector('#api-key-state[data-set="yes"]');
    const tokens = new Set<string>();
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.pathname.endsWith('/stream')) tokens.add(url.searchParams.get('token') ?? '');
    });
    const startedAt = Date.now();
    const id = await startCrawlFromForm(page, { url: slowerSite.start, concurrency: 1, useSitemap: false });
    await waitForConnection(page, 'live');
    await page.waitForSelector('#event-log li[data-type="page"]');
    // Past the token's lifetime, cut the stream: the reconnect is refused (401) until the page takes a new token.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + 11_500 - Date.now())));
    expect(await counterValue(page, 'processed')).toBeLessThan(slowerSite.pageUrls.length - 3);
    expect(shortTokenApi.dropConnections()).toBeGreaterThan(0);
    await waitForStatus(page, 'completed', 60_000);
    await waitForConnection(page, 'ended');
    expect(tokens.size).toBeGreaterThanOrEqual(2);
    expect(await logLines(page)).toEqual(await expectedLog(id));
    expect(await counterValue(page, 'processed')).toBe(slowerSite.pageUrls.length);
    expect(errors).toEqual([]);
  }, 90_000);
});
