// The start form's content options (#14) in Debian's Chromium against the
// API (buildApp, serving the built dashboard): the "Main content only"
// checkbox and the include/exclude CSS selector text areas, one selector per
// line, reach POST as onlyMainContent, includeSelectors and excludeSelectors;
// a selector the API refuses is shown with its option and index. No worker:
// the crawl only has to be accepted. Needs `npm run build` first.
import { useRedis } from '@crawlstream/testkit';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openDashboard, screenshot } from './test-support/browser.js';
import { type InProcessApi, startApi } from './test-support/stack.js';

const redis = useRedis('dashsel');
let browser: Browser;
let api: InProcessApi;

beforeAll(async () => {
  browser = await launchBrowser();
  api = await startApi({ redisUrl: redis.url, prefix: redis.prefix });
});
afterAll(async () => {
  await browser?.close();
});

describe('the start form', () => {
  it('presets the defaults: main content only, no selectors', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    expect(await page.isChecked('#f-onlyMainContent')).toBe(true);
    expect(await page.inputValue('#f-includeSelectors')).toBe('');
    expect(await page.inputValue('#f-excludeSelectors')).toBe('');
    expect(errors).toEqual([]);
  });

  it('sends the checkbox and one selector per line (commas kept, blanks dropped), and the crawl stores them', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    await page.setChecked('#f-onlyMainContent', false);
    await page.fill('#f-includeSelectors', 'main article\n\n  h2, h3  \n');
    await page.fill('#f-excludeSelectors', '.ad');
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/crawl-v2')),
      page.click('#start-form button[type=submit]'),
    ]);
    const sent = { onlyMainContent: false, includeSelectors: ['main article', 'h2, h3'], excludeSelectors: ['.ad'] };
    expect(request.postDataJSON().options).toMatchObject(sent);
    await page.waitForURL(/#\/crawls\/[0-9a-f-]{36}$/);
    const id = /#\/crawls\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const stored = (await (await fetch(`${api.base}/api/crawl-v2/${id}`)).json()) as { options: unknown };
    expect(stored.options).toMatchObject(sent);
    expect(errors).toEqual([]);
  });

  it('sends dedupe from its two checkboxes: canonical by default, content when ticked, none when both are off', async () => {
    for (const [canonical, content, dedupe] of [
      [true, false, ['canonical']],
      [true, true, ['canonical', 'content']],
      [false, false, []],
    ] as const) {
      const { page, errors } = await openDashboard(browser, api.base);
      expect(await page.isChecked('#f-dedupeCanonical')).toBe(true);
      expect(await page.isChecked('#f-dedupeContent')).toBe(false);
      await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
      await page.setChecked('#f-dedupeCanonical', canonical);
      await page.setChecked('#f-dedupeContent', content);
      const [request] = await Promise.all([
        page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/crawl-v2')),
        page.click('#start-form button[type=submit]'),
      ]);
      expect(request.postDataJSON().options.dedupe).toEqual(dedupe);
      expect(errors).toEqual([]);
    }
  });

  it('shows the API\'s refusal of a selector with its option and index', async () => {
    const { page } = await openDashboard(browser, api.base);
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    await page.fill('#f-excludeSelectors', 'nav\ndiv[');
    await page.click('#start-form button[type=submit]');
    const message = page.locator('.form-message.error');
    await message.waitFor();
    expect(await message.textContent()).toContain('options.excludeSelectors.1: invalid CSS selector: Expected name');
  });

  it('sends the request headers, one Name: value per line, masked while typed and cleared once sent; the crawl shows only their names', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    expect(await page.$eval('#f-headers', (el) => getComputedStyle(el).getPropertyValue('-webkit-text-security'))).toBe('disc');
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    await page.fill('#f-headers', 'Authorization: Bearer dash-secret\n\nX-Team:  docs ');
    await screenshot(page, '12-start-form-headers');
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/crawl-v2')),
      page.click('#start-form button[type=submit]'),
    ]);
    expect(request.postDataJSON().options.headers).toEqual({ Authorization: 'Bearer dash-secret', 'X-Team': 'docs' });
    await page.waitForURL(/#\/crawls\/[0-9a-f-]{36}$/);
    const id = /#\/crawls\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const stored = await (await fetch(`${api.base}/api/crawl-v2/${id}`)).text();
    expect(JSON.parse(stored).options.headerNames).toEqual(['authorization', 'x-team']);
    expect(stored).not.toContain('dash-secret');
    // Back on the start form, the headers are gone.
    await page.goto(`${api.base}/#/`);
    expect(await page.inputValue('#f-headers')).toBe('');
    expect(errors).toEqual([]);
  });

  it('refuses a header line without a colon by its number, without quoting it', async () => {
    const { page } = await openDashboard(browser, api.base);
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    await page.fill('#f-headers', 'X-Team: docs\nBearer dash-secret');
    await page.click('#start-form button[type=submit]');
    const message = page.locator('.form-message.error');
    await message.waitFor();
    expect(await message.textContent()).toBe('Request headers, line 2: write Name: value');
  });
});
