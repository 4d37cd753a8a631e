// The `formats` option's parts of a page (#14) through the store: html,
// rawHtml and links kept on the stored record as the worker sends them,
// each cut at its bound (kept whole at it), the cut ones named in
// `truncatedFormats`; markdown left out when the crawl's formats leave it out.
import { MAX_HTML_BYTES, MAX_LINKS_BYTES, MAX_LINKS_PER_PAGE, pageResult } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { storedFormats } from './settle-records.js';
import { options, page, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

/** `count` distinct links of `length` characters each. */
function links(count: number, length: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const head = `http://127.0.0.1:9/${i}/`;
    return head + 'x'.repeat(length - head.length);
  });
}

describe('page formats in the store', () => {
  it('are kept on the record and read back; markdown left out when not asked for', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const formats = { html: '<h1>Docs</h1>\n<p>é</p>', rawHtml: '<!doctype html><title>Docs</title>', pageLinks: ['https://example.com/'] };
    await store.settle(crawl.id, { ...page(START), withoutMarkdown: true, truncated: true, ...formats });
    const [item] = (await store.pages(crawl.id, 0, 10)).items;
    expect(item).toMatchObject({ url: START, html: formats.html, rawHtml: formats.rawHtml, links: formats.pageLinks });
    expect(item).not.toHaveProperty('markdown');
    expect(item).not.toHaveProperty('truncated');
    expect(item).not.toHaveProperty('truncatedFormats');
    expect(pageResult.parse(item)).toEqual(item);
  });

  it('html and rawHtml are kept whole at MAX_HTML_BYTES and cut one byte past it, at a character boundary', () => {
    const at = `${'a'.repeat(MAX_HTML_BYTES - 2)}é`; // é is two bytes
    expect(storedFormats({ html: at, rawHtml: at })).toEqual({ html: at, rawHtml: at });
    const past = `${'a'.repeat(MAX_HTML_BYTES - 1)}é`;
    expect(storedFormats({ html: past, rawHtml: 'small' })).toEqual({
      html: 'a'.repeat(MAX_HTML_BYTES - 1),
      rawHtml: 'small',
      truncatedFormats: ['html'],
    });
    expect(storedFormats({ rawHtml: `${at}b` }).truncatedFormats).toEqual(['rawHtml']);
  });

  it('links are kept whole at MAX_LINKS_PER_PAGE and at MAX_LINKS_BYTES, cut one past either', () => {
    const byCount = links(MAX_LINKS_PER_PAGE + 1, 40);
    expect(storedFormats({ pageLinks: byCount.slice(0, -1) })).toEqual({ links: byCount.slice(0, -1) });
    expect(storedFormats({ pageLinks: byCount })).toEqual({ links: byCount.slice(0, -1), truncatedFormats: ['links'] });
    // 511 links of 2,048 bytes and two of 1,024 are MAX_LINKS_BYTES exactly; the last one a byte longer is one past.
    const full = links(MAX_LINKS_BYTES / 2048 - 1, 2048);
    const at = [...full, ...links(2, 1024).map((link) => link.replace('/0/', '/a/').replace('/1/', '/b/'))];
    expect(at.join('').length).toBe(MAX_LINKS_BYTES);
    expect(storedFormats({ pageLinks: at })).toEqual({ links: at });
    const past = [...at.slice(0, -1), `${at.at(-1)}y`];
    expect(storedFormats({ pageLinks: past })).toEqual({ links: at.slice(0, -1), truncatedFormats: ['links'] });
  });

  it('stores a cut format with truncatedFormats, read back through pages', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    await store.settle(crawl.id, { ...page(START), rawHtml: 'r'.repeat(MAX_HTML_BYTES + 1) });
    const [item] = (await store.pages(crawl.id, 0, 10)).items;
    expect(item?.rawHtml).toHaveLength(MAX_HTML_BYTES);
    expect(item).toMatchObject({ truncatedFormats: ['rawHtml'], markdown: expect.any(String) });
  });
});
