// The dashboard across an API crash: the API runs as its own process
// (`node apps/api/dist/main.js`, as `npm run start:api` runs it) on a private
// redis-server, is killed with SIGKILL mid-crawl while the worker goes on,
// and a new process is started on the same port. The page must say it is
// reconnecting, then resume by Last-Event-ID with every log line exactly
// once: compared with the crawl's stored event log.
import { freePort } from '@crawlstream/redis-runner';
import { connect, startExtraRedis } from '@crawlstream/testkit';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  connectionStates,
  counterValue,
  launchBrowser,
  logLines,
  openDashboard,
  recordConnectionStates,
  screenshot,
  startCrawlFromForm,
  waitForConnection,
  waitForStatus,
} from './test-support/browser.js';
import { type Site, startSite } from '@crawlstream/e2e';
import { type ApiProcess, startApiProcess, startWorker, storedEvents } from './test-support/stack.js';

const LOGGED = new Set(['started', 'page', 'page_failed', 'page_skipped', 'completed', 'failed', 'cancelled']);

let browser: Browser;
let site: Site;
let redisUrl: string;

beforeAll(async () => {
  browser = await launchBrowser();
  const [redis, started] = await Promise.all([startExtraRedis(), startSite({ errorPages: true, pages: 60, latencyMs: 150 })]);
  redisUrl = redis.url;
  site = started;
  // The API process uses the default key prefix: this Redis is private to the file.
  await startWorker({ redisUrl, concurrency: 2 });
});

afterAll(async () => {
  await browser?.close();
  await site?.close();
});

it('resumes after the API process is killed and restarted mid-crawl, with no missing and no repeated log lines', async () => {
  const port = await freePort();
  let api: ApiProcess = await startApiProcess({ redisUrl, port });
  const { page, errors } = await openDashboard(browser, api.base);
  await recordConnectionStates(page);
  const id = await startCrawlFromForm(page, { url: site.start, concurrency: 2, useSitemap: false });
  await waitForConnection(page, 'live');
  await page.waitForFunction(() => document.querySelectorAll('#event-log li[data-type="page"]').length >= 8, null, { timeout: 45_000 });

  await api.kill();
  const linesAtCrash = (await logLines(page)).length;
  await waitForConnection(page, 'reconnecting');
  await screenshot(page, '05-restart-reconnecting');
  // The crawl goes on without the API: the resumed stream has to replay what the page missed.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  api = await startApiProcess({ redisUrl, port });

  await waitForStatus(page, 'completed', 90_000);
  await waitForConnection(page, 'ended');
  // Live again after the restart (if only for the moment it took to replay to the end), then ended.
  expect(await connectionStates(page)).toEqual(['connecting', 'live', 'reconnecting', 'live', 'ended']);
  const lines = await logLines(page);
  const stored = (await storedEvents(connect(redisUrl), undefined, id))
    .filter((event) => LOGGED.has(event.type))
    .map((event) => `${event.id} ${event.type}`);
  expect(linesAtCrash).toBeLessThan(stored.length - 10);
  expect(new Set(lines).size).toBe(lines.length);
  expect(lines).toEqual(stored);
  expect(lines.filter((line) => line.endsWith(' page'))).toHaveLength(site.pageUrls.length);
  expect(await counterValue(page, 'processed')).toBe(site.pageUrls.length);
  await screenshot(page, '06-restart-completed');
  expect(errors).toEqual([]);
  await api.kill();
}, 180_000);
