// The JavaScript docs fixture itself: what a plain HTTP client gets (the shell,
// no content, no links) against what Debian's Chromium renders (heading,
// paragraphs, links, history routing), and that its hostile pages really reach
// the trap when nothing guards the browser, so a test that finds the trap
// untouched behind the renderer proves the guard, not a broken fixture.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appHeading, listenTrap, SPA_SHELL_TEXT, type SpaSite, spaSite, type Trap } from './spa-site.js';

const CHROMIUM = '/usr/bin/chromium';
let site: SpaSite;
let trap: Trap;
let browser: Browser;

beforeAll(async () => {
  trap = await listenTrap('127.0.0.2');
  site = await spaSite({ pages: 12, staticPages: 3, renderDelayMs: 50, hostileTarget: trap.url });
  if (!existsSync(CHROMIUM)) throw new Error(`these tests need Debian's Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
afterAll(async () => {
  await browser?.close();
  await site?.close();
  await trap?.close();
});

const hrefs = (html: string) => [...html.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]);

describe('spaSite over plain HTTP', () => {
  it('serves every /app/ path the same shell: no heading, no links, the noscript text; and counts requests per path', async () => {
    const shells = await Promise.all(['/app/', '/app/page-7', '/app/no-such-page'].map((p) => fetch(`${site.origin}${p}`).then((r) => r.text())));
    expect(new Set(shells).size).toBe(1);
    expect(shells[0]!).toContain('<div id="root"></div>');
    expect(shells[0]!).toContain(SPA_SHELL_TEXT);
    expect(hrefs(shells[0]!)).toEqual([]);
    expect(shells[0]!).not.toContain(appHeading(7));
    expect(site.count('/app/page-7')).toBe(1);
    expect(site.count(`${site.origin}/app/page-7`, (r) => r.method === 'GET')).toBe(1);
  });

  it('static pages are ordinary HTML linking into the app (and the hostile pages, when asked for) and back', async () => {
    const home = await fetch(site.start).then((r) => r.text());
    expect(hrefs(home)).toEqual(['/app/', '/static/page-1.html', '/static/page-2.html', '/app/hostile-requests', '/app/hostile-navigation']);
    const other = await fetch(site.staticUrls[2]!).then((r) => r.text());
    expect(hrefs(other)).toEqual(['/app/', '/static/']);
    expect(site.staticUrls).toEqual([site.start, `${site.origin}/static/page-1.html`, `${site.origin}/static/page-2.html`]);
    expect(site.appUrls).toHaveLength(12);
  });

  it('serves a sitemap of every page only when asked to', async () => {
    expect((await fetch(`${site.origin}/sitemap.xml`)).status).toBe(404);
    const mapped = await spaSite({ pages: 5, staticPages: 2, sitemap: true });
    try {
      const xml = await fetch(`${mapped.origin}/sitemap.xml`).then((r) => r.text());
      const locs = [...xml.matchAll(/<loc>([^<]+)<\/loc>/g)].map((m) => m[1]);
      expect(locs).toEqual([...mapped.staticUrls, ...mapped.appUrls]);
    } finally {
      await mapped.close();
    }
  });
});

describe('spaSite in Chromium', () => {
  it('renders the path’s heading, text and links after the delay, and routes clicks with pushState (no new document request)', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(site.appUrls[1]!);
      await page.waitForSelector('h1');
      expect(await page.textContent('h1')).toBe(appHeading(1));
      expect(site.heading(site.appUrls[1]!)).toBe(appHeading(1));
      expect(await page.$$eval('main a', (as) => as.map((a) => a.getAttribute('href')))).toEqual([
        '/app/page-4',
        '/app/page-5',
        '/app/page-6',
        '/app/',
        '/static/',
      ]);
      const before = site.count('/app/page-5');
      await page.click('a[href="/app/page-5"]');
      await page.waitForFunction(`document.querySelector('h1')?.textContent === ${JSON.stringify(appHeading(5))}`);
      expect(new URL(page.url()).pathname).toBe('/app/page-5');
      expect(site.count('/app/page-5')).toBe(before);
    } finally {
      await page.close();
    }
  });

  it('hostile pages reach the trap on 127.0.0.2 when nothing guards the browser (fetch, XHR, WebSocket, image... and navigation)', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(site.hostileUrls[0]!);
      await page.waitForSelector('h1');
      const reached = (line: string) => trap.requestLines.some((l) => l.startsWith(line));
      for (let i = 0; i < 200 && !(reached('GET /fetch ') && reached('GET /xhr ') && reached('GET /socket ') && reached('GET /img.png ')); i++) await sleep(50);
      expect(trap.requestLines).toEqual(expect.arrayContaining([expect.stringMatching(/^GET \/fetch /), expect.stringMatching(/^GET \/xhr /)]));
      expect(trap.requestLines).toEqual(expect.arrayContaining([expect.stringMatching(/^GET \/socket /), expect.stringMatching(/^GET \/img\.png /)]));
      await page.goto(site.hostileUrls[1]!).catch(() => {});
      for (let i = 0; i < 200 && !reached('GET /navigation '); i++) await sleep(50);
      expect(trap.requestLines).toEqual(expect.arrayContaining([expect.stringMatching(/^GET \/navigation /)]));
    } finally {
      await page.close();
    }
  });
});
