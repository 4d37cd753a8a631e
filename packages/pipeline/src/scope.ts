// Crawl scope: which discovered URLs belong to a crawl, from the start URLs
// (`url` and the `urls` option: the union of their areas), the `scope` option
// and the `include`/`exclude` path globs (DESIGN.md section 1).
import { type CrawlOptions, compilePathGlob } from '@crawlstream/shared';
import { getDomain } from 'tldts';
import { normalizedUrl, normalizeUrl } from './url.js';

export type ScopeOptions = Pick<CrawlOptions, 'scope' | 'include' | 'exclude'> & {
  /** More start URLs (absent from crawls stored before the option). */
  urls?: readonly string[] | undefined;
};

export interface Scope {
  /** True when `url` (absolute, any spelling) belongs to the crawl. */
  inScope(url: string): boolean;
  /**
   * Why `url` is not in scope: `out_of_scope` (outside every start URL's
   * area, or not a crawlable URL), `excluded` (an `exclude` glob), or
   * `not_included` (no `include` glob); null when it is in scope.
   */
  whyOut(url: string): 'out_of_scope' | 'excluded' | 'not_included' | null;
  /** Bytes held by the compiled globs (a cache of scopes weighs them by this). */
  readonly bytes: number;
}

interface PathMatcher {
  test(path: string): boolean;
  bytes: number;
}

const NO_GLOBS: PathMatcher = { test: () => false, bytes: 0 };

/** A URL is in scope when it is in the area of any start URL (`startUrl` or `options.urls`) and passes the globs. */
export function makeScope(startUrl: string, options: ScopeOptions): Scope {
  const starts = [startUrl, ...(options.urls ?? [])].map((raw) => {
    const normalized = normalizeUrl(raw);
    if (!normalized) throw new TypeError(`not a crawlable start URL: ${raw}`);
    return new URL(normalized);
  });
  const inArea = areaMatcher(starts, options.scope);
  const included = globMatcher(options.include);
  const excluded = globMatcher(options.exclude);

  const everyPath = options.include.length === 0 && options.exclude.length === 0;
  const whyOut = (raw: string) => {
    const url = normalizedUrl(raw);
    if (!url || !inArea(url)) return 'out_of_scope';
    if (everyPath) return null;
    const paths = pathForms(url.pathname);
    if (paths.some((path) => excluded.test(path))) return 'excluded';
    return options.include.length === 0 || paths.some((path) => included.test(path)) ? null : 'not_included';
  };
  return {
    inScope: (raw) => whyOut(raw) === null,
    whyOut,
    bytes: included.bytes + excluded.bytes,
  };
}

/** The union of the start URLs' areas: a lookup by origin or site, so up to 101 start URLs cost about what one does. */
function areaMatcher(starts: readonly URL[], scope: ScopeOptions['scope']): (url: URL) => boolean {
  switch (scope) {
    case 'origin': {
      const origins = new Set(starts.map((start) => start.origin));
      return (url) => origins.has(url.origin);
    }
    case 'prefix': {
      // Each start URL's directory: `/docs/guide/intro.html` crawls `/docs/guide/`.
      const prefixes = new Map<string, string[]>();
      for (const start of starts) {
        const prefix = start.pathname.slice(0, start.pathname.lastIndexOf('/') + 1);
        const list = prefixes.get(start.origin) ?? [];
        if (!list.includes(prefix)) list.push(prefix);
        prefixes.set(start.origin, list);
      }
      return (url) => prefixes.get(url.origin)?.some((prefix) => url.pathname.startsWith(prefix)) ?? false;
    }
    case 'domain': {
      const sites = new Set(starts.map((start) => registrableDomain(start.hostname)));
      return (url) => sites.has(registrableDomain(url.hostname));
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
