// Page metadata (#14) through the store: what the worker sends on a processed
// outcome is kept on the stored page record (plain and gzipped alike) and read
// back by `pages`, bounded at the settle whatever the caller sends, and never
// put on the `page` event.
import { MAX_DESCRIPTION_LENGTH, MAX_LANGUAGE_LENGTH, MAX_URL_LENGTH, MAX_VALIDATOR_LENGTH, pageResult } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { decodePage, encodePage } from './pages.js';
import { allEvents, ofType, options, page, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
const HASH = 'a'.repeat(64);
const METADATA = {
  description: 'The docs, all of them.',
  language: 'en-GB',
  canonical: 'http://127.0.0.1:9/docs/index',
  contentHash: HASH,
  wordCount: 1234,
  etag: 'W/"v1"',
  lastModified: 'Tue, 01 Dec 2026 08:00:00 GMT',
};

describe('page metadata in the store', () => {
  it('is kept on the stored record and read back by pages (small and gzipped records), not on the page event', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const big = `${START}big`;
    await store.settle(crawl.id, { ...page(START, [big]), ...METADATA });
    await store.settle(crawl.id, { ...page(big, [], 1), markdown: 'Big page. '.repeat(500), ...METADATA, wordCount: 1000 });
    const { items } = await store.pages(crawl.id, 0, 10);
    expect(items).toHaveLength(2);
    expect(items[0]).toMatchObject({ url: START, ...METADATA });
    expect(items[1]).toMatchObject({ url: big, ...METADATA, wordCount: 1000 });
    for (const item of items) expect(pageResult.parse(item)).toEqual(item);
    const events = ofType(await allEvents(store, crawl.id), 'page');
    expect(events).toHaveLength(2);
    for (const event of events) {
      for (const key of Object.keys(METADATA)) expect(event).not.toHaveProperty(key);
    }
  });

  it('is absent from a record settled without it (as from an older worker), and such records still read', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    await store.settle(crawl.id, page(START));
    const [item] = (await store.pages(crawl.id, 0, 10)).items;
    for (const key of Object.keys(METADATA)) expect(item).not.toHaveProperty(key);
    expect(pageResult.parse(item)).toEqual(item);
  });

  it('is bounded at the settle: description cut at its bound (kept whole at it), other fields out of bounds left out', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const [at, past] = [`${START}at`, `${START}past`];
    await store.claim(crawl.id, 'test', 1, [at, past]);
    const atLimits = {
      description: 'd'.repeat(MAX_DESCRIPTION_LENGTH),
      language: 'l'.repeat(MAX_LANGUAGE_LENGTH),
      canonical: `http://127.0.0.1:9/${'c'.repeat(MAX_URL_LENGTH - 'http://127.0.0.1:9/'.length)}`,
      etag: 'e'.repeat(MAX_VALIDATOR_LENGTH),
      lastModified: 'm'.repeat(MAX_VALIDATOR_LENGTH),
    };
    await store.settle(crawl.id, { ...page(at, [], 1), ...atLimits });
    await store.settle(crawl.id, {
      ...page(past, [], 1),
      description: `${'d'.repeat(MAX_DESCRIPTION_LENGTH)}e`,
      language: 'l'.repeat(MAX_LANGUAGE_LENGTH + 1),
      canonical: `${atLimits.canonical}c`,
      etag: 'e'.repeat(MAX_VALIDATOR_LENGTH + 1),
      lastModified: 'm'.repeat(MAX_VALIDATOR_LENGTH + 1),
      contentHash: 'not a hash',
      wordCount: -1,
    });
    const items = (await store.pages(crawl.id, 0, 10)).items;
    expect(items.find((item) => item.url === at)).toMatchObject(atLimits);
    const cut = items.find((item) => item.url === past)!;
    expect(cut.description).toBe('d'.repeat(MAX_DESCRIPTION_LENGTH));
    for (const key of ['language', 'canonical', 'etag', 'lastModified', 'contentHash', 'wordCount']) expect(cut).not.toHaveProperty(key);
    for (const item of items) expect(pageResult.parse(item)).toEqual(item);
  });

  it('survives the stored encoding unchanged', () => {
    const record = { url: START, title: 't', depth: 0, status: 200, markdown: 'm', fetchedAt: '2026-12-01T08:00:00.000Z', ...METADATA };
    expect(decodePage(encodePage(record))).toEqual(record);
    const large = { ...record, markdown: 'x '.repeat(4096) };
    expect(decodePage(encodePage(large))).toEqual(large);
  });
});
