import { describe, expect, it } from 'vitest';
import {
  MAX_CRAWL_DELAY_MS,
  parseRobots,
  ROBOTS_TOKEN,
  robotsForUnavailable,
  robotsUrlFor,
  USER_AGENT,
} from './robots.js';

const robotsUrl = 'https://docs.test/robots.txt';
const body = `
User-agent: *
Disallow: /private/
Crawl-delay: 2

User-agent: crawlstream
Disallow: /drafts/
Allow: /drafts/published/
Crawl-delay: 0.5

User-agent: slowbot
Crawl-delay: 100000

Sitemap: https://docs.test/sitemap.xml
Sitemap: https://docs.test/sitemap-2.xml
`;

describe('parseRobots', () => {
  const rules = parseRobots(robotsUrl, body);

  it('applies the group for our token, not the * group', () => {
    expect(rules.isAllowed('https://docs.test/drafts/x')).toBe(false);
    expect(rules.isAllowed('https://docs.test/drafts/published/x')).toBe(true);
    // Our own group replaces *, so /private/ is not forbidden to us.
    expect(rules.isAllowed('https://docs.test/private/x')).toBe(true);
    expect(rules.isAllowed('https://docs.test/private/x', 'otherbot')).toBe(false);
  });

  it('matches our full User-Agent header to our group', () => {
    expect(rules.isAllowed('https://docs.test/drafts/x', USER_AGENT)).toBe(false);
    expect(ROBOTS_TOKEN).toBe('crawlstream');
  });

  it('gives Crawl-delay in milliseconds, capped', () => {
    expect(rules.crawlDelayMs()).toBe(500);
    expect(rules.crawlDelayMs('otherbot')).toBe(2000);
    expect(rules.crawlDelayMs('slowbot')).toBe(MAX_CRAWL_DELAY_MS);
  });

  it('lists the sitemaps', () => {
    expect(rules.sitemaps).toEqual([
      'https://docs.test/sitemap.xml',
      'https://docs.test/sitemap-2.xml',
    ]);
  });

  it('does not govern another origin', () => {
    expect(rules.isAllowed('https://elsewhere.test/drafts/x')).toBe(true);
  });

  it('allows everything for an empty or garbage file', () => {
    for (const text of ['', '\u0000\u0001 not robots {{{', '<html><body>404</body></html>']) {
      const parsed = parseRobots(robotsUrl, text);
      expect(parsed.isAllowed('https://docs.test/anything')).toBe(true);
      expect(parsed.crawlDelayMs()).toBeUndefined();
      expect(parsed.sitemaps).toEqual([]);
    }
  });
});

describe('robotsForUnavailable', () => {
  it('allows all after a 4xx and disallows all after a 5xx or no answer (RFC 9309)', () => {
    expect(robotsForUnavailable(404).isAllowed('https://docs.test/a')).toBe(true);
    expect(robotsForUnavailable(503).isAllowed('https://docs.test/a')).toBe(false);
    expect(robotsForUnavailable(undefined).isAllowed('https://docs.test/a')).toBe(false);
  });
});

it('robotsUrlFor finds the file at the root of the origin', () => {
  expect(robotsUrlFor('https://docs.test:8443/a/b?c#d')).toBe('https://docs.test:8443/robots.txt');
});
