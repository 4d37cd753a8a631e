import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonBytes, ResultPage } from './result-page.js';

/** What the API sends for a page of results. */
const body = (page: ResultPage<unknown>) => JSON.stringify({ items: page.items, nextCursor: page.nextCursor });

describe('a page of results within a byte budget', () => {
  it('counts the body exactly as JSON.stringify writes it, in UTF-8', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.record({ url: fc.string(), message: fc.string({ unit: 'grapheme' }), n: fc.integer() }), { nil: null }), { maxLength: 12 }),
        fc.nat(1000),
        fc.nat(20),
        (items, offset, extra) => {
          const page = new ResultPage<unknown>(offset, offset + items.length + extra, Number.POSITIVE_INFINITY);
          for (const item of items) page.offer(item, item === null ? 0 : jsonBytes(item));
          expect(page.bytes).toBe(Buffer.byteLength(body(page)));
          expect(page.nextCursor).toBe(extra > 0 ? String(offset + items.length) : null);
        },
      ),
    );
  });

  it('takes items while the body fits: exactly at the budget all of them, one byte less splits', () => {
    const items = ['a', 'bb', 'ccc'].map((s) => ({ text: s.repeat(100) }));
    const fill = (maxBytes: number, total = items.length) => {
      const page = new ResultPage<unknown>(0, total, maxBytes);
      for (const item of items) if (!page.offer(item, jsonBytes(item))) break;
      return page;
    };
    const whole = Buffer.byteLength(JSON.stringify({ items, nextCursor: null }));
    const atLimit = fill(whole);
    expect(atLimit.items).toHaveLength(3);
    expect(atLimit.nextCursor).toBeNull();
    expect(Buffer.byteLength(body(atLimit))).toBe(whole);
    const past = fill(whole - 1);
    expect(past.items).toHaveLength(2);
    expect(past.nextCursor).toBe('2');
    expect(Buffer.byteLength(body(past))).toBeLessThanOrEqual(whole - 1);
    // One item always goes, whatever the budget: a client always moves on.
    const tiny = fill(10);
    expect(tiny.items).toHaveLength(1);
    expect(tiny.nextCursor).toBe('1');
  });
});
