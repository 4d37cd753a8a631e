// URL normalization: the one canonical spelling of a crawlable URL, so that
// `/a`, `/a#x` and `HTTP://Host:80/a` dedupe to the same frontier entry.
import { MAX_URL_LENGTH } from './limits.js';

/**
 * Resolves `raw` against `base` and returns its canonical form, or null when
 * it is not something we would ever fetch. The WHATWG parser already
 * lower-cases scheme and host, drops the default port and resolves dot
 * segments; we only add what it leaves alone: the fragment (never sent to the
 * server, so `/a#x` is `/a`). The query string is kept byte for byte: servers
 * may treat `?b=1&a=2` and `?a=2&b=1` differently.
 */
export function normalizeUrl(raw: string, base?: string | URL): string | null {
  return normalizedUrl(raw, base)?.href ?? null;
}

/** normalizeUrl as a parsed URL, for callers that go on to read its parts (one parse, not two). */
export function normalizedUrl(raw: string, base?: string | URL): URL | null {
  const url = URL.parse(raw.trim(), base?.toString());
  if (!url) return null;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // The API refuses URLs with credentials; a link must not smuggle them in.
  if (url.username !== '' || url.password !== '') return null;
  if (url.hostname === '') return null;
  url.hash = '';
  return url.href.length > MAX_URL_LENGTH ? null : url;
}

/**
 * A normalized URL without its query, for crawls with `ignoreQueryParameters`
 * (URLs that differ only in their query are one page): `/a?x=1` and `/a?y=2`
 * are both `/a`.
 */
export function withoutQuery(url: string): string {
  if (!url.includes('?')) return url;
  const parsed = URL.parse(url);
  if (!parsed) return url;
  parsed.search = '';
  return parsed.href;
}

/** The links a crawl claims: as found, or (`ignoreQueryParameters`) without their queries, each once. */
export function crawlLinks(links: readonly string[], ignoreQueryParameters: boolean): string[] {
  return ignoreQueryParameters ? [...new Set(links.map(withoutQuery))] : [...links];
}
