// When to try again after a failure, for every retry loop of crawlstream (a
// page job's retries in the worker, the SDK's stream reconnects, the
// dashboard's token fetch): exponential in the attempt number, capped,
// jittered so that many callers cut off together do not come back together,
// and never sooner than the server's Retry-After. The SDK runs in browsers:
// nothing here is Node-only.
import { MAX_RETRY_AFTER_MS } from './limits.js';

export interface BackoffOptions {
  /** Delay ceiling of the first retry, in ms. Default 1000. */
  baseMs?: number;
  /** No exponential delay exceeds this, in ms. Default 60000. */
  capMs?: number;
  /**
   * How much of the ceiling is random. `full` (the default) waits anywhere
   * from 0 to the ceiling, which spreads the retries of many workers hitting
   * one struggling host best; `equal` always waits at least half of it, for a
   * reconnect that should never be immediate.
   */
  jitter?: 'full' | 'equal';
  /** A longer Retry-After is waited only this long, in ms. Default MAX_RETRY_AFTER_MS. */
  maxRetryAfterMs?: number;
  /** Source of randomness in [0, 1), replaceable in tests. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (1 = first retry), in ms. A
 * Retry-After is a floor (up to `maxRetryAfterMs`), since retrying sooner
 * only earns another 429.
 */
export function backoffDelay(
  attempt: number,
  retryAfterMs?: number,
  {
    baseMs = 1_000,
    capMs = 60_000,
    jitter = 'full',
    maxRetryAfterMs = MAX_RETRY_AFTER_MS,
    random = Math.random,
  }: BackoffOptions = {},
): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(exponent, 30));
  const least = jitter === 'equal' ? Math.ceil(ceiling / 2) : 0;
  const jittered = least + Math.floor(random() * (ceiling - least));
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs)) return jittered;
  return Math.max(Math.min(Math.max(0, retryAfterMs), maxRetryAfterMs), jittered);
}

/** Retry-After in milliseconds from now: delta-seconds or an HTTP-date. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date names its day and month; bare numbers like `-5` are not dates.
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
