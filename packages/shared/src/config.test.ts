import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, ssrfAllowEntryProblem } from './config.js';
import { DEFAULT_CLUSTER_QUEUE_SHARDS, MAX_QUEUE_SHARDS, MIN_QUEUE_SHARDS } from './limits.js';
import { compareEventIds, isCrawlId, isEventCursor, newCrawlId } from './ids.js';

describe('config', () => {
  it('has the defaults of DESIGN.md section 3', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      REDIS_URL: undefined,
      PORT: 3000,
      HOST: '127.0.0.1',
      SSRF_ALLOW: [],
      API_KEYS: [],
      HEARTBEAT_MS: 15_000,
      MAX_PAGES_CAP: 10_000,
      CRAWL_TTL_SECONDS: 86_400,
      LOG_LEVEL: 'info',
    });
    expect(config.WORKER_CONCURRENCY).toBeGreaterThan(0);
  });

  it('parses lists and numbers', () => {
    const config = loadConfig({
      PORT: '8080',
      SSRF_ALLOW: '127.0.0.2/32, docs.internal',
      API_KEYS: 'k'.repeat(16),
      REDIS_URL: 'redis://127.0.0.1:6390',
    });
    expect(config.PORT).toBe(8080);
    expect(config.SSRF_ALLOW).toEqual(['127.0.0.2/32', 'docs.internal']);
    expect(config.API_KEYS).toEqual(['k'.repeat(16)]);
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6390');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['HEARTBEAT_MS', '-5'],
    ['MAX_PAGES_CAP', '0'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_URL', 'nonsense'],
    ['LOG_LEVEL', 'loud'],
    ['WORKER_CONCURRENCY', '2.5'],
    ['SSRF_ALLOW', 'ok.host,bad host!'],
    ['API_KEYS', 'short'],
    ['CRAWL_TTL_SECONDS', '1'],
    ['REDIS_CLUSTER', 'yes'],
    ['REDIS_CLUSTER', 'true'],
    ['REDIS_URL', 'redis://127.0.0.1:7000,redis://127.0.0.1:7001'],
  ])('stops on a bad %s (%s) with a message naming it', (name, value) => {
    let caught: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe(name);
    expect((caught as Error).message).toContain(name);
  });
});

describe('SSRF_ALLOW entries', () => {
  it.each([
    '10.0.0.0/32',
    '10.0.0.0/0',
    '10.0.0.0/8',
    '255.255.255.255',
    '0.0.0.0',
    '::/128',
    '::/0',
    '::1',
    'fd00::/8',
    '::ffff:10.0.0.0/104',
    'docs.internal',
    'docs.internal.',
    'localhost',
    'a-b.example',
    `${'a'.repeat(63)}.test`,
  ])('accepts %s', (entry) => {
    expect(loadConfig({ SSRF_ALLOW: `  ${entry} ` }).SSRF_ALLOW).toEqual([entry]);
  });

  it.each([
    ['10.0.0.0/33', /prefix of an IPv4 range must be 0 to 32/],
    ['10.0.0.0/-1', /prefix/],
    ['10.0.0.0/', /prefix/],
    ['10.0.0.0/8/8', /not an IPv4 or IPv6 address/],
    ['::/129', /prefix of an IPv6 range must be 0 to 128/],
    ['256.1.1.1', /not a valid IPv4 address/],
    ['300.1.1.1', /not a valid IPv4 address/],
    ['1.2.3', /not a valid IPv4 address/],
    ['300.1.1.1/8', /not an IPv4 or IPv6 address/],
    ['01.2.3.4', /not a valid IPv4 address/],
    ['gggg::1', /neither/],
    ['bad host!', /neither/],
    ['-bad.example', /neither/],
    ['a..b', /neither/],
    [`${'a'.repeat(64)}.test`, /neither/],
    ['host.123', /last label is a number/],
    ['host.0x7f', /last label is a number/],
  ])('refuses %s with a message naming SSRF_ALLOW and the entry', (entry, problem) => {
    let caught: unknown;
    try {
      loadConfig({ SSRF_ALLOW: `docs.internal, ${entry}` });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).variable).toBe('SSRF_ALLOW');
    expect((caught as Error).message).toMatch(/^Invalid SSRF_ALLOW: /);
    expect((caught as Error).message).toContain(`"${entry}"`);
    expect((caught as Error).message).toMatch(problem);
    expect(ssrfAllowEntryProblem(entry)).toMatch(problem);
  });
});

