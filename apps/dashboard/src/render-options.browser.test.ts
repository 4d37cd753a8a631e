// The rendering options (#17) in Debian's Chromium against the API
// (buildApp, serving the built dashboard): the start form's "Render" select
// and "Wait for selector" field reach POST as render and waitFor, only when
// not the default; a selector the API refuses is shown with its option; and
// the stored pages card marks each page rendered or fetched. No worker: the
// crawl only has to be accepted, and the card's /pages answer is scripted.
// Needs `npm run build` first.
import { useRedis } from '@crawlstream/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openDashboard, screenshot } from './test-support/browser.js';
import { type InProcessApi, startApi } from './test-support/stack.js';

const redis = useRedis('dashrender');
let browser: Browser;
let api: InProcessApi;

beforeAll(async () => {
  browser = await launchBrowser();
  api = await startApi({ redisUrl: redis.url, prefix: redis.prefix });
});
afterAll(async () => {
  await browser?.close();
});

/** Submits the form; resolves to the options it sent and the crawl's options as stored. */
async function submit(page: Page): Promise<{ sent: Record<string, unknown>; stored: Record<string, unknown>; id: string }> {
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/crawl-v2')),
    page.click('#start-form button[type=submit]'),
  ]);
  await page.waitForURL(/#\/crawls\/[0-9a-f-]{36}$/);
  const id = /#\/crawls\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
  const stored = ((await (await fetch(`${api.base}/api/crawl-v2/${id}`)).json()) as { options: Record<string, unknown> }).options;
  return { sent: request.postDataJSON().options, stored, id };
}

describe('the start form: Render and Wait for selector', () => {
  it('presets auto and sends neither option then; the crawl stores render auto', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    expect(await page.inputValue('#f-render')).toBe('auto');
    expect(await page.$$eval('#f-render option', (options) => options.map((o) => (o as HTMLOptionElement).value))).toEqual(['auto', 'never', 'always']);
    expect(await page.isEnabled('#f-waitFor')).toBe(true);
    expect(await page.inputValue('#f-waitFor')).toBe('');
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    const { sent, stored } = await submit(page);
    expect(sent).not.toHaveProperty('render');
    expect(sent).not.toHaveProperty('waitFor');
    expect(stored.render).toBe('auto');
    expect(stored).not.toHaveProperty('waitFor');
    expect(errors).toEqual([]);
  });

  it('sends always with the selector, and the crawl stores both', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    await page.selectOption('#f-render', 'always');
    await page.fill('#f-waitFor', '  #app main  ');
    await screenshot(page, '13-start-form-render');
    const { sent, stored } = await submit(page);
    expect(sent).toMatchObject({ render: 'always', waitFor: '#app main' });
    expect(stored).toMatchObject({ render: 'always', waitFor: '#app main' });
    expect(errors).toEqual([]);
  });

  it('disables the selector with never and leaves it out of what is sent', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    await page.fill('#f-waitFor', '#app');
    await page.selectOption('#f-render', 'never');
    expect(await page.isDisabled('#f-waitFor')).toBe(true);
    const { sent, stored } = await submit(page);
    expect(sent.render).toBe('never');
    expect(sent).not.toHaveProperty('waitFor');
    expect(stored).toMatchObject({ render: 'never' });
    expect(stored).not.toHaveProperty('waitFor');
    // Back to auto, the field is enabled again.
    await page.goto(`${api.base}/#/`);
    await page.selectOption('#f-render', 'never');
    await page.selectOption('#f-render', 'auto');
    expect(await page.isEnabled('#f-waitFor')).toBe(true);
    expect(errors).toEqual([]);
  });

  it("shows the API's refusal of the selector with its option", async () => {
    const { page } = await openDashboard(browser, api.base);
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    await page.fill('#f-waitFor', 'div[');
    await page.click('#start-form button[type=submit]');
    const message = page.locator('.form-message.error');
    await message.waitFor();
    expect(await message.textContent()).toContain('options.waitFor: invalid CSS selector');
  });
});

describe('the stored pages card', () => {
  it('marks each row rendered or fetched, and a dash for a page stored before rendering existed', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    const { id } = await submit(page);
    const record = (n: number, rendered?: boolean) => ({
      url: `http://127.0.0.1:9/docs/p${n}`,
      title: `Page ${n}`,
      depth: 1,
      status: 200,
      markdown: 'x',
      fetchedAt: '2026-12-01T10:00:01.000Z',
      ...(rendered === undefined ? {} : { rendered }),
    });
    await page.route(`${api.base}/api/crawl-v2/${id}/pages?*`, (route) =>
      route.fulfill({ json: { items: [record(0, true), record(1, false), record(2)], nextCursor: null } }),
    );
    await page.click('#stored-pages > summary');
    await page.waitForSelector('#pages-table tbody tr:nth-child(3)');
    const shown = await page.$$eval('#pages-table tbody tr', (rows) =>
      rows.map((row) => [(row as HTMLElement).dataset.url, row.querySelector('td.source')?.textContent, row.querySelector('td.source .rendered') !== null]),
    );
    expect(shown).toEqual([
      ['http://127.0.0.1:9/docs/p0', 'rendered', true],
      ['http://127.0.0.1:9/docs/p1', 'fetched', false],
      ['http://127.0.0.1:9/docs/p2', '–', false],
    ]);
    expect(await page.$$eval('#pages-table thead th', (cells) => cells.map((c) => c.textContent))).toContain('Source');
    await screenshot(page, '13b-stored-pages-rendered');
    expect(errors).toEqual([]);
  });
});
