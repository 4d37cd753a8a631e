// Sitemaps (sitemaps.org): page URLs from a `<urlset>`, child sitemaps from a
// `<sitemapindex>`, or one URL per line from a text sitemap. Input comes from
// the open web, so anything unreadable yields nothing rather than an error.
import { XMLParser } from 'fast-xml-parser';
import { normalizeUrl } from './url.js';

export interface SitemapEntries {
  /** Page URLs (`urlset/url/loc`), normalized and deduped, at most `maxUrls`. */
  urls: string[];
  /** Child sitemaps (`sitemapindex/sitemap/loc`), at most `maxUrls`. */
  sitemaps: string[];
}

const parser = new XMLParser({
  ignoreAttributes: true,
  // `<s:urlset xmlns:s=...>` is the same sitemap as `<urlset>`.
  removeNSPrefix: true,
  parseTagValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => name === 'url' || name === 'sitemap',
  // Standard entities (`&amp;` is common in URLs) with the library's expansion limits;
  // a sitemap has no business declaring its own.
  processEntities: { enabled: true, maxEntityCount: 10, maxExpandedLength: 10_000 },
});

const EMPTY: SitemapEntries = { urls: [], sitemaps: [] };

/** `sitemapUrl` resolves relative `<loc>` values, which the protocol forbids but sites write. */
export function parseSitemap(body: string, maxUrls: number, sitemapUrl?: string): SitemapEntries {
  const text = body.replace(/^\uFEFF/, '').trim();
  if (text === '' || maxUrls <= 0) return EMPTY;
  if (!text.startsWith('<'))
    return { urls: locs(text.split(/\r?\n/), maxUrls, sitemapUrl), sitemaps: [] };

  let document: unknown;
  try {
    document = parser.parse(text);
  } catch {
    return EMPTY;
  }
  const root = isRecord(document) ? document : {};
  return {
    urls: locs(entries(root.urlset, 'url'), maxUrls, sitemapUrl),
    sitemaps: locs(entries(root.sitemapindex, 'sitemap'), maxUrls, sitemapUrl),
  };
}

/** The `<loc>` texts of the `<url>` or `<sitemap>` children of a root element. */
function entries(root: unknown, child: 'url' | 'sitemap'): unknown[] {
  if (!isRecord(root)) return [];
  const list = root[child];
  if (!Array.isArray(list)) return [];
  return list.map((entry) => (isRecord(entry) ? entry.loc : undefined));
}

function locs(values: unknown[], maxUrls: number, base?: string): string[] {
  const found = new Set<string>();
  for (const value of values) {
    if (typeof value !== 'string') continue;
    const url = normalizeUrl(value, base);
    if (url) found.add(url);
    if (found.size >= maxUrls) break;
  }
  return [...found];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
