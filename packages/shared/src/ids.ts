// Crawl ids and event ids: how they are made and what a well-formed one looks like.

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A Redis Stream id (`<ms>-<seq>`), which is also the SSE event id. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** 122 random bits, URL-safe. */
export function newCrawlId(): string {
  // Web Crypto: the same in Node 20 and browsers (the SDK ships this module).
  return globalThis.crypto.randomUUID();
}

export function isCrawlId(value: string): boolean {
  return UUID_V4.test(value);
}

/** The largest part of a stream id: `<ms>` and `<seq>` are each an unsigned 64-bit integer to Redis. */
const MAX_ID_PART = '18446744073709551615';

/** A run of at most 20 digits that Redis reads as an unsigned 64-bit integer (same length: digits compare as strings). */
function inIdRange(part: string): boolean {
  return part.length < MAX_ID_PART.length || part <= MAX_ID_PART;
}

/**
 * `0` means "from the first event"; anything else must be a stream id that
 * Redis accepts (each part at most 2^64-1: a larger one is a Redis error,
 * not a cursor past the end).
 */
export function isEventCursor(value: string): boolean {
  if (value === '0') return true;
  if (!STREAM_ID.test(value)) return false;
  const dash = value.indexOf('-');
  return inIdRange(value.slice(0, dash)) && inIdRange(value.slice(dash + 1));
}

/**
 * Orders two stream ids numerically (`-1`, `0`, `1`) without parsing them:
 * the parts are decimal integers without leading zeros, so a longer part is
 * larger and equal lengths compare as strings. Readers compare ids for every
 * event they pass, so this stays allocation-free.
 */
export function compareEventIds(a: string, b: string): number {
  if (a === b) return 0;
  const aDash = a.indexOf('-');
  const bDash = b.indexOf('-');
  const aMsEnd = aDash < 0 ? a.length : aDash;
  const bMsEnd = bDash < 0 ? b.length : bDash;
  const ms = comparePart(a, 0, aMsEnd, b, 0, bMsEnd);
  if (ms !== 0) return ms;
  return comparePart(a, aDash < 0 ? a.length : aDash + 1, a.length, b, bDash < 0 ? b.length : bDash + 1, b.length);
}

function comparePart(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): number {
  // Skip leading zeros ('0' cursors, '0-0').
  while (aStart < aEnd - 1 && a.charCodeAt(aStart) === 48) aStart++;
  while (bStart < bEnd - 1 && b.charCodeAt(bStart) === 48) bStart++;
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  if (aLength !== bLength) return aLength < bLength ? -1 : 1;
  for (let i = 0; i < aLength; i++) {
    const diff = a.charCodeAt(aStart + i) - b.charCodeAt(bStart + i);
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  return 0;
}
