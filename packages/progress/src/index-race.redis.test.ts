// A crawl that exists is never left out of the indexes across crawls (the
// list, `active` that the sweep watches, the running set of the metrics) by
// a sweep that took its id for an abandoned create. The sweep removes an
// `active` id with no crawl behind it once it is older than its stale bound;
// a create held up past that bound (a partition between its index step and
// its script) or an Idempotency-Key retry re-creating the crawl under the
// same id can store the crawl around that removal. Without the create's
// second index step the first test finds the crawl missing from the list and
// from `active`; without forget's re-check the second one does, in some of its
// rounds (the removal lands between the create's two index steps).
import { globalKeys, newCrawlId } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import type { CrawlStore } from './crawl-store.js';
import { options, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

async function indexedIn(setup: ReturnType<typeof testStore>, id: string) {
  const keys = globalKeys(setup.redis.prefix);
  const [list, active, running] = await Promise.all([
    setup.connection.zscore(keys.crawlIndex, id),
    setup.connection.zscore(keys.active, id),
    setup.connection.zscore(keys.crawlsByStatus('running'), id),
  ]);
  return { list: list !== null, active: active !== null, running: running !== null };
}

describe('indexes across crawls against the sweep', () => {
  it('a create held up past the stale bound after its index step is indexed again once stored', async () => {
    let sweeper: CrawlStore | undefined;
    const setup = testStore({
      // Between the index step and the create script, another process's sweep
      // finds the id with no crawl behind it and takes it out of every index.
      afterCreateStep: async (step) => {
        if (step === 'indexed') expect(await sweeper!.sweep({ staleMs: 0, maxGenerations: 3 })).toMatchObject({ removed: 1 });
      },
    });
    sweeper = setup.another();
    const id = newCrawlId();
    const { crawl } = await setup.store.create({ id, url: START, options: options() });
    expect(crawl.status).toBe('running');
    expect(await indexedIn(setup, id)).toEqual({ list: true, active: true, running: true });
  });

  it('a create racing the removal of its own id on another connection: every crawl that exists stays indexed', async () => {
    const setup = testStore();
    const other = setup.another();
    const ids: string[] = [];
    for (let round = 0; round < 150; round++) {
      const id = newCrawlId();
      ids.push(id);
      // What the sweep does with an abandoned create, at every offset from the create's steps.
      const delay = round % 5;
      await Promise.all([
        setup.store.create({ id, url: START, options: options() }),
        (async () => {
          for (let i = 0; i < delay; i++) await other.activeIds();
          await other.forgetActive(id);
        })(),
      ]);
    }
    const missing: string[] = [];
    for (const id of ids) {
      const where = await indexedIn(setup, id);
      if (!(where.list && where.active && where.running)) missing.push(`${id} ${JSON.stringify(where)}`);
    }
    expect(missing).toEqual([]);
  });
});
