// robots.txt (RFC 9309) for our user agent: which URLs we may fetch, how long
// to wait between requests, and the sitemaps it announces. Parsing is
// robots-parser's; this module fixes our identity and the edge-case policy.
import robotsParserModule from 'robots-parser';

// The package's typings say `export default`, but it is `module.exports = function`,
// which is what an ES module's default import receives.
const robotsParser = robotsParserModule as unknown as typeof robotsParserModule.default;

/** Sent as User-Agent with every request. */
export const USER_AGENT = 'crawlstream/0.1 (+https://github.com/crawlstream)';
/** The product token robots.txt groups are matched against. */
export const ROBOTS_TOKEN = 'crawlstream';

/** A hostile `Crawl-delay: 86400` would stall a crawl; the `delayMs` option has the same ceiling. */
export const MAX_CRAWL_DELAY_MS = 60_000;

export interface RobotsRules {
  /** False only when a rule for `ua` disallows `url`; a URL of another origin is not governed here. */
  isAllowed(url: string, ua?: string): boolean;
  /** Crawl-delay for `ua` in milliseconds, capped at MAX_CRAWL_DELAY_MS. */
  crawlDelayMs(ua?: string): number | undefined;
  /** Absolute `Sitemap:` URLs, in file order. */
  sitemaps: string[];
}

/** The robots.txt URL that governs `url`. */
export function robotsUrlFor(url: string): string {
  return new URL('/robots.txt', url).href;
}

/** Rules from a fetched robots.txt; `robotsUrl` is where it was fetched from. */
export function parseRobots(robotsUrl: string, body: string): RobotsRules {
  const robot = robotsParser(robotsUrl, body);
  return {
    isAllowed: (url, ua = ROBOTS_TOKEN) => robot.isAllowed(url, ua) ?? true,
    crawlDelayMs(ua = ROBOTS_TOKEN) {
      const seconds = robot.getCrawlDelay(ua);
      if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return undefined;
      return Math.min(Math.round(seconds * 1000), MAX_CRAWL_DELAY_MS);
    },
    sitemaps: robot.getSitemaps(),
  };
}

/**
 * Rules when robots.txt could not be read (RFC 9309 2.3.1.3-4): a 4xx means
 * there are no rules; a 5xx or a network failure means assume everything is
 * disallowed until it can be read, since the site may be protecting itself.
 */
export function robotsForUnavailable(status: number | undefined): RobotsRules {
  const allowed = status !== undefined && status >= 400 && status < 500;
  return { isAllowed: () => allowed, crawlDelayMs: () => undefined, sitemaps: [] };
}
