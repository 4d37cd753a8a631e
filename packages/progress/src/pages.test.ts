import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePage, encodePage } from './pages.js';

const page = (markdown: string) => ({
  url: 'http://127.0.0.1:9/a',
  title: 'A "quoted"\ntitle',
  depth: 2,
  status: 200,
  markdown,
  fetchedAt: '2026-11-23T10:00:00.000Z',
});

describe('stored pages', () => {
  it('round-trip any markdown, small ones stored plain and large ones compressed', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (markdown) => {
        expect(decodePage(encodePage(page(markdown)))).toEqual(page(markdown));
      }),
    );
    const large = page(`# Title\n\n${'Some text.\n'.repeat(2000)}`);
    const blob = encodePage(large);
    expect(blob[0]).toBe(0x1f); // gzip
    expect(blob.length).toBeLessThan(large.markdown.length / 5);
    expect(encodePage(page('tiny'))[0]).toBe('{'.charCodeAt(0));
  });

  it('keep a page stored without markdown without it, and one with empty markdown with it', () => {
    const { markdown: _, ...bare } = page('');
    const withFormats = { ...bare, html: '<p>x\ny</p>', links: ['http://127.0.0.1:9/b'] };
    expect(decodePage(encodePage(withFormats))).toEqual(withFormats);
    expect(decodePage(encodePage(withFormats))).not.toHaveProperty('markdown');
    const big = { ...bare, rawHtml: 'x'.repeat(5000) };
    expect(decodePage(encodePage(big))).toEqual(big);
    expect(decodePage(encodePage(page('')))).toHaveProperty('markdown', '');
  });
});
