// When to try a failed page again: exponential backoff with full jitter, and
// the server's Retry-After when it gave one. The retry loop itself is BullMQ's
// (a custom backoff strategy calls `backoffDelay`).

export interface BackoffOptions {
  /** Delay ceiling of the first retry. */
  baseMs?: number;
  /** No exponential delay exceeds this. */
  capMs?: number;
  /** Source of randomness in [0, 1), replaceable in tests. */
  random?: () => number;
}

/** A server may ask for a pause; beyond this it is not worth holding the page. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Delay before retry number `attempt` (1 = first retry). Full jitter spreads
 * the retries of many workers hitting one struggling host; a Retry-After is a
 * floor, since retrying sooner only earns another 429.
 */
export function backoffDelay(
  attempt: number,
  retryAfterMs?: number,
  { baseMs = 1_000, capMs = 60_000, random = Math.random }: BackoffOptions = {},
): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(exponent, 30));
  const jittered = Math.floor(random() * ceiling);
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs)) return jittered;
  return Math.max(Math.min(Math.max(0, retryAfterMs), MAX_RETRY_AFTER_MS), jittered);
}

/** Retry-After in milliseconds from now: delta-seconds or an HTTP-date. */
export function parseRetryAfter(
  value: string | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date names its day and month; bare numbers like `-5` are not dates.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
