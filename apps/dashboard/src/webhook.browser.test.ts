// The crawl's page shows where its webhook's delivery stands (#16): state,
// pending events, failed attempts and the last error, until it is done or
// failed; a crawl without a webhook shows nothing of it (and asks nothing).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CrawlstreamClient } from '@crawlstream/client';
import { type Site, startSite } from '@crawlstream/e2e';
import { useRedis } from '@crawlstream/testkit';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openDashboard, waitForStatus } from './test-support/browser.js';
import { type InProcessApi, startApi, startWorker } from './test-support/stack.js';

const SECRET = `whsec_${Buffer.alloc(32, 5).toString('base64')}`;
const redis = useRedis('dwh');

let browser: Browser;
let api: InProcessApi;
let site: Site;
let receiver: Server;
let hook = '';

beforeAll(async () => {
  browser = await launchBrowser();
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(req.url === '/gone' ? 410 : 204).end());
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  [api, site] = await Promise.all([
    startApi({ redisUrl: redis.url, prefix: redis.prefix, env: { WEBHOOK_SECRET: SECRET, SSRF_ALLOW: '127.0.0.1/32' } }),
    startSite({ pages: 5 }),
  ]);
  await startWorker({ redisUrl: redis.url, prefix: redis.prefix, concurrency: 4, webhookSecret: SECRET });
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await new Promise((ok) => receiver?.close(ok));
});

describe('the webhook on the crawl page', () => {
  it('shows the delivery until done; a failing receiver shows failed with its last error; none without a webhook', async () => {
    const client = new CrawlstreamClient({ baseUrl: api.base });
    const delivered = await client.createCrawl(site.start, { maxPages: 5 }, { webhook: { url: `${hook}/ok` } });
    const gone = await client.createCrawl(site.start, { maxPages: 5 }, { webhook: { url: `${hook}/gone`, events: ['completed'] } });
    const plain = await client.createCrawl(site.start, { maxPages: 5 });

    const { page, errors } = await openDashboard(browser, api.base, `#/crawls/${delivered.id}`);
    await waitForStatus(page, 'completed');
    await page.waitForSelector('#webhook-state[data-state="done"]', { timeout: 30_000 });
    expect(await page.textContent('#webhook-state')).toBe(`Webhook ${hook}/ok: done · 0 pending`);

    await page.goto(`${api.base}/#/crawls/${gone.id}`);
    await page.waitForSelector('#webhook-state[data-state="failed"]', { timeout: 30_000 });
    expect(await page.textContent('#webhook-state')).toMatch(/: failed · \d+ pending · 10 failed attempts · last error: HTTP 410$/);

    await page.goto(`${api.base}/#/crawls/${plain.id}`);
    await waitForStatus(page, 'completed');
    expect(await page.isHidden('#webhook-state')).toBe(true);
    expect(errors).toEqual([]);
  });
});
