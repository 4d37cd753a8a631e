// Page extraction off the event loop: a page past INLINE_EXTRACT_MAX_CHARS
// is extracted in a worker thread (the loop stays free to renew job locks),
// one at the limit inline, and both give what extractPage gives. Needs the
// build (the thread runs dist/extract-thread.cjs).
import { extractPage } from '@crawlstream/pipeline';
import { afterAll, describe, expect, it } from 'vitest';
import { INLINE_EXTRACT_MAX_CHARS, PageExtractor } from './page-extractor.js';

const extractor = new PageExtractor(1);
afterAll(() => extractor.close());

/** An HTML page of exactly `chars` characters, with links and text. */
function pageOf(chars: number): string {
  const head = '<html><head><title>Sized</title></head><body><main>';
  const tail = '</main></body></html>';
  let body = '';
  for (let i = 0; body.length < chars - head.length - tail.length - 40; i++) body += `<p><a href="/p${i}">p${i}</a> text</p>`;
  return head + body.padEnd(chars - head.length - tail.length, ' ') + tail;
}

describe('PageExtractor', () => {
  it('extracts a page at the limit inline and one past it in a thread, with the same result as extractPage', async () => {
    // Fails if big pages stayed on the event loop (threaded stays 0), or if the thread's result differed.
    const url = 'http://127.0.0.1:9/docs/';
    const atLimit = pageOf(INLINE_EXTRACT_MAX_CHARS);
    const pastLimit = pageOf(INLINE_EXTRACT_MAX_CHARS + 1);
    expect([atLimit.length, pastLimit.length]).toEqual([INLINE_EXTRACT_MAX_CHARS, INLINE_EXTRACT_MAX_CHARS + 1]);
    expect(await extractor.extract(atLimit, url)).toEqual(extractPage(atLimit, url));
    expect(extractor.threaded).toBe(0);
    expect(await extractor.extract(pastLimit, url)).toEqual(extractPage(pastLimit, url));
    expect(extractor.threaded).toBe(1);
  });

  it('passes the content options to extractPage; with selectors, even a small page goes to a thread', async () => {
    const url = 'http://127.0.0.1:9/docs/';
    const small = pageOf(1024);
    let before = extractor.threaded;
    expect(await extractor.extract(small, url, undefined, { onlyMainContent: false })).toEqual(extractPage(small, url, { onlyMainContent: false }));
    expect(extractor.threaded).toBe(before);
    const options = { includeSelectors: ['p:even'], excludeSelectors: ['p:has(a[href$="5"])'], onlyMainContent: false };
    before = extractor.threaded;
    for (const html of [pageOf(1024), pageOf(INLINE_EXTRACT_MAX_CHARS), pageOf(INLINE_EXTRACT_MAX_CHARS + 1)]) {
      const extracted = await extractor.extract(html, url, undefined, options);
      expect(extracted).toEqual(extractPage(html, url, options));
      expect(extracted.markdown).not.toEqual(extractPage(html, url).markdown);
      expect(extracted.markdown).toMatch(/^\[p0\]\(http:\/\/127\.0\.0\.1:9\/p0\) text\n\n\[p2\]/);
      expect(extracted.markdown).not.toContain('[p5]');
    }
    expect(extractor.threaded).toBe(before + 3);
  });

  it('stops a thread\'s extraction when the signal aborts (a worker stopping)', async () => {
    // Fails if the abort did not reach the thread: the promise would resolve with the page.
    const controller = new AbortController();
    const pending = extractor.extract(pageOf(4 * INLINE_EXTRACT_MAX_CHARS), 'http://127.0.0.1:9/docs/', controller.signal);
    controller.abort();
    await expect(pending).rejects.toThrow();
  });
});
