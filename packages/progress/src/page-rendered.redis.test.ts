// `rendered` (#17) through the store: a processed page's rendered flag is kept
// on its stored record (plain and gzipped alike) and put on its `page` event,
// true or false; a page settled without it (as by a worker from before
// rendering) has it on neither.
import { pageEvent, pageResult } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { allEvents, ofType, options, page, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

describe('rendered in the store', () => {
  it('is stored and evented as the worker sent it, true or false', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const [shell, big] = [`${START}app`, `${START}big`];
    await store.settle(crawl.id, { ...page(START, [shell, big]), rendered: false });
    await store.settle(crawl.id, { ...page(shell, [], 1), rendered: true });
    await store.settle(crawl.id, { ...page(big, [], 1), markdown: 'Rendered page. '.repeat(500), rendered: true });
    const { items } = await store.pages(crawl.id, 0, 10);
    expect(items.map((item) => [item.url, item.rendered])).toEqual([
      [START, false],
      [shell, true],
      [big, true],
    ]);
    for (const item of items) expect(pageResult.parse(item)).toEqual(item);
    const events = ofType(await allEvents(store, crawl.id), 'page');
    expect(events.map((event) => [event.url, event.rendered])).toEqual([
      [START, false],
      [shell, true],
      [big, true],
    ]);
    for (const event of events) expect(pageEvent.parse(event)).toMatchObject({ rendered: event.rendered });
  });

  it('is absent from a page settled without it, and such a page still reads', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    await store.settle(crawl.id, page(START));
    const [item] = (await store.pages(crawl.id, 0, 10)).items;
    expect(item).not.toHaveProperty('rendered');
    expect(pageResult.parse(item)).toEqual(item);
    const [event] = ofType(await allEvents(store, crawl.id), 'page');
    expect(event).not.toHaveProperty('rendered');
  });
});
