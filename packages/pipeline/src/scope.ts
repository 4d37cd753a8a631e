// Crawl scope: which discovered URLs belong to a crawl, from the start URL,
// the `scope` option and the `include`/`exclude` path globs (DESIGN.md section 1).
import { type CrawlOptions, compilePathGlob } from '@crawlstream/shared';
import { getDomain } from 'tldts';
import { normalizedUrl, normalizeUrl } from './url.js';

export type ScopeOptions = Pick<CrawlOptions, 'scope' | 'include' | 'exclude'>;

export interface Scope {
  /** True when `url` (absolute, any spelling) belongs to the crawl. */
  inScope(url: string): boolean;
  /** Bytes held by the compiled globs (a cache of scopes weighs them by this). */
  readonly bytes: number;
}

interface PathMatcher {
  test(path: string): boolean;
  bytes: number;
}

const NO_GLOBS: PathMatcher = { test: () => false, bytes: 0 };

export function makeScope(startUrl: string, options: ScopeOptions): Scope {
  const normalized = normalizeUrl(startUrl);
  if (!normalized) throw new TypeError(`not a crawlable start URL: ${startUrl}`);
  const start = new URL(normalized);
  const inArea = areaMatcher(start, options.scope);
  const included = globMatcher(options.include);
  const excluded = globMatcher(options.exclude);

  const everyPath = options.include.length === 0 && options.exclude.length === 0;
  return {
    inScope(raw) {
      const url = normalizedUrl(raw);
      if (!url || !inArea(url)) return false;
      if (everyPath) return true;
      const paths = pathForms(url.pathname);
      if (paths.some((path) => excluded.test(path))) return false;
      return options.include.length === 0 || paths.some((path) => included.test(path));
    },
    bytes: included.bytes + excluded.bytes,
  };
}

function areaMatcher(start: URL, scope: ScopeOptions['scope']): (url: URL) => boolean {
  switch (scope) {
    case 'origin':
      return (url) => url.origin === start.origin;
    case 'prefix': {
      // The start URL's directory: `/docs/guide/intro.html` crawls `/docs/guide/`.
      const prefix = start.pathname.slice(0, start.pathname.lastIndexOf('/') + 1);
      return (url) => url.origin === start.origin && url.pathname.startsWith(prefix);
    }
    case 'domain': {
      const site = registrableDomain(start.hostname);
      return (url) => registrableDomain(url.hostname) === site;
    }
  }
}

/**
 * The registrable domain (eTLD+1), or the host itself for IP addresses and
 * single-label hosts. Private suffixes count as public ones, so `a.github.io`
 * and `b.github.io` are different sites, as they are different owners.
 */
function registrableDomain(hostname: string): string {
  return getDomain(hostname, { allowPrivateDomains: true }) ?? hostname;
}

/**
 * Globs are matched against the path with the linear-time matcher of
 * @crawlstream/shared (glob.ts says why not picomatch). A pattern without a
 * slash (`*.pdf`) matches the last segment anywhere; one with a slash but no
 * leading one (`docs/**`) is anchored at the root, as users write it.
 */
function globMatcher(patterns: string[]): PathMatcher {
  if (patterns.length === 0) return NO_GLOBS;
  const matchers = patterns.map(compilePathGlob);
  return {
    test: (path) => matchers.some((matcher) => matcher.test(path)),
    bytes: matchers.reduce((sum, matcher) => sum + matcher.tableBytes, 0),
  };
}

/** The path as sent and, when it differs, as a person would type it (`café`, not `caf%C3%A9`). */
function pathForms(pathname: string): string[] {
  let decoded: string;
  try {
    decoded = decodeURI(pathname);
  } catch {
    return [pathname];
  }
  return decoded === pathname ? [pathname] : [pathname, decoded];
}