describe('ids', () => {
  it('makes unique, well-formed, URL-safe crawl ids', () => {
    const ids = new Set(Array.from({ length: 1000 }, newCrawlId));
    expect(ids.size).toBe(1000);
    for (const id of ids) {
      expect(isCrawlId(id)).toBe(true);
      expect(encodeURIComponent(id)).toBe(id);
    }
    expect(isCrawlId('../etc/passwd')).toBe(false);
    expect(isCrawlId('7C9E6679-7425-40DE-944B-E07FC1F90AE7x')).toBe(false);
  });

  it('knows a cursor when it sees one and orders ids numerically', () => {
    expect(isEventCursor('0')).toBe(true);
    expect(isEventCursor('1700000000000-3')).toBe(true);
    expect(isEventCursor('abc')).toBe(false);
    expect(isEventCursor('1-')).toBe(false);
    // Each part is an unsigned 64-bit integer to Redis: at the limit and one past it.
    expect(isEventCursor('18446744073709551615-18446744073709551615')).toBe(true);
    expect(isEventCursor('18446744073709551616-0')).toBe(false);
    expect(isEventCursor('1-18446744073709551616')).toBe(false);
    expect(isEventCursor('99999999999999999999-0')).toBe(false);
    expect(isEventCursor('1-99999999999999999999')).toBe(false);
    expect(isEventCursor('123456789012345678901-0')).toBe(false);
    expect(compareEventIds('9-0', '10-0')).toBe(-1);
    expect(compareEventIds('10-2', '10-10')).toBe(-1);
    expect(compareEventIds('10-2', '10-2')).toBe(0);
    expect(compareEventIds('0', '1-0')).toBe(-1);
    expect(compareEventIds('1700000000000-0', '0')).toBe(1);
    expect(compareEventIds('007-1', '7-1')).toBe(0);
  });

  it('orders stream ids like their numbers, for any pair', () => {
    const big = (ms: bigint, seq: bigint) => `${ms}-${seq}`;
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.bigInt({ min: 0n, max: 2n ** 64n }), fc.bigInt({ min: 0n, max: 99n }), fc.bigInt({ min: 0n, max: 99n }), (m1, m2, s1, s2) => {
        const expected = m1 !== m2 ? (m1 < m2 ? -1 : 1) : s1 !== s2 ? (s1 < s2 ? -1 : 1) : 0;
        expect(compareEventIds(big(m1, s1), big(m2, s2))).toBe(expected);
      }),
    );
  });

  it('reads REDIS_URL as seed nodes of a Redis Cluster with REDIS_CLUSTER=true, and checks each', () => {
    const seeds = 'redis://127.0.0.1:7000, redis://127.0.0.1:7001';
    const config = loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: seeds });
    expect(config.REDIS_CLUSTER).toBe(true);
    expect(config.REDIS_URL).toBe(seeds);
    expect(loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://127.0.0.1:7000' }).REDIS_CLUSTER).toBe(true);
    expect(loadConfig({}).REDIS_CLUSTER).toBe(false);
    expect(() => loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://127.0.0.1:7000,http://127.0.0.1:7001' })).toThrow(
      /REDIS_URL: "http:\/\/127.0.0.1:7001" must start with redis:\/\//,
    );
  });
});

describe('QUEUE_SHARDS', () => {
  it('defaults to 1 on one Redis (the queue as it was) and DEFAULT_CLUSTER_QUEUE_SHARDS with REDIS_CLUSTER', () => {
    expect(loadConfig({}).QUEUE_SHARDS).toBe(1);
    expect(loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://127.0.0.1:7000' }).QUEUE_SHARDS).toBe(DEFAULT_CLUSTER_QUEUE_SHARDS);
    expect(loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://127.0.0.1:7000', QUEUE_SHARDS: '1' }).QUEUE_SHARDS).toBe(1);
  });

  it(`takes ${MIN_QUEUE_SHARDS} to ${MAX_QUEUE_SHARDS}, not one past either end`, () => {
    expect(loadConfig({ QUEUE_SHARDS: String(MIN_QUEUE_SHARDS) }).QUEUE_SHARDS).toBe(MIN_QUEUE_SHARDS);
    expect(loadConfig({ QUEUE_SHARDS: String(MAX_QUEUE_SHARDS) }).QUEUE_SHARDS).toBe(MAX_QUEUE_SHARDS);
    for (const value of [String(MIN_QUEUE_SHARDS - 1), String(MAX_QUEUE_SHARDS + 1), '2.5', 'three']) {
      expect(() => loadConfig({ QUEUE_SHARDS: value }), value).toThrow(/Invalid QUEUE_SHARDS/);
    }
  });
});

describe('WEBHOOK_SECRET', () => {
  it('is unset by default, takes a whsec_ base64 secret of 24 to 64 bytes, and refuses anything else naming the variable', () => {
    expect(loadConfig({}).WEBHOOK_SECRET).toBeUndefined();
    for (const bytes of [24, 32, 64]) {
      const secret = `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;
      expect(loadConfig({ WEBHOOK_SECRET: secret }).WEBHOOK_SECRET).toBe(secret);
    }
    for (const value of ['secret', Buffer.alloc(32, 7).toString('base64'), `whsec_${Buffer.alloc(16, 7).toString('base64')}`, 'whsec_not base64!']) {
      expect(() => loadConfig({ WEBHOOK_SECRET: value }), value).toThrow(/Invalid WEBHOOK_SECRET/);
    }
  });
});

describe('renderer settings', () => {
  it('default to 2 pages at once, 30 s a page, 50 pages a context, a 2048 MiB browser, and Chromium on PATH', () => {
    expect(loadConfig({})).toMatchObject({
      CHROMIUM_PATH: undefined,
      RENDER_CONCURRENCY: 2,
      RENDER_TIMEOUT_MS: 30_000,
      RENDER_CONTEXT_PAGES: 50,
      RENDER_MAX_BROWSER_MB: 2048,
      RENDER_WAIT_MS: 30_000,
    });
    expect(loadConfig({ CHROMIUM_PATH: '/opt/chrome/chrome' }).CHROMIUM_PATH).toBe('/opt/chrome/chrome');
  });

  it.each([
    ['RENDER_CONCURRENCY', 1, 64],
    ['RENDER_TIMEOUT_MS', 1000, 300_000],
    ['RENDER_CONTEXT_PAGES', 1, 100_000],
    ['RENDER_MAX_BROWSER_MB', 64, 1_048_576],
    ['RENDER_WAIT_MS', 100, 600_000],
  ] as const)('%s takes %i to %i, not one past either end', (name, min, max) => {
    expect(loadConfig({ [name]: String(min) })[name]).toBe(min);
    expect(loadConfig({ [name]: String(max) })[name]).toBe(max);
    for (const value of [min - 1, max + 1]) {
      expect(() => loadConfig({ [name]: String(value) })).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: String(value) })).toThrow(name);
    }
  });
});
