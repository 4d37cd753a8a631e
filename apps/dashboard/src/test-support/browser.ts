// Debian's Chromium driven by playwright-core, for the browser tests: launch
// (a clear failure when it is not installed, never a skip), a page that
// records its own errors, screenshots under test-artifacts/, and what the
// dashboard shows, read from the DOM.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The dashboard's browser tests need Debian's Chromium at ${CHROMIUM}: ` +
        'apt-get update && apt-get install -y chromium (.ci/run installs it).',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface DashboardPage {
  page: Page;
  /** Uncaught errors and console errors of the page. */
  errors: string[];
}

/** A fresh browser context (its own localStorage) on the dashboard. */
export async function openDashboard(browser: Browser, base: string, hash = ''): Promise<DashboardPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // A failed request (the API being down) is reported as a console error by the browser itself: expected.
    if (message.type() === 'error' && !/Failed to load resource|net::ERR_/.test(message.text())) errors.push(`console: ${message.text()}`);
  });
  await page.goto(`${base}/${hash}`);
  await page.waitForSelector('#view > *');
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface FormInput {
  url: string;
  maxPages?: number;
  maxDepth?: number;
  concurrency?: number;
  useSitemap?: boolean;
  /** The "More start URLs" text area, as typed (one per line). */
  urls?: string;
}

/** Fills the start form, submits it, and waits for the crawl page; returns the crawl id. */
export async function startCrawlFromForm(page: Page, input: FormInput): Promise<string> {
  await page.fill('#f-url', input.url);
  if (input.maxPages !== undefined) await page.fill('#f-maxPages', String(input.maxPages));
  if (input.maxDepth !== undefined) await page.fill('#f-maxDepth', String(input.maxDepth));
  if (input.concurrency !== undefined) await page.fill('#f-concurrency', String(input.concurrency));
  if (input.useSitemap !== undefined) await page.setChecked('#f-useSitemap', input.useSitemap);
  if (input.urls !== undefined) await page.fill('#f-urls', input.urls);
  await page.click('#start-form button[type=submit]');
  await page.waitForURL(/#\/crawls\/[0-9a-f-]{36}$/);
  const id = /#\/crawls\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
  await page.waitForSelector(`.crawl-page[data-crawl-id="${id}"]`);
  return id;
}

/** The log's lines as `<event id> <type>`, in page order. */
export async function logLines(page: Page): Promise<string[]> {
  return page.$$eval('#event-log li', (items) => items.map((li) => `${(li as HTMLElement).dataset.eventId} ${(li as HTMLElement).dataset.type}`));
}

/** The number a counter shows (`processed`, `failed`, …). */
export async function counterValue(page: Page, name: string): Promise<number> {
  const text = await page.textContent(`[data-counter="${name}"]`);
  return Number((text ?? '').replace(/[^0-9]/g, ''));
}

/**
 * Starts recording every connection state the page shows, even one that
 * lasts a millisecond (a reconnect that replays to the terminal event at
 * once), for `connectionStates`.
 */
export async function recordConnectionStates(page: Page): Promise<void> {
  await page.evaluate(() => {
    const states: string[] = [];
    (window as unknown as { connectionStates: string[] }).connectionStates = states;
    const note = () => {
      const state = document.querySelector<HTMLElement>('#connection')?.dataset.connection;
      if (state && states.at(-1) !== state) states.push(state);
    };
    note();
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-connection'] });
  });
}

export async function connectionStates(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { connectionStates: string[] }).connectionStates);
}

/** What the crawl page shows right now, for failure messages. */
async function pageState(page: Page): Promise<string> {
  return page
    .evaluate(() => {
      const connection = document.querySelector<HTMLElement>('#connection');
      const problem = document.querySelector<HTMLElement>('.problem:not([hidden])');
      return [
        `status ${document.querySelector<HTMLElement>('#crawl-status')?.dataset.status}`,
        `connection ${connection?.dataset.connection} (${connection?.title})`,
        `${document.querySelectorAll('#event-log li').length} log lines`,
        problem ? `problem: ${problem.textContent}` : '',
      ].join('; ');
    })
    .catch((error: unknown) => `(page unreadable: ${String(error)})`);
}

async function waitFor(page: Page, selector: string, what: string, timeout: number): Promise<void> {
  try {
    await page.waitForSelector(selector, { timeout });
  } catch (error) {
    throw new Error(`${what} not shown within ${timeout} ms; the page shows ${await pageState(page)}`, { cause: error });
  }
}

export async function waitForStatus(page: Page, status: string, timeout = 60_000): Promise<void> {
  await waitFor(page, `#crawl-status[data-status="${status}"]`, `status ${status}`, timeout);
}

export async function waitForConnection(page: Page, state: string, timeout = 45_000): Promise<void> {
  await waitFor(page, `#connection[data-connection="${state}"]`, `connection ${state}`, timeout);
}
