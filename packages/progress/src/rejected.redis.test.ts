// Rejected links in the store: what a page's settle (and claimLinks) refuses
// for maxDepth or maxPages, and what the worker sends as rejected (scope,
// globs, robots.txt), is recorded once per URL with its first reason and the
// page it was found on, bounded at MAX_REJECTED_PER_CRAWL, counted per reason
// on the crawl object and never in `discovered`.
import { MAX_REJECTED_PER_CRAWL, MAX_REJECTED_PER_PAGE } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { options, page, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
const at = (path: string) => `${START}${path}`;

describe('rejected links in the store', () => {
  it('records max_depth, max_pages and the worker\'s reasons once per URL, with foundOn; seen URLs are never rejections', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxPages: 3, maxDepth: 1 }) });
    // Depth 0 -> links at depth 1: room for 2 more (maxPages 3); the rest are max_pages.
    await store.settle(crawl.id, {
      ...page(START, [at('a'), at('b'), START, at('c'), at('d')]),
      rejected: [
        { url: 'http://127.0.0.1:9/blog/', reason: 'out_of_scope' },
        { url: at('old/x'), reason: 'excluded' },
        { url: at('c'), reason: 'robots' }, // also max_pages: the first recorded wins
      ],
    });
    // A depth-1 page: its links would be depth 2 > maxDepth; `a` is seen, `blog` already rejected.
    await store.settle(crawl.id, { ...page(at('a'), [at('a/deep'), at('b'), at('c')], 1), rejected: [{ url: 'http://127.0.0.1:9/blog/', reason: 'out_of_scope' }] });
    const { items, next } = await store.rejectedPage(crawl.id, 0, 100);
    expect(next).toBeNull();
    expect(items).toEqual([
      { url: at('c'), reason: 'max_pages', foundOn: START },
      { url: at('d'), reason: 'max_pages', foundOn: START },
      { url: 'http://127.0.0.1:9/blog/', reason: 'out_of_scope', foundOn: START },
      { url: at('old/x'), reason: 'excluded', foundOn: START },
      { url: at('a/deep'), reason: 'max_depth', foundOn: at('a') },
    ]);
    const got = await store.get(crawl.id);
    expect(got?.counters).toEqual({ discovered: 3, processed: 2, failed: 0, skipped: 0 });
    expect(got?.rejected).toEqual({ max_pages: 2, out_of_scope: 1, excluded: 1, max_depth: 1 });
    expect(got).not.toHaveProperty('rejectedDropped');
  });

  it('pages the list with a stable cursor', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxDepth: 0 }) });
    const links = Array.from({ length: 7 }, (_, i) => at(`p${i}`));
    await store.settle(crawl.id, page(START, links));
    const seen: string[] = [];
    let cursor: number | null = 0;
    while (cursor !== null) {
      const result: Awaited<ReturnType<typeof store.rejectedPage>> = await store.rejectedPage(crawl.id, cursor, 3);
      expect(result.items.length).toBeLessThanOrEqual(3);
      seen.push(...result.items.map((item) => item.url));
      cursor = result.next;
    }
    expect(seen).toEqual(links);
  });

  it('has no rejected field on a crawl with none, and sends at most MAX_REJECTED_PER_PAGE of a page\'s', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    expect(await store.get(crawl.id)).not.toHaveProperty('rejected');
    const many = Array.from({ length: MAX_REJECTED_PER_PAGE + 1 }, (_, i) => ({ url: `http://127.0.0.1:9/x${i}`, reason: 'out_of_scope' as const }));
    await store.settle(crawl.id, { ...page(START), rejected: many });
    expect((await store.get(crawl.id))?.rejected).toEqual({ out_of_scope: MAX_REJECTED_PER_PAGE });
  });

  it(`stores MAX_REJECTED_PER_CRAWL (${MAX_REJECTED_PER_CRAWL}) and only counts the one past it`, async () => {
    const { store, connection, keys } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxDepth: 0 }) });
    // Two pages (a page sends at most MAX_LINKS_PER_PAGE links): the bound fills on the first, the second's link is past it.
    await store.claim(crawl.id, 'test', 0, [at('other')]);
    const links = Array.from({ length: MAX_REJECTED_PER_CRAWL + 1 }, (_, i) => at(`deep/${i}`));
    await store.settle(crawl.id, page(START, links.slice(0, MAX_REJECTED_PER_CRAWL)));
    await store.settle(crawl.id, page(at('other'), links.slice(MAX_REJECTED_PER_CRAWL)));
    expect(await connection.hlen(keys(crawl.id).rejected)).toBe(MAX_REJECTED_PER_CRAWL);
    expect(await connection.llen(keys(crawl.id).rejectedOrder)).toBe(MAX_REJECTED_PER_CRAWL);
    const got = await store.get(crawl.id);
    expect(got?.rejected).toEqual({ max_depth: MAX_REJECTED_PER_CRAWL });
    expect(got?.rejectedDropped).toBe(1);
    expect(got?.counters).toMatchObject({ discovered: 2, processed: 2 });
    const last = await store.rejectedPage(crawl.id, MAX_REJECTED_PER_CRAWL - 1, 10);
    expect(last).toEqual({ items: [{ url: at(`deep/${MAX_REJECTED_PER_CRAWL - 1}`), reason: 'max_depth', foundOn: START }], next: null });
  });
});
