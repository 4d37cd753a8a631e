// options.dedupe in the store (settle-17.lua): a processed page whose
// canonical names a stored page (or a URL a stored page names), or that a
// stored page names, or with `content` the same content hash as a stored
// page, is settled as skipped `duplicate` with `duplicateOf`; the first page
// stored wins, also among settles that race.
import type { DedupeMode } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { allEvents, ofType, options, page, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
const at = (path: string) => `${START}${path}`;
const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);

async function crawlWith(paths: string[], dedupe: DedupeMode[] = ['canonical']) {
  const t = testStore();
  const { crawl } = await t.store.create({ url: START, options: options({ dedupe }) });
  await t.store.claim(crawl.id, 'test', 1, paths.map(at));
  return { ...t, id: crawl.id };
}

const stored = async (t: Awaited<ReturnType<typeof crawlWith>>) => (await t.store.pages(t.id, 0, 100)).items.map((p) => p.url);

describe('dedupe in the store', () => {
  it('canonical: a page whose canonical is a stored page is a duplicate of it (skipped counted, processed not)', async () => {
    const t = await crawlWith(['a', 'a-print']);
    const dedupe = ['canonical'] as const;
    await t.store.settle(t.id, { ...page(at('a'), [], 1), canonical: at('a'), dedupe });
    const result = await t.store.settle(t.id, { ...page(at('a-print'), [at('only-here')], 1), canonical: at('a'), dedupe });
    expect(result).toMatchObject({ result: 'settled', counters: { processed: 1, skipped: 1 } });
    expect(await stored(t)).toEqual([at('a')]);
    expect(await t.store.errors(t.id)).toEqual([
      { url: at('a-print'), kind: 'skipped', reason: 'duplicate', message: 'duplicate of a stored page', duplicateOf: at('a') },
    ]);
    expect(ofType(await allEvents(t.store, t.id), 'page_skipped')).toMatchObject([
      { url: at('a-print'), reason: 'duplicate', duplicateOf: at('a') },
    ]);
    // A duplicate's links are followed.
    const discovered = ofType(await allEvents(t.store, t.id), 'discovered').flatMap((e) => e.urls);
    expect(discovered).toContain(at('only-here'));
  });

  it('canonical, the other order: a page a stored page named as canonical is a duplicate of that stored page', async () => {
    const t = await crawlWith(['a-print', 'a']);
    const dedupe = ['canonical'] as const;
    await t.store.settle(t.id, { ...page(at('a-print'), [], 1), canonical: at('a'), dedupe });
    await t.store.settle(t.id, { ...page(at('a'), [], 1), canonical: at('a'), dedupe });
    expect(await stored(t)).toEqual([at('a-print')]);
    expect(await t.store.errors(t.id)).toMatchObject([{ url: at('a'), reason: 'duplicate', duplicateOf: at('a-print') }]);
  });

  it('canonical: two pages naming the same canonical (not crawled) are one; a page naming itself is stored', async () => {
    const t = await crawlWith(['x', 'y', 'self']);
    const dedupe = ['canonical'] as const;
    await t.store.settle(t.id, { ...page(at('self'), [], 1), canonical: at('self'), dedupe });
    await t.store.settle(t.id, { ...page(at('x'), [], 1), canonical: at('elsewhere'), dedupe });
    await t.store.settle(t.id, { ...page(at('y'), [], 1), canonical: at('elsewhere'), dedupe });
    expect(await stored(t)).toEqual([at('self'), at('x')]);
    expect(await t.store.errors(t.id)).toMatchObject([{ url: at('y'), reason: 'duplicate', duplicateOf: at('x') }]);
  });

  it('content: the same content hash is a duplicate with `content` on, and stored with it off', async () => {
    for (const dedupe of [['canonical', 'content'], ['canonical']] as DedupeMode[][]) {
      const t = await crawlWith(['one', 'two', 'three'], dedupe);
      await t.store.settle(t.id, { ...page(at('one'), [], 1), contentHash: HASH_A, dedupe });
      await t.store.settle(t.id, { ...page(at('two'), [], 1), contentHash: HASH_A, dedupe });
      await t.store.settle(t.id, { ...page(at('three'), [], 1), contentHash: HASH_B, dedupe });
      if (dedupe.includes('content')) {
        expect(await stored(t)).toEqual([at('one'), at('three')]);
        expect(await t.store.errors(t.id)).toMatchObject([{ url: at('two'), reason: 'duplicate', duplicateOf: at('one') }]);
      } else {
        expect(await stored(t)).toEqual([at('one'), at('two'), at('three')]);
      }
    }
  });

  it('content: pages with empty markdown are never duplicates of each other', async () => {
    const t = await crawlWith(['e1', 'e2'], ['content']);
    const empty = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'; // sha256('')
    for (const path of ['e1', 'e2']) await t.store.settle(t.id, { ...page(at(path), [], 1), markdown: '', contentHash: empty, dedupe: ['content'] });
    expect(await stored(t)).toEqual([at('e1'), at('e2')]);
  });

  it('none: with dedupe [] a canonical duplicate is stored', async () => {
    const t = await crawlWith(['a', 'b'], []);
    await t.store.settle(t.id, { ...page(at('a'), [], 1), canonical: at('a'), dedupe: [] });
    await t.store.settle(t.id, { ...page(at('b'), [], 1), canonical: at('a'), dedupe: [] });
    expect(await stored(t)).toEqual([at('a'), at('b')]);
    expect(await t.connection.hlen(t.keys(t.id).dedupe)).toBe(0);
  });

  it('stores exactly one of N duplicates whose settles race from several connections', async () => {
    const N = 12;
    const paths = Array.from({ length: N }, (_, i) => `copy-${i}`);
    const t = await crawlWith(paths, ['canonical', 'content']);
    const stores = Array.from({ length: 4 }, () => t.another());
    const results = await Promise.all(
      paths.map((path, i) =>
        stores[i % stores.length]!.settle(t.id, {
          ...page(at(path), [], 1),
          canonical: at('the-one'),
          contentHash: HASH_A,
          dedupe: ['canonical', 'content'],
        }),
      ),
    );
    expect(results.every((r) => r.result === 'settled')).toBe(true);
    const kept = await stored(t);
    expect(kept).toHaveLength(1);
    const errors = await t.store.errors(t.id);
    expect(errors).toHaveLength(N - 1);
    for (const error of errors) expect(error).toMatchObject({ reason: 'duplicate', duplicateOf: kept[0] });
    const crawl = await t.store.get(t.id);
    expect(crawl?.counters).toMatchObject({ processed: 1, skipped: N - 1 });
  });
});
