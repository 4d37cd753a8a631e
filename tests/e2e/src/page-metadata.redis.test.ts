// Page metadata (#14) end to end: a real worker crawls a loopback site whose
// pages have a description, a language, a canonical link and validators; the
// API's /pages items (read through the SDK) carry them, llms.txt shows the
// description, and a page without any has none of them.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CrawlstreamClient, type PageResult } from '@crawlstream/client';
import { MAX_DESCRIPTION_LENGTH } from '@crawlstream/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApi, useStack } from './stack.js';

const stack = useStack('meta');
let api: TestApi;
let origin = '';

const LONG = 'Long description. '.repeat(100);
const PAGES: Record<string, { head: string; htmlAttrs?: string; headers?: Record<string, string>; body: string }> = {
  '/docs/': {
    htmlAttrs: ' lang="en-GB"',
    head: '<title>Docs</title><meta name="description" content="The docs,\n all of them."><link rel="canonical" href="/docs/index.html#top">',
    headers: { etag: '"v1"', 'last-modified': 'Tue, 01 Dec 2026 08:00:00 GMT', 'content-language': 'fr' },
    body: '<main><h1>Docs</h1><p>Read the <a href="/docs/guide">guide</a> or the <a href="/docs/bare">bare page</a>.</p></main>',
  },
  '/docs/guide': {
    head: `<title>Guide</title><meta property="og:description" content="${LONG}">`,
    headers: { 'content-language': 'de-DE, en' },
    body: '<main><h1>Guide</h1><p>Three more words.</p></main>',
  },
  '/docs/bare': { head: '<title>Bare</title>', htmlAttrs: ' lang="not a language"', body: '<main><p>Nothing about me.</p></main>' },
};
const server = createServer((req, res) => {
  const page = PAGES[req.url ?? ''];
  if (!page) return void res.writeHead(404).end();
  res
    .writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...page.headers })
    .end(`<!doctype html><html${page.htmlAttrs ?? ''}><head>${page.head}</head><body>${page.body}</body></html>`);
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api = await stack.startApi();
  await stack.startWorker({ concurrency: 2 });
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const sha256 = (text: string) => createHash('sha256').update(text.replace(/\s+/g, ' ').trim(), 'utf8').digest('hex');

describe('page metadata end to end', () => {
  it('/pages items carry description, language, canonical, contentHash, wordCount, etag, lastModified; llms.txt shows the description', async () => {
    const client = new CrawlstreamClient({ baseUrl: api.base });
    const created = await client.createCrawl(`${origin}/docs/`, { useSitemap: false, respectRobotsTxt: false });
    for await (const _ of client.events(created.id)) {
      // to the end of the crawl
    }
    expect(await client.getCrawl(created.id)).toMatchObject({ status: 'completed', counters: { processed: 3, failed: 0 } });

    const pages = new Map<string, PageResult>();
    for await (const page of client.pages(created.id)) pages.set(page.url.slice(origin.length), page);
    const start = pages.get('/docs/')!;
    expect(start).toMatchObject({
      description: 'The docs, all of them.',
      language: 'en-GB', // <html lang> wins over Content-Language
      canonical: `${origin}/docs/index.html`,
      etag: '"v1"',
      lastModified: 'Tue, 01 Dec 2026 08:00:00 GMT',
      contentHash: sha256(start.markdown!),
    });
    expect(start.wordCount).toBeGreaterThanOrEqual(8);

    const guide = pages.get('/docs/guide')!;
    expect(guide.description).toBe(LONG.slice(0, MAX_DESCRIPTION_LENGTH).trimEnd());
    expect(guide).toMatchObject({ language: 'de-DE', wordCount: 4, contentHash: sha256(guide.markdown!) });
    for (const key of ['canonical', 'etag', 'lastModified']) expect(guide).not.toHaveProperty(key);

    const bare = pages.get('/docs/bare')!;
    for (const key of ['description', 'language', 'canonical', 'etag', 'lastModified']) expect(bare).not.toHaveProperty(key);
    expect(bare).toMatchObject({ wordCount: 3, contentHash: sha256(bare.markdown!) });

    // The same through the HTTP API as it is (no SDK in between).
    const raw = (await (await fetch(`${api.base}/api/crawl-v2/${created.id}/pages`)).json()) as { items: { url: string; description?: string }[] };
    expect(raw.items.find((item) => item.url === `${origin}/docs/`)?.description).toBe('The docs, all of them.');

    const llms = await client.llmsTxt(created.id);
    expect(llms).toContain(`- [Docs](${origin}/docs/): The docs, all of them.\n`);
    expect(llms).toContain(`- [Bare](${origin}/docs/bare)\n`);
    expect(llms).toMatch(new RegExp(`- \\[Guide\\]\\(${origin}/docs/guide\\): Long description\\.`));
  });
});

