// Blocks that repeat across the pages of a crawl (#14): a footer sentence no
// tag, class or link-density rule catches is dropped once seen on
// REPEATED_BLOCK_PAGES pages, pages extracted inline and in a thread alike;
// what repeats on fewer pages, and headings and code, stay.
import { contentStats } from '@crawlstream/pipeline';
import { type CrawlOptionsInput, REPEATED_BLOCK_PAGES } from '@crawlstream/shared';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrawlWorker, } from './crawl-worker.js';
import { INLINE_EXTRACT_MAX_CHARS } from './page-extractor.js';
import { crawlFixture } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

const PAGES = REPEATED_BLOCK_PAGES + 5;
const FOOTER = 'Content on this site is licensed under CC BY 4.0 by Example Corp.';
/** On one page fewer than it takes to be repeated. */
const NOTE = 'This feature needs version 3.2 or later.';
const SHARED = '## Installation\n\n```sh\nnpm install example\n```';
/** A comment that sends /docs/p/1 to an extraction thread (comments never reach the markdown). */
const PADDING = `<!--${'x'.repeat(INLINE_EXTRACT_MAX_CHARS)}-->`;

const paths = Array.from({ length: PAGES }, (_, n) => (n === 0 ? '/docs/' : `/docs/p/${n}`));
const html = (n: number) => `<!doctype html><html><head><title>Page ${n}</title></head><body>
<nav>${paths.map((path) => `<a href="${path}">${path}</a>`).join(' ')}</nav>
<main><h1>Page ${n}</h1><p>The own words of page ${n}.</p>
<h2>Installation</h2><pre><code class="language-sh">npm install example</code></pre>
${n < REPEATED_BLOCK_PAGES - 1 ? `<p>${NOTE}</p>` : ''}
<p>${FOOTER}</p></main>${n === 1 ? PADDING : ''}
</body></html>`;

const site = useLoopbackServer((req, res) => {
  const n = paths.indexOf(req.url ?? '');
  if (n >= 0) res.writeHead(200, { 'content-type': 'text/html' }).end(html(n));
  else res.writeHead(404).end();
});

describe('repeated blocks', () => {
  let w: CrawlWorker | undefined;
  afterEach(async () => {
    await w?.close();
  });

  async function crawlPages(options: CrawlOptionsInput) {
    const { store, crawl, done } = await crawlFixture('wrep', `${site.origin}/docs/`, options, (worker) => {
      w = worker;
    });
    expect(done).toMatchObject({ status: 'completed', counters: { processed: PAGES, failed: 0 } });
    // Default formats: every page carries its markdown.
    return (await store.pages(crawl.id, 0, PAGES)).items.map((page) => ({ ...page, markdown: page.markdown ?? '' }));
  }

  it(`drops a footer sentence from every page after the first ${REPEATED_BLOCK_PAGES - 1}; keeps rarer text, headings and code`, async () => {
    const pages = await crawlPages({});
    const withFooter = pages.filter((page) => page.markdown.includes(FOOTER));
    // One worker process: its first REPEATED_BLOCK_PAGES - 1 pages (in whatever order they came) keep it.
    expect(withFooter).toHaveLength(REPEATED_BLOCK_PAGES - 1);
    expect(pages.filter((page) => page.markdown.includes(NOTE))).toHaveLength(REPEATED_BLOCK_PAGES - 1);
    for (const page of pages) {
      const n = paths.indexOf(page.url.slice(site.origin.length));
      expect(page.markdown).toMatch(new RegExp(`^# Page ${n}\n\nThe own words of page ${n}.\n\n${SHARED}`));
      // contentHash and wordCount describe the markdown as stored.
      expect(page).toMatchObject(contentStats(page.markdown));
    }
    // The page past INLINE_EXTRACT_MAX_CHARS, extracted in a thread, is counted too.
    expect(pages.some((page) => page.url.endsWith('/docs/p/1'))).toBe(true);
  });

  it.each<[string, CrawlOptionsInput]>([
    ['onlyMainContent false', { onlyMainContent: false }],
    ['includeSelectors', { includeSelectors: ['main'] }],
  ])('with %s keeps the footer on every page', async (_, options) => {
    const pages = await crawlPages(options);
    expect(pages.filter((page) => page.markdown.includes(FOOTER))).toHaveLength(PAGES);
  });
});
