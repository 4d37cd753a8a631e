// The start form's output options (#14) in Debian's Chromium against the API
// (buildApp, serving the built dashboard): the format checkboxes (Markdown
// checked by default) reach POST as `formats`, the "Discover only" checkbox
// as `discoverOnly`; the API's refusal of both together is shown. No worker:
// the crawl only has to be accepted. Needs `npm run build` first.
import { useRedis } from '@crawlstream/testkit';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openDashboard } from './test-support/browser.js';
import { type InProcessApi, startApi } from './test-support/stack.js';

const redis = useRedis('dashout');
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
  it('presets markdown only and not discover-only, and sends the formats checked', async () => {
    const { page, errors } = await openDashboard(browser, api.base);
    expect(await page.isChecked('#f-format-markdown')).toBe(true);
    for (const format of ['html', 'rawHtml', 'links']) expect(await page.isChecked(`#f-format-${format}`)).toBe(false);
    expect(await page.isChecked('#f-discoverOnly')).toBe(false);
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    await page.setChecked('#f-format-markdown', false);
    await page.setChecked('#f-format-html', true);
    await page.setChecked('#f-format-links', true);
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/crawl-v2')),
      page.click('#start-form button[type=submit]'),
    ]);
    expect(request.postDataJSON().options).toMatchObject({ formats: ['html', 'links'], discoverOnly: false });
    await page.waitForURL(/#\/crawls\/[0-9a-f-]{36}$/);
    const id = /#\/crawls\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const stored = (await (await fetch(`${api.base}/api/crawl-v2/${id}`)).json()) as { options: unknown };
    expect(stored.options).toMatchObject({ formats: ['html', 'links'], discoverOnly: false });
    expect(errors).toEqual([]);
  });

  it('sends discoverOnly, and shows the API\'s refusal of it with other formats', async () => {
    const { page } = await openDashboard(browser, api.base);
    await page.fill('#f-url', 'http://127.0.0.1:9/docs/');
    await page.setChecked('#f-discoverOnly', true);
    await page.setChecked('#f-format-rawHtml', true);
    await page.click('#start-form button[type=submit]');
    const message = page.locator('.form-message.error');
    await message.waitFor();
    expect(await message.textContent()).toContain('options.formats: discoverOnly stores no content');
    await page.setChecked('#f-format-rawHtml', false);
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/api/crawl-v2')),
      page.click('#start-form button[type=submit]'),
    ]);
    expect(request.postDataJSON().options).toMatchObject({ formats: ['markdown'], discoverOnly: true });
    await page.waitForURL(/#\/crawls\/[0-9a-f-]{36}$/);
  });
});
