// Crawl ids and event ids: how they are made and what a well-formed one looks like.
import { randomUUID } from 'node:crypto';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** A Redis Stream id (`<ms>-<seq>`), which is also the SSE event id. */
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** 122 random bits, URL-safe. */
export function newCrawlId(): string {
  return randomUUID();
}

export function isCrawlId(value: string): boolean {
  return UUID_V4.test(value);
}

/** `0` means "from the first event"; anything else must be a stream id. */
export function isEventCursor(value: string): boolean {
  return value === '0' || STREAM_ID.test(value);
}

/** Orders two stream ids numerically (`-1`, `0`, `1`). */
export function compareEventIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  if (aSeq !== bSeq) return aSeq < bSeq ? -1 : 1;
  return 0;
}
