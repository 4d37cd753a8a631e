import { describe, expect, it } from 'vitest';
import {
  crawl,
  crawlOptionsSchema,
  crawlRequest,
  FORBIDDEN_REQUEST_HEADERS,
  headerNamesOf,
  MAX_HEADER_NAME_LENGTH,
  MAX_HEADER_VALUE_LENGTH,
  MAX_HEADERS,
  MAX_HEADERS_TOTAL_LENGTH,
  MAX_GLOB_LENGTH,
  MAX_OPTIONS_BYTES,
  storedOptionsOf,
} from './index.js';

const SECRET = 'Bearer s3cr3t-value-never-echoed';
const parse = (headers: unknown) => crawlRequest.safeParse({ url: 'https://docs.test/', options: { headers } });
const issues = (headers: unknown) => parse(headers).error?.issues ?? [];

describe('options.headers', () => {
  it('takes up to MAX_HEADERS headers, refuses one more', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-H${i}`, 'v']));
    expect(parse(many(MAX_HEADERS)).success).toBe(true);
    expect(issues(many(MAX_HEADERS + 1)).map((i) => i.path)).toEqual([['options', 'headers']]);
  });

  it('bounds a name at MAX_HEADER_NAME_LENGTH and a value at MAX_HEADER_VALUE_LENGTH characters', () => {
    expect(parse({ [`X-${'a'.repeat(MAX_HEADER_NAME_LENGTH - 2)}`]: 'v' }).success).toBe(true);
    expect(issues({ [`X-${'a'.repeat(MAX_HEADER_NAME_LENGTH - 1)}`]: 'v' })[0]?.message).toMatch(/name is longer/);
    expect(parse({ Cookie: 'a'.repeat(MAX_HEADER_VALUE_LENGTH) }).success).toBe(true);
    expect(issues({ Cookie: 'a'.repeat(MAX_HEADER_VALUE_LENGTH + 1) })).toEqual([
      expect.objectContaining({ path: ['options', 'headers', 'Cookie'], message: expect.stringMatching(/value is longer/) }),
    ]);
  });

  it('bounds names and values together at MAX_HEADERS_TOTAL_LENGTH characters', () => {
    // Two full values and one sized to land on the limit.
    const headers = (last: number) => ({ A: 'v'.repeat(MAX_HEADER_VALUE_LENGTH - 1), B: 'v'.repeat(MAX_HEADER_VALUE_LENGTH - 1 - 2 + last) });
    const total = (h: Record<string, string>) => Object.entries(h).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(total(headers(2))).toBe(MAX_HEADERS_TOTAL_LENGTH);
    expect(parse(headers(2)).success).toBe(true);
    expect(total(headers(3))).toBe(MAX_HEADERS_TOTAL_LENGTH + 1);
    expect(issues(headers(3))[0]?.message).toMatch(/16384 characters in all/);
  });

  it('refuses names that are not tokens, hop-by-hop and fetcher-owned names, and a name twice in any case', () => {
    for (const name of ['', 'Bad Name', 'X:Y', 'Ünicode', 'a\nb']) expect(parse({ [name]: 'v' }).success, JSON.stringify(name)).toBe(false);
    for (const name of [...FORBIDDEN_REQUEST_HEADERS, 'Host', 'USER-AGENT', 'Proxy-Authorization']) {
      expect(issues({ [name]: 'v' })[0]?.message, name).toMatch(/set by the crawler/);
    }
    expect(issues({ Authorization: 'a', authorization: 'b' })[0]?.message).toMatch(/twice/);
    expect(parse({ Authorization: SECRET, Cookie: 'a=b; c=d', 'X-Api-Key': '' }).success).toBe(true);
  });

  it('refuses CR, LF, NUL, other controls, non-ASCII and surrounding whitespace in a value, and never quotes the value', () => {
    for (const value of [`${SECRET}\r\nX-Injected: 1`, `${SECRET}\n`, `${SECRET}\u0000`, `${SECRET}\u007f`, `${SECRET}é`, ` ${SECRET}`, `${SECRET}\t`]) {
      const found = issues({ Authorization: value });
      expect(found.length, JSON.stringify(value)).toBe(1);
      expect(JSON.stringify(found)).not.toContain('s3cr3t');
    }
    expect(parse({ Authorization: 42 }).success).toBe(false);
    expect(JSON.stringify(issues({ 'Bad Name': SECRET, Host: SECRET }))).not.toContain('s3cr3t');
  });

  it('a stored crawl shows their names only: the crawl schema refuses `headers`', () => {
    expect(headerNamesOf({ 'X-Team': 'a', Authorization: 'b' })).toEqual(['authorization', 'x-team']);
    const stored = { id: 'c', url: 'https://docs.test/', status: 'running', counters: { discovered: 0, processed: 0, failed: 0, skipped: 0 }, createdAt: new Date(0).toISOString() };
    const options = crawlRequest.parse({ url: 'https://docs.test/' }).options;
    expect(crawl.safeParse({ ...stored, options: { ...options, headerNames: ['authorization'] } }).success).toBe(true);
    expect(crawl.safeParse({ ...stored, options: { ...options, headers: { Authorization: SECRET } } }).success).toBe(false);
  });

  it('do not count toward the stored options bound (MAX_OPTIONS_BYTES): they are not stored with them', () => {
    // Options of about 30 KiB as JSON, with 16 KiB of headers: over the bound together, under it without them.
    const include = Array.from({ length: 60 }, () => `/${'a'.repeat(499)}`);
    const headers = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`X-H${i}`, 'v'.repeat(4000)]));
    const request = { url: 'https://docs.test/', options: { include, headers } };
    expect(JSON.stringify(request.options).length).toBeGreaterThan(MAX_OPTIONS_BYTES);
    expect(crawlRequest.safeParse(request).success).toBe(true);
  });

  it('count toward MAX_OPTIONS_BYTES by their names, as stored (headerNames): at the limit and one past it', () => {
    const headers = { [`X-${'n'.repeat(MAX_HEADER_NAME_LENGTH - 2)}`]: 'v'.repeat(MAX_HEADER_VALUE_LENGTH) };
    const plain = (length: number) => `/${'a'.repeat(length - 1)}`;
    const defaults = crawlOptionsSchema().parse({});
    const bytes = (include: string[]) => new TextEncoder().encode(JSON.stringify(storedOptionsOf({ ...defaults, include, headers }))).length;
    const include: string[] = [];
    while (bytes([...include, plain(MAX_GLOB_LENGTH), '/']) < MAX_OPTIONS_BYTES) include.push(plain(MAX_GLOB_LENGTH));
    const length = MAX_OPTIONS_BYTES - bytes([...include, '/']) + 1;
    expect(bytes([...include, plain(length)])).toBe(MAX_OPTIONS_BYTES);
    expect(crawlOptionsSchema().safeParse({ include: [...include, plain(length)], headers }).success).toBe(true);
    const past = crawlOptionsSchema().safeParse({ include: [...include, plain(length + 1)], headers });
    expect(past.error?.issues[0]?.message).toMatch(/more than 32768/);
  });
});
