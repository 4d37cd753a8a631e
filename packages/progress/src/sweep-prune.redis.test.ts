// The crawl list and the status sets do not grow for ever when nobody lists
// crawls or reads the metrics: each sweep pass takes up to SWEEP_PRUNE_LIST
// expired crawls (meta gone) out of the list and the status sets, oldest
// first, and finished crawls kept past the crawl TTL out of the status sets.
// Without the pruning, every expired id stays (the list was pruned only when
// a listing reached it, the status sets only when metrics were read).
import { globalKeys, SWEEP_PRUNE_LIST } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { options, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

/** Crawls that ended (cancelled) and then expired: their meta is gone, their ids still indexed. */
async function expiredCrawls(t: ReturnType<typeof testStore>, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { crawl } = await t.store.create({ url: START, options: options() });
    await t.store.cancel(crawl.id);
    ids.push(crawl.id);
  }
  // One command per crawl: on a cluster each meta is in its crawl's slot.
  await Promise.all(ids.map((id) => t.connection.del(t.keys(id).meta)));
  return ids;
}

describe('the sweep prunes the indexes across crawls', () => {
  it(`at the limit (${SWEEP_PRUNE_LIST} expired ids) one pass empties the list of them; one past, the next pass takes the last; a live crawl stays`, async () => {
    for (const n of [SWEEP_PRUNE_LIST, SWEEP_PRUNE_LIST + 1]) {
      const t = testStore();
      const keys = globalKeys(t.redis.prefix);
      const expired = await expiredCrawls(t, n);
      const { crawl: live } = await t.store.create({ url: START, options: options() });
      t.jobs.take();
      expect(await t.connection.zcard(keys.crawlIndex)).toBe(n + 1);
      expect(await t.connection.zcard(keys.crawlsByStatus('cancelled'))).toBe(n);

      expect(await t.store.sweep({ staleMs: 0, maxGenerations: 3 })).toMatchObject({ pruned: SWEEP_PRUNE_LIST });
      const left = n - SWEEP_PRUNE_LIST;
      expect(await t.connection.zcard(keys.crawlIndex)).toBe(left + 1);
      expect(await t.connection.zcard(keys.crawlsByStatus('cancelled'))).toBe(left);
      if (left > 0) {
        // The newest expired id waits for the next pass.
        expect(await t.connection.zscore(keys.crawlIndex, expired.at(-1)!)).not.toBeNull();
        expect(await t.store.sweep({ staleMs: 0, maxGenerations: 3 })).toMatchObject({ pruned: left });
      }
      expect(await t.connection.zrange(keys.crawlIndex, 0, -1)).toEqual([live.id]);
      expect(await t.connection.zrange(keys.crawlsByStatus('running'), 0, -1)).toEqual([live.id]);
      expect(await t.connection.zcard(keys.crawlsByStatus('cancelled'))).toBe(0);
    }
  });

  it('a finished crawl leaves its status set once the crawl TTL has passed since it ended, not before', async () => {
    const t = testStore({ ttlSeconds: 1 });
    const keys = globalKeys(t.redis.prefix);
    const { crawl } = await t.store.create({ url: START, options: options() });
    await t.store.cancel(crawl.id);
    await t.store.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(await t.connection.zscore(keys.crawlsByStatus('cancelled'), crawl.id)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await t.store.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(await t.connection.zscore(keys.crawlsByStatus('cancelled'), crawl.id)).toBeNull();
  });
});
