// The `headers` option: request headers a crawl sends with its fetches (an
// Authorization or Cookie for private docs). The rules a request is held to,
// and what a crawl shows of them afterwards: their names only. No message
// here ever quotes a header's value, so a refused request echoes no secret.
import { z } from 'zod';
import { MAX_HEADER_NAME_LENGTH, MAX_HEADER_VALUE_LENGTH, MAX_HEADERS, MAX_HEADERS_TOTAL_LENGTH } from './limits.js';

/** RFC 9110 token: what a field name may be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII, space and tab (no CR, LF, NUL or other controls, no obs-text): a value every server reads the same. */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;

/**
 * Names a crawl may not set (lowercase): hop-by-hop and framing headers, and
 * the ones the fetcher owns: `user-agent` (robots.txt rules are read for the
 * crawler's own agent), `accept` and `accept-encoding` (the fetcher decodes
 * what it asked for). `proxy-*` too.
 */
export const FORBIDDEN_REQUEST_HEADERS: readonly string[] = [
  'accept',
  'accept-encoding',
  'connection',
  'content-length',
  'expect',
  'host',
  'http2-settings',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
];

function forbidden(lower: string): boolean {
  return FORBIDDEN_REQUEST_HEADERS.includes(lower) || lower.startsWith('proxy-');
}

/** `options.headers` as a request sends it: name -> value. */
export const requestHeadersSchema = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) {
    ctx.addIssue({ code: 'custom', message: `more than ${MAX_HEADERS} headers` });
    return;
  }
  const seen = new Set<string>();
  let total = 0;
  for (const [name, value] of entries) {
    total += name.length + value.length;
    const lower = name.toLowerCase();
    const problem =
      name.length > MAX_HEADER_NAME_LENGTH
        ? `header name is longer than ${MAX_HEADER_NAME_LENGTH} characters`
        : !TOKEN.test(name)
          ? 'not a valid header name'
          : forbidden(lower)
            ? `${lower} is set by the crawler and may not be given`
            : seen.has(lower)
              ? 'the same header name twice (names are case-insensitive)'
              : value.length > MAX_HEADER_VALUE_LENGTH
                ? `header value is longer than ${MAX_HEADER_VALUE_LENGTH} characters`
                : !FIELD_VALUE.test(value)
                  ? 'header value may hold only visible ASCII, spaces and tabs'
                  : value !== value.trim()
                    ? 'header value may not start or end with whitespace'
                    : null;
    seen.add(lower);
    // The path names the header; the name is no secret (crawls show it), the value is never quoted.
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [name] });
  }
  if (total > MAX_HEADERS_TOTAL_LENGTH) {
    ctx.addIssue({ code: 'custom', message: `header names and values are more than ${MAX_HEADERS_TOTAL_LENGTH} characters in all` });
  }
});
export type RequestHeaders = z.output<typeof requestHeadersSchema>;

/** What a crawl shows of its headers (`options.headerNames`): the names, lowercased and sorted. */
export function headerNamesOf(headers: Readonly<Record<string, string>>): string[] {
  return Object.keys(headers)
    .map((name) => name.toLowerCase())
    .sort();
}
