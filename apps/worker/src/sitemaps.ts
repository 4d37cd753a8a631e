// Seeds a crawl's frontier from its sitemaps: robots.txt `Sitemap:` lines and
// /sitemap.xml, following sitemap indexes, keeping only in-scope URLs, within
// maxPages. Best effort: a missing or broken sitemap seeds nothing. Only
// sitemap files on the start URL's origin or in the crawl's scope are read
// (robots.txt and indexes may name any host), through the caller's guarded
// dispatcher.
import { type FetchOptions, fetchText, parseSitemap, type RobotsRules } from '@crawlstream/pipeline';

/** Sitemap files read per crawl at most (indexes included). */
const MAX_SITEMAP_FILES = 20;

export async function sitemapUrls(
  startUrl: string,
  robots: RobotsRules | undefined,
  maxUrls: number,
  inScope: (url: string) => boolean,
  fetchOptions: FetchOptions,
): Promise<string[]> {
  const origin = new URL(startUrl).origin;
  const mayRead = (url: string) => URL.parse(url)?.origin === origin || inScope(url);
  const queue = [...(robots?.sitemaps ?? []), new URL('/sitemap.xml', startUrl).href].filter(mayRead);
  const read = new Set<string>();
  const found = new Set<string>();
  while (queue.length > 0 && read.size < MAX_SITEMAP_FILES && found.size < maxUrls) {
    const sitemapUrl = queue.shift()!;
    if (read.has(sitemapUrl)) continue;
    read.add(sitemapUrl);
    // A redirect is held to the same rule as the file it comes from.
    const fetched = await fetchText(sitemapUrl, { ...fetchOptions, isInScope: mayRead });
    if (fetched.kind !== 'text') continue;
    const entries = parseSitemap(fetched.text, maxUrls, fetched.finalUrl);
    for (const url of entries.urls) {
      if (found.size >= maxUrls) break;
      if (inScope(url)) found.add(url);
    }
    for (const child of entries.sitemaps) {
      if (queue.length >= MAX_SITEMAP_FILES) break;
      if (mayRead(child)) queue.push(child);
    }
  }
  return [...found];
}
