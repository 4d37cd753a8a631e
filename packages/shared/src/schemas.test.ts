import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_EVENT_TYPES,
  CRAWL_STATUSES,
  type CrawlEvent,
  clientCrawl,
  clientCrawlEvent,
  crawl,
  crawlEvent,
  crawlOptionsSchema,
  crawlRequest,
  crawlRequestSchema,
  EVENT_TYPES,
  isTerminalEvent,
  isTerminalStatus,
  MAX_GLOB_LENGTH,
  MAX_OPTIONS_BYTES,
  MAX_PAGE_BYTES,
  MAX_PAGES_CEILING,
  MAX_START_URLS,
  MAX_URL_LENGTH,
  startUrlsOf,
  MAX_SELECTOR_LENGTH,
  MAX_SELECTORS,
} from './index.js';

const counters = { discovered: 3, processed: 1, failed: 1, skipped: 1 };
const options = crawlOptionsSchema().parse({});
const base = { crawlId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', ts: 1_700_000_000_000 };

/** One valid example of every event type of DESIGN.md section 2. */
const examples: CrawlEvent[] = [
  {
    type: 'snapshot',
    ...base,
    id: base.crawlId,
    url: 'https://docs.example.test/',
    status: 'running',
    options,
    counters,
    createdAt: '2026-11-23T10:00:00.000Z',
    startedAt: '2026-11-23T10:00:00.001Z',
  },
  { type: 'started', ...base, url: 'https://docs.example.test/', options },
  { type: 'discovered', ...base, urls: ['https://docs.example.test/a'], depth: 1 },
  {
    type: 'page',
    ...base,
    url: 'https://docs.example.test/a',
    title: 'A',
    depth: 1,
    status: 200,
    bytes: 1234,
    durationMs: 12,
  },
  {
    type: 'page_failed',
    ...base,
    url: 'https://docs.example.test/b',
    reason: 'http_5xx',
    message: 'HTTP 503',
    status: 503,
    attempts: 3,
  },
  { type: 'page_skipped', ...base, url: 'https://docs.example.test/c.pdf', reason: 'not_html' },
  { type: 'progress', ...base, counters, pagesPerSecond: 4.5 },
  { type: 'completed', ...base, counters, durationMs: 999 },
  { type: 'failed', ...base, error: { code: 'start_failed', message: 'DNS' }, counters },
  { type: 'cancelled', ...base, counters },
  { type: 'reset', ...base, reason: 'cursor_trimmed' },
];

describe('stream events', () => {
  it('has an example for every event type of the contract', () => {
    expect(new Set(examples.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
    expect(EVENT_TYPES).toHaveLength(11);
  });

  it.each(examples)('$type round-trips through JSON unchanged', (event) => {
    const wire = JSON.stringify(event);
    expect(wire).not.toContain('\n');
    expect(crawlEvent.parse(JSON.parse(wire))).toEqual(event);
  });

  it('rejects an unknown type and a payload of the wrong shape', () => {
    expect(crawlEvent.safeParse({ type: 'nope', ...base }).success).toBe(false);
    expect(
      crawlEvent.safeParse({ type: 'discovered', ...base, urls: 'x', depth: 1 }).success,
    ).toBe(false);
    expect(crawlEvent.safeParse({ type: 'page', ...base, url: 'x' }).success).toBe(false);
  });
});

describe('what clients read: additive changes never break a client', () => {
  it.each(examples)('$type parses as the server wrote it', (event) => {
    expect(clientCrawlEvent.parse(JSON.parse(JSON.stringify(event)))).toEqual(event);
    expect(CLIENT_EVENT_TYPES.has(event.type)).toBe(true);
  });

  it('keeps unknown fields, options and reasons, and still checks every known field', () => {
    const newerOptions = { ...options, renderJavaScript: true };
    const snapshot = { ...examples[0]!, options: newerOptions, priority: 'high', counters: { ...counters, queued: 2 } };
    expect(clientCrawlEvent.parse(snapshot)).toEqual(snapshot);
    const failed = { ...examples[4]!, reason: 'tls_handshake', hint: 'renew the certificate' };
    expect(clientCrawlEvent.parse(failed)).toEqual(failed);
    expect(clientCrawlEvent.parse({ ...examples[5]!, reason: 'duplicate_content' })).toMatchObject({ reason: 'duplicate_content' });
    const { type: _type, crawlId: _crawlId, ts: _ts, ...crawlObject } = snapshot;
    expect(clientCrawl.parse(crawlObject)).toEqual(crawlObject);

    expect(clientCrawlEvent.safeParse({ ...examples[4]!, reason: 42 }).success).toBe(false);
    expect(clientCrawlEvent.safeParse({ ...snapshot, options: { ...newerOptions, maxPages: '100' } }).success).toBe(false);
    expect(clientCrawlEvent.safeParse({ ...examples[3]!, status: '200' }).success).toBe(false);
    expect(clientCrawl.safeParse({ ...crawlObject, status: 'exploded' }).success).toBe(false);
    // Unknown types are the reader's to skip (by CLIENT_EVENT_TYPES), not the schema's to accept.
    expect(clientCrawlEvent.safeParse({ type: 'paused', ...base }).success).toBe(false);
    expect(CLIENT_EVENT_TYPES.has('paused')).toBe(false);
  });

  it("leaves the server's own validation strict: an unknown option in a request is refused", () => {
    expect(crawlRequest.safeParse({ url: 'https://x.test/', options: { renderJavaScript: true } }).success).toBe(false);
    expect(crawl.safeParse({ ...examples[0]!, options: { ...options, renderJavaScript: true } }).success).toBe(false);
  });
});

describe('the terminal set', () => {
  it('is the statuses a crawl never leaves, and the names of the events that end a stream', () => {
    expect(CRAWL_STATUSES.filter(isTerminalStatus)).toEqual(['completed', 'failed', 'cancelled']);
    expect(EVENT_TYPES.filter(isTerminalEvent)).toEqual(['completed', 'failed', 'cancelled']);
  });
});

describe('crawl request', () => {
  it('fills every default of DESIGN.md section 1 (and of the options added since)', () => {
    const parsed = crawlRequest.parse({ url: 'https://docs.example.test/guide/' });
    expect(parsed.options).toEqual({
      maxPages: 100,
      maxDepth: 3,
      urls: [],
      scope: 'prefix',
      include: [],
      exclude: [],
      respectRobotsTxt: true,
      useSitemap: true,
      concurrency: 8,
      delayMs: 0,
      timeoutMs: 15_000,
      maxBytes: 5_242_880,
      ignoreQueryParameters: false,
      onlyMainContent: true,
      includeSelectors: [],
      excludeSelectors: [],
      dedupe: ['canonical'],
      formats: ['markdown'],
      discoverOnly: false,
      render: 'auto',
    });
  });

  it('takes render as never, auto or always, and waitFor as a CSS selector bounded like the others', () => {
    for (const render of ['never', 'auto', 'always'] as const) {
      expect(crawlRequest.parse({ url: 'https://x.test/', options: { render } }).options.render).toBe(render);
    }
    const refused = crawlRequest.safeParse({ url: 'https://x.test/', options: { render: 'sometimes' } });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(['options', 'render']);
    const selector = `#${'a'.repeat(MAX_SELECTOR_LENGTH - 1)}`;
    expect(crawlRequest.parse({ url: 'https://x.test/', options: { waitFor: selector } }).options.waitFor).toBe(selector);
    expect(crawlRequest.safeParse({ url: 'https://x.test/', options: { waitFor: `${selector}a` } }).success).toBe(false);
    const invalid = crawlRequest.safeParse({ url: 'https://x.test/', options: { waitFor: 'div[' } });
    expect(invalid.error?.issues[0]?.path).toEqual(['options', 'waitFor']);
  });

  it.each([
    [{ url: 'ftp://x.test/' }, ['url']],
    [{ url: 'javascript:alert(1)' }, ['url']],
    [{ url: 'not a url' }, ['url']],
    [{ url: `https://x.test/${'a'.repeat(3000)}` }, ['url']],
    [{ url: 'https://user:pw@x.test/' }, ['url']],
    [{ url: 'https://x.test/', options: { maxPages: 0 } }, ['options', 'maxPages']],
    [{ url: 'https://x.test/', options: { maxPages: 10_001 } }, ['options', 'maxPages']],
    [{ url: 'https://x.test/', options: { maxDepth: -1 } }, ['options', 'maxDepth']],
    [{ url: 'https://x.test/', options: { ignoreQueryParameters: 'yes' } }, ['options', 'ignoreQueryParameters']],
    [{ url: 'https://x.test/', options: { scope: 'planet' } }, ['options', 'scope']],
    [{ url: 'https://x.test/', options: { concurrency: 1.5 } }, ['options', 'concurrency']],
    [{ url: 'https://x.test/', options: { include: [''] } }, ['options', 'include', 0]],
    [{ url: 'https://x.test/', options: { onlyMainContent: 'no' } }, ['options', 'onlyMainContent']],
    [{ url: 'https://x.test/', options: { includeSelectors: 'main' } }, ['options', 'includeSelectors']],
    [{ url: 'https://x.test/', options: { includeSelectors: [''] } }, ['options', 'includeSelectors', 0]],
    [{ url: 'https://x.test/', options: { excludeSelectors: ['nav', '  '] } }, ['options', 'excludeSelectors', 1]],
    [{ url: 'https://x.test/', options: { timeoutMs: '100' } }, ['options', 'timeoutMs']],
    [{ url: 'https://x.test/', options: { urls: 'https://x.test/a/' } }, ['options', 'urls']],
    [{ url: 'https://x.test/', options: { urls: ['https://x.test/a/', 'ftp://x.test/'] } }, ['options', 'urls', 1]],
    [{ url: 'https://x.test/', options: { urls: ['not a url'] } }, ['options', 'urls', 0]],
    [{ url: 'https://x.test/', options: { urls: ['https://user:pw@x.test/'] } }, ['options', 'urls', 0]],
    [{ url: 'https://x.test/', options: { dedupe: ['title'] } }, ['options', 'dedupe', 0]],
    [{ url: 'https://x.test/', options: { dedupe: ['content', 'content'] } }, ['options', 'dedupe']],
    [{ url: 'https://x.test/', options: { dedupe: 'content' } }, ['options', 'dedupe']],
    [{ url: 'https://x.test/', options: { bogus: true } }, ['options']],
    [{ url: 'https://x.test/', extra: 1 }, []],
  ])('rejects %j with the field path %j', (body, path) => {
    const result = crawlRequest.safeParse(body);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toContainEqual(path);
  });

  it('bounds urls at MAX_START_URLS URLs of at most MAX_URL_LENGTH characters: at the limit and one past it', () => {
    expect(MAX_START_URLS).toBe(100);
    const many = (n: number) => Array.from({ length: n }, (_, i) => `https://x.test/p/${i}/`);
    const at = crawlRequest.safeParse({ url: 'https://x.test/', options: { urls: many(MAX_START_URLS) } });
    expect(at.success).toBe(true);
    expect(at.data?.options.urls).toHaveLength(MAX_START_URLS);
    const past = crawlRequest.safeParse({ url: 'https://x.test/', options: { urls: many(MAX_START_URLS + 1) } });
    expect(past.error?.issues.map((issue) => issue.path)).toContainEqual(['options', 'urls']);

    const long = (length: number) => `https://x.test/${'a'.repeat(length - 'https://x.test/'.length)}`;
    expect(crawlRequest.safeParse({ url: 'https://x.test/', options: { urls: [long(MAX_URL_LENGTH)] } }).success).toBe(true);
    const tooLong = crawlRequest.safeParse({ url: 'https://x.test/', options: { urls: ['https://x.test/a/', long(MAX_URL_LENGTH + 1)] } });
    expect(tooLong.error?.issues.map((issue) => issue.path)).toContainEqual(['options', 'urls', 1]);
    expect(tooLong.error?.issues[0]?.message).toMatch(/longer than 2048/);
  });

  it('stores the extra start URLs normalized, in order, without url and repeats (startUrlsOf)', () => {
    expect(
      startUrlsOf('https://x.test/a/', [
        'HTTPS://X.test:443/b/#top',
        'https://x.test/a/',
        'https://x.test/a/#again',
        'https://x.test/c/',
        'https://x.test/b/',
      ]),
    ).toEqual({ urls: ['https://x.test/b/', 'https://x.test/c/'] });
    expect(startUrlsOf('https://x.test/', [])).toEqual({ urls: [] });
    // Valid for the schema, not crawlable once normalized: too long after percent-encoding.
    expect(startUrlsOf('https://x.test/', ['https://x.test/b/', `https://x.test/${'é'.repeat(700)}`])).toEqual({ invalid: 1 });
  });

  it.each(['includeSelectors', 'excludeSelectors'])('bounds %s at MAX_SELECTORS selectors: at the limit and one past it', (key) => {
    const selectors = Array.from({ length: MAX_SELECTORS + 1 }, (_, i) => `.block-${i}`);
    const at = crawlRequest.safeParse({ url: 'https://x.test/', options: { [key]: selectors.slice(0, MAX_SELECTORS) } });
    expect(at.success).toBe(true);
    expect(at.data?.options[key as "includeSelectors" | "excludeSelectors"]).toHaveLength(MAX_SELECTORS);
    const past = crawlRequest.safeParse({ url: 'https://x.test/', options: { [key]: selectors } });
    expect(past.error?.issues.map((issue) => issue.path)).toEqual([['options', key]]);
  });

  it.each(['includeSelectors', 'excludeSelectors'])('bounds a selector of %s at MAX_SELECTOR_LENGTH characters: at the limit and one past it', (key) => {
    const long = (length: number) => `.${'a'.repeat(length - 1)}`;
    const at = crawlRequest.safeParse({ url: 'https://x.test/', options: { [key]: ['p', long(MAX_SELECTOR_LENGTH)] } });
    expect(at.success).toBe(true);
    const past = crawlRequest.safeParse({ url: 'https://x.test/', options: { [key]: ['p', long(MAX_SELECTOR_LENGTH + 1)] } });
    expect(past.error?.issues.map((issue) => issue.path)).toEqual([['options', key, 1]]);
  });

  it.each([
    ['div[', /^invalid CSS selector: /],
    ['p:foo', /Unknown pseudo-class :foo/],
    ['a,,b', /Empty sub-selector/],
    ['p::before', /Pseudo-elements are not supported/],
    ['li:nth-child(x)', /n-th rule/],
    // What css-select runs in time quadratic in an element's siblings.
    ['li:nth-child(2n+1)', /^invalid CSS selector: :nth-child\(\) is not supported/],
    ['p:not(:nth-last-of-type(1))', /:nth-last-of-type\(\) is not supported/],
    ['h2 ~ p', /the ~ combinator is not supported/],
    ['div:has(+ p)', /the \+ combinator inside :has\(\) is not supported/],
  ])('refuses the selector %j, naming the option and index, with what is wrong', (bad, message) => {
    for (const key of ['includeSelectors', 'excludeSelectors']) {
      const result = crawlRequest.safeParse({ url: 'https://x.test/', options: { [key]: ['main', 'article .x', bad] } });
      expect(result.success).toBe(false);
      expect(result.error?.issues).toHaveLength(1);
      expect(result.error?.issues[0]?.path).toEqual(['options', key, 2]);
      expect(result.error?.issues[0]?.message).toMatch(message);
    }
  });

  it('accepts the selectors cheerio runs, its own extensions included', () => {
    const selectors = ['main > article', 'div.content p', '#docs, .api', 'a[href^="/guide"]', 'h2 + p', 'li:first-child', 'tr:odd', 'section:has(> h2)', 'p:contains("x")', 'li:first', 'tr:eq(2)'];
    const result = crawlRequest.safeParse({ url: 'https://x.test/', options: { includeSelectors: selectors, excludeSelectors: selectors } });
    expect(result.success).toBe(true);
  });

  it('bounds maxBytes at MAX_PAGE_BYTES: at the limit and one past it', () => {
    const at = crawlRequest.safeParse({ url: 'https://x.test/', options: { maxBytes: MAX_PAGE_BYTES } });
    expect(at.success).toBe(true);
    const past = crawlRequest.safeParse({ url: 'https://x.test/', options: { maxBytes: MAX_PAGE_BYTES + 1 } });
    expect(past.error?.issues.map((issue) => issue.path)).toContainEqual(['options', 'maxBytes']);
  });

  it('bounds the options at MAX_OPTIONS_BYTES of JSON, so started and snapshot events stay small', () => {
    const defaults = crawlOptionsSchema().parse({});
    const bytes = (include: string[]) => new TextEncoder().encode(JSON.stringify({ ...defaults, include })).length;
    // Full-length globs of quotes, which double in JSON, then of plain characters (a byte each)...
    const quotes = `/${'"'.repeat(MAX_GLOB_LENGTH - 1)}`;
    const plain = (length: number) => `/${'a'.repeat(length - 1)}`;
    const include: string[] = [];
    while (bytes([...include, quotes, '', '']) < MAX_OPTIONS_BYTES - MAX_GLOB_LENGTH) include.push(quotes);
    while (bytes([...include, plain(MAX_GLOB_LENGTH), '']) < MAX_OPTIONS_BYTES) include.push(plain(MAX_GLOB_LENGTH));
    // ...then one plain glob sized to land exactly on the limit.
    const length = MAX_OPTIONS_BYTES - bytes([...include, '']);
    expect(length).toBeGreaterThan(0);
    expect(length).toBeLessThan(MAX_GLOB_LENGTH);
    expect(bytes([...include, plain(length)])).toBe(MAX_OPTIONS_BYTES);
    const at = crawlRequest.safeParse({ url: 'https://x.test/', options: { include: [...include, plain(length)] } });
    expect(at.success).toBe(true);
    const past = crawlRequest.safeParse({ url: 'https://x.test/', options: { include: [...include, plain(length + 1)] } });
    expect(past.success).toBe(false);
    expect(past.error?.issues[0]?.path).toEqual(['options']);
    expect(past.error?.issues[0]?.message).toMatch(/more than 32768/);
  });

  it('reads back a stored crawl whose maxPages is above the default cap (MAX_PAGES_CAP raised)', () => {
    const options = crawlRequestSchema(MAX_PAGES_CEILING).parse({ url: 'https://x.test/', options: { maxPages: 500_000 } }).options;
    const stored = {
      id: 'c1',
      url: 'https://x.test/',
      status: 'running',
      options,
      counters,
      createdAt: new Date(0).toISOString(),
    };
    expect(crawl.safeParse(stored).success).toBe(true);
  });

  it('takes its maxPages bound from MAX_PAGES_CAP', () => {
    const capped = crawlRequestSchema(50);
    expect(capped.safeParse({ url: 'https://x.test/', options: { maxPages: 51 } }).success).toBe(
      false,
    );
    expect(capped.parse({ url: 'https://x.test/' }).options.maxPages).toBe(50);
  });

  it('never throws on arbitrary input, only reports', () => {
    fc.assert(
      fc.property(fc.anything(), (body) => {
        const result = crawlRequest.safeParse(body);
        expect(typeof result.success).toBe('boolean');
      }),
    );
  });
});
