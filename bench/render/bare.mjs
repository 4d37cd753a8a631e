// The render bench's limit: a bare playwright-core loop rendering a list of
// URLs with Debian's Chromium, CONCURRENCY pages at once, the way the renderer
// reads a page (domcontentloaded, then network idle, then the DOM's
// outerHTML; a fresh context every 50 pages, as RENDER_CONTEXT_PAGES), with
// no queue, no Redis, no proxy and no request rules. Mode `tab-per-page`
// opens a tab per URL and closes it (as the renderer did before it reused
// tabs); `tab-reused` navigates one tab per slot from URL to URL, as the
// renderer does (Chromium then keeps its renderer process instead of
// starting one per page). It prints "ready" once the browser is up, renders
// when a line arrives on stdin, prints one JSON line {rendered, withHeading,
// seconds}, and closes when stdin ends.
// argv: chromium path, concurrency, mode, then the URLs.
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [executablePath, concurrencyArg, mode, ...urls] = process.argv.slice(2);
if (mode !== 'tab-per-page' && mode !== 'tab-reused') throw new Error(`mode: tab-per-page or tab-reused, not ${mode}`);
const CONCURRENCY = Number(concurrencyArg);
const CONTEXT_PAGES = 50;
const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
process.stdout.write('ready\n');

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
await lines.next();
const started = performance.now();
let next = 0;
let rendered = 0;
let withHeading = 0;
async function slot() {
  let context = await browser.newContext();
  let tab = mode === 'tab-reused' ? await context.newPage() : undefined;
  let used = 0;
  for (let i = next++; i < urls.length; i = next++) {
    if (used === CONTEXT_PAGES) {
      await context.close();
      context = await browser.newContext();
      tab = mode === 'tab-reused' ? await context.newPage() : undefined;
      used = 0;
    }
    used++;
    const page = tab ?? (await context.newPage());
    try {
      await page.goto(urls[i], { waitUntil: 'domcontentloaded', timeout: 30_000 });
      await page.waitForLoadState('networkidle', { timeout: 30_000 }).catch(() => {});
      const html = `<!DOCTYPE html>${await page.evaluate('document.documentElement.outerHTML')}`;
      rendered++;
      if (html.includes('<h1>Rendered app page ')) withHeading++;
    } finally {
      if (!tab) await page.close();
    }
  }
  await context.close();
}
await Promise.all(Array.from({ length: CONCURRENCY }, slot));
process.stdout.write(`${JSON.stringify({ rendered, withHeading, seconds: (performance.now() - started) / 1000 })}\n`);
await lines.next();
await browser.close();
