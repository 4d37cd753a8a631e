// onlyMainContent, includeSelectors and excludeSelectors (#14) end to end: a
// crawl's options reach the extractor, inline for a small page and in an
// extraction thread for a big one (past INLINE_EXTRACT_MAX_CHARS).
import type { CrawlOptionsInput } from '@crawlstream/shared';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrawlWorker, } from './crawl-worker.js';
import { INLINE_EXTRACT_MAX_CHARS } from './page-extractor.js';
import { crawlFixture } from './test-support/crawl.js';
import { useLoopbackServer } from './test-support/loopback-server.js';

/** A comment to make /docs/big a page the worker extracts in a thread (comments never reach the markdown). */
const PADDING = `<!--${'x'.repeat(INLINE_EXTRACT_MAX_CHARS)}-->`;
const html = (path: string) => `<!doctype html><html><head><title>${path}</title><style>p{color:red}</style></head><body>
<nav><a href="/docs/big">Big page</a></nav>
<main><h1>Heading ${path}</h1>
  <div class="keep"><p>Kept ${path}</p></div>
  <div class="drop"><p>Dropped ${path}</p></div>
  <p>Other ${path}</p>
</main>
<footer><p>Footer ${path}</p></footer>
<script>var secret = 1;</script>${path === '/docs/big' ? PADDING : ''}
</body></html>`;

const site = useLoopbackServer((req, res) => {
  const path = req.url ?? '/';
  if (path === '/docs/' || path === '/docs/big') res.writeHead(200, { 'content-type': 'text/html' }).end(html(path));
  else res.writeHead(404).end();
});

describe('content selection options', () => {
  let w: CrawlWorker | undefined;
  afterEach(async () => {
    await w?.close();
  });

  it('the fixture has a page extracted inline and one extracted in a thread', () => {
    expect(html('/docs/').length).toBeLessThanOrEqual(INLINE_EXTRACT_MAX_CHARS);
    expect(html('/docs/big').length).toBeGreaterThan(INLINE_EXTRACT_MAX_CHARS);
  });

  async function crawlMarkdown(options: CrawlOptionsInput): Promise<Record<string, string>> {
    const { store, crawl, done } = await crawlFixture('wsel', `${site.origin}/docs/`, options, (worker) => {
      w = worker;
    });
    // Links come from the whole page whatever is selected: /docs/big is found through the nav.
    expect(done).toMatchObject({ status: 'completed', counters: { processed: 2, failed: 0 } });
    const pages = (await store.pages(crawl.id, 0, 10)).items;
    return Object.fromEntries(pages.map((page) => [page.url.slice(site.origin.length), page.markdown ?? '']));
  }

  it('by default stores the main content only', async () => {
    const markdown = await crawlMarkdown({});
    for (const path of ['/docs/', '/docs/big']) {
      expect(markdown[path]).toBe(`# Heading ${path}\n\nKept ${path}\n\nDropped ${path}\n\nOther ${path}`);
    }
  });

  it('with includeSelectors and excludeSelectors stores only the included blocks, without the excluded ones', async () => {
    const markdown = await crawlMarkdown({ includeSelectors: ['.drop', '.keep'], excludeSelectors: ['.drop'] });
    expect(markdown).toEqual({ '/docs/': 'Kept /docs/', '/docs/big': 'Kept /docs/big' });
  });

  it('with an include selector that matches nothing stores empty markdown', async () => {
    const markdown = await crawlMarkdown({ includeSelectors: ['#nowhere'] });
    expect(markdown).toEqual({ '/docs/': '', '/docs/big': '' });
  });

  it('with onlyMainContent false stores the whole body, nav and footer kept, never the script or style', async () => {
    const markdown = await crawlMarkdown({ onlyMainContent: false, excludeSelectors: ['.drop'] });
    for (const path of ['/docs/', '/docs/big']) {
      expect(markdown[path]).toBe(
        `[Big page](${site.origin}/docs/big)\n\n# Heading ${path}\n\nKept ${path}\n\nOther ${path}\n\nFooter ${path}`,
      );
    }
  });
});
