import { describe, expect, it } from 'vitest';
import { backoffDelay, parseRetryAfter } from './backoff.js';
import { MAX_RETRY_AFTER_MS } from './limits.js';

describe('backoffDelay', () => {
  const top = () => 0.999_999;

  it('doubles the ceiling each attempt up to the cap', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) =>
      backoffDelay(attempt, undefined, { baseMs: 1000, capMs: 30_000, random: top }),
    );
    expect(ceilings).toEqual([999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
  });

  it('jitters over the whole range, down to zero', () => {
    expect(backoffDelay(3, undefined, { random: () => 0 })).toBe(0);
    const samples = Array.from({ length: 200 }, () => backoffDelay(4));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(8000);
    expect(new Set(samples).size).toBeGreaterThan(100);
  });

  it('with equal jitter, always waits at least half of the ceiling', () => {
    expect(backoffDelay(1, undefined, { baseMs: 100, jitter: 'equal', random: () => 0 })).toBe(50);
    expect(backoffDelay(4, undefined, { baseMs: 100, jitter: 'equal', random: () => 0 })).toBe(400);
    expect(backoffDelay(4, undefined, { baseMs: 100, jitter: 'equal', random: top })).toBe(799);
    for (let attempt = 1; attempt < 50; attempt++) {
      const delay = backoffDelay(attempt, undefined, { baseMs: 250, capMs: 30_000, jitter: 'equal' });
      expect(delay).toBeGreaterThanOrEqual(Math.min(30_000, 250 * 2 ** (attempt - 1)) / 2);
      expect(delay).toBeLessThanOrEqual(30_000);
    }
  });

  it('never retries sooner than Retry-After, and caps an absurd one', () => {
    expect(backoffDelay(1, 5000, { random: () => 0 })).toBe(5000);
    expect(backoffDelay(1, 10, { random: top })).toBe(999);
    expect(backoffDelay(1, 365 * 24 * 3_600_000)).toBe(MAX_RETRY_AFTER_MS);
    expect(backoffDelay(1, 5000, { jitter: 'equal', maxRetryAfterMs: 2000, random: () => 0 })).toBe(2000);
  });

  it('waits a Retry-After of exactly MAX_RETRY_AFTER_MS, and no more for one ms past it', () => {
    expect(backoffDelay(1, MAX_RETRY_AFTER_MS, { random: () => 0 })).toBe(MAX_RETRY_AFTER_MS);
    expect(backoffDelay(1, MAX_RETRY_AFTER_MS + 1, { random: () => 0 })).toBe(MAX_RETRY_AFTER_MS);
  });

  it('survives a huge attempt number', () => {
    expect(backoffDelay(10_000, undefined, { random: top, capMs: 60_000 })).toBe(59_999);
    expect(backoffDelay(Number.POSITIVE_INFINITY, undefined, { random: top, capMs: 60_000 })).toBe(59_999);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-23T12:00:00Z');
  it('reads delta-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 11:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});
