import { describe, expect, it } from 'vitest';
import { parseSitemap } from './sitemap.js';

const urlset = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>https://docs.test/a</loc><lastmod>2026-01-01</lastmod><priority>0.8</priority></url>
  <url>
    <loc>
      https://docs.test/b?x=1&amp;y=2
    </loc>
    <image:image><image:loc>https://docs.test/img.png</image:loc></image:image>
  </url>
  <url><loc>https://DOCS.test:443/a#dup</loc></url>
  <url><loc><![CDATA[https://docs.test/c]]></loc></url>
  <url><loc>mailto:x@docs.test</loc></url>
  <url><changefreq>daily</changefreq></url>
</urlset>`;

describe('parseSitemap', () => {
  it('reads page URLs from a urlset, normalized and deduped', () => {
    expect(parseSitemap(urlset, 100)).toEqual({
      urls: ['https://docs.test/a', 'https://docs.test/b?x=1&y=2', 'https://docs.test/c'],
      sitemaps: [],
    });
  });

  it('reads child sitemaps from a sitemap index', () => {
    const index = `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://docs.test/sitemap-1.xml</loc></sitemap>
      <sitemap><loc>https://docs.test/sitemap-2.xml.gz</loc><lastmod>2026-01-01</lastmod></sitemap>
    </sitemapindex>`;
    expect(parseSitemap(index, 100)).toEqual({
      urls: [],
      sitemaps: ['https://docs.test/sitemap-1.xml', 'https://docs.test/sitemap-2.xml.gz'],
    });
  });

  it('handles a single entry and namespace prefixes', () => {
    const prefixed =
      '<s:urlset xmlns:s="http://www.sitemaps.org/schemas/sitemap/0.9"><s:url><s:loc>https://docs.test/only</s:loc></s:url></s:urlset>';
    expect(parseSitemap(prefixed, 10).urls).toEqual(['https://docs.test/only']);
  });

  it('stops at maxUrls', () => {
    const many = `<urlset>${Array.from({ length: 5000 }, (_, i) => `<url><loc>https://docs.test/p${i}</loc></url>`).join('')}</urlset>`;
    const { urls } = parseSitemap(many, 250);
    expect(urls).toHaveLength(250);
    expect(urls[249]).toBe('https://docs.test/p249');
  });

  it('reads a text sitemap, one URL per line', () => {
    expect(
      parseSitemap('https://docs.test/a\r\nhttps://docs.test/b\n\nnot a url\n', 10).urls,
    ).toEqual(['https://docs.test/a', 'https://docs.test/b']);
  });

  it('resolves relative locs against the sitemap URL when given', () => {
    const relative = '<urlset><url><loc>/guide/</loc></url></urlset>';
    expect(parseSitemap(relative, 10).urls).toEqual([]);
    expect(parseSitemap(relative, 10, 'https://docs.test/sitemap.xml').urls).toEqual([
      'https://docs.test/guide/',
    ]);
  });

  it.each([
    ['empty', ''],
    ['HTML', '<!doctype html><html><body><a href="https://docs.test/a">a</a></body></html>'],
    ['binary', '\u0000\u0001\u0002\uFFFD<<<'],
    ['unclosed tags', '<urlset><url><loc>'],
    ['JSON', '{"urlset": {"url": [{"loc": "https://docs.test/a"}]}}'],
    ['wrong shape', '<urlset><url>text only</url><url><loc><x>nested</x></loc></url></urlset>'],
    ['RSS', '<rss><channel><item><link>https://docs.test/a</link></item></channel></rss>'],
    [
      'entity bomb',
      `<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><urlset><url><loc>&lol3;</loc></url></urlset>`,
    ],
  ])('tolerates garbage (%s) by returning nothing', (_name, body) => {
    expect(parseSitemap(body, 100)).toEqual({ urls: [], sitemaps: [] });
  });

  it('keeps the complete entries of a truncated sitemap (a download cut short)', () => {
    const truncated =
      '<urlset><url><loc>https://docs.test/a</loc></url><url><loc>https://docs.test/b</loc></url><url><loc>https://docs.te';
    expect(parseSitemap(truncated, 100)).toEqual({
      urls: ['https://docs.test/a', 'https://docs.test/b'],
      sitemaps: [],
    });
  });
});
