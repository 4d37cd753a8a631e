// How long a stream waits before reconnecting: exponential in the number of
// consecutive failed attempts, capped, with jitter so that clients cut off
// together (an API instance restarting) do not all come back at once.
import { backoffDelay } from '@crawlstream/shared';

export interface ReconnectOptions {
  /** Delay before the first reconnect, in ms; the server's `retry:` line replaces it. Default 1000. */
  initialDelayMs?: number;
  /** Longest backoff between two attempts, in ms (a server's longer Retry-After is still honoured, up to MAX_RETRY_AFTER_MS). Default 30000. */
  maxDelayMs?: number;
  /**
   * Reconnects in a row that deliver no event before the iterator gives up
   * with `too_many_retries`. Default: no limit (like EventSource).
   */
  maxAttempts?: number;
}

export const DEFAULT_RECONNECT: Required<ReconnectOptions> = {
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/**
 * The delay before attempt `attempt` (1 for the first reconnect): the
 * ceiling `min(maxMs, baseMs * 2^(attempt-1))`, of which a random half is
 * waited on top of the other half ("equal jitter"), so a reconnect is spread
 * out but never immediate; and never sooner than the server's Retry-After,
 * however small `maxMs` is (up to MAX_RETRY_AFTER_MS): coming back sooner
 * would only be refused again. The one backoff of crawlstream (shared's `backoffDelay`).
 */
export function reconnectDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  return backoffDelay(attempt, retryAfterMs, { baseMs, capMs: maxMs, jitter: 'equal', random });
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
