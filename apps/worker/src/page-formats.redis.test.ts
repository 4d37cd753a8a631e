// The `formats` option (#14) end to end: each format asked for is on the
// stored page, the others absent, inline for a small page and in an
// extraction thread for a big one (past INLINE_EXTRACT_MAX_CHARS).
import type { CrawlOptionsInput, PageResult } from '@crawlstream/shared';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrawlWorker, } from './crawl-worker.js';
import { INLINE_EXTRACT_MAX_CHARS } from './page-extractor.js';
import { crawlFixture } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

const PADDING = `<!--${'x'.repeat(INLINE_EXTRACT_MAX_CHARS)}-->`;
const html = (path: string) => `<!doctype html><html><head><title>${path}</title><style>p{color:red}</style></head><body>
<nav><a href="/docs/big">Big page</a> <a href="https://example.com/elsewhere#top">Elsewhere</a> <a href="/blog/">Blog</a></nav>
<main><h1>Heading ${path}</h1><p>Text <a href="guide">guide</a> é &lt;b&gt;</p></main>
<footer><p>Footer ${path}</p></footer>
<script>var secret = 1;</script>${path === '/docs/big' ? PADDING : ''}
</body></html>`;

const site = useLoopbackServer((req, res) => {
  const path = req.url ?? '/';
  if (path === '/docs/' || path === '/docs/big') res.writeHead(200, { 'content-type': 'text/html' }).end(html(path));
  else res.writeHead(404).end();
});

describe('formats', () => {
  let w: CrawlWorker | undefined;
  afterEach(async () => {
    await w?.close();
  });

  async function crawlPages(options: CrawlOptionsInput): Promise<Record<string, PageResult>> {
    const { store, crawl, done } = await crawlFixture('wfmt', `${site.origin}/docs/`, options, (worker) => {
      w = worker;
    });
    expect(done.status).toBe('completed');
    const pages = (await store.pages(crawl.id, 0, 10)).items;
    return Object.fromEntries(pages.map((page) => [page.url.slice(site.origin.length), page]));
  }

  it('by default stores markdown only', async () => {
    const pages = await crawlPages({});
    expect(Object.keys(pages).sort()).toEqual(['/docs/', '/docs/big']); // /docs/guide answers 404
    for (const page of Object.values(pages)) {
      expect(page.markdown).toContain('# Heading');
      for (const key of ['html', 'rawHtml', 'links', 'truncatedFormats']) expect(page).not.toHaveProperty(key);
    }
  });

  it('stores html, rawHtml and links when asked, and no markdown when it is not asked for', async () => {
    const pages = await crawlPages({ formats: ['html', 'rawHtml', 'links'] });
    for (const path of ['/docs/', '/docs/big']) {
      const page = pages[path]!;
      expect(page).not.toHaveProperty('markdown');
      // The cleaned content: the main element's, links made absolute; no nav, footer, script or style.
      // Characters as UTF-8, only markup characters escaped.
      expect(page.html).toBe(`<h1>Heading ${path}</h1><p>Text <a href="${site.origin}/docs/guide">guide</a> é &lt;b&gt;</p>`);
      expect(page.rawHtml).toBe(html(path));
      // Every link, in scope or not, normalized (fragment dropped), in document order; the page itself left out.
      expect(page.links).toEqual(
        [`${site.origin}/docs/big`, 'https://example.com/elsewhere', `${site.origin}/blog/`, `${site.origin}/docs/guide`].filter(
          (link) => link !== `${site.origin}${path}`,
        ),
      );
      expect(page).not.toHaveProperty('truncatedFormats');
    }
  });

  it('stores markdown and html side by side', async () => {
    const pages = await crawlPages({ formats: ['markdown', 'html'] });
    expect(pages['/docs/big']).toMatchObject({
      markdown: `# Heading /docs/big\n\nText [guide](${site.origin}/docs/guide) é \\<b>`,
      html: expect.stringContaining('<h1>Heading /docs/big</h1>'),
    });
    expect(pages['/docs/big']).not.toHaveProperty('rawHtml');
  });
});
