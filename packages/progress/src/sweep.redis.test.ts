import { describe, expect, it } from 'vitest';
import type { Dispatch } from './crawl-store.js';
import { jobIdFor, sweep } from './sweep.js';
import { allEvents, ofType, options, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

describe('the stalled-work sweep', () => {
  it('uses the same job ids as the Lua dispatch', async () => {
    const { store } = testStore();
    const { crawl, dispatched } = await store.create({ url: START, options: options() });
    expect(dispatched[0]!.jobId).toBe(jobIdFor(crawl.id, START, 1));
  });

  it('re-dispatches a URL whose job vanished, then fails it as stalled, so the crawl completes', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const enqueued: Dispatch[] = [];
    const run = () =>
      sweep({
        store,
        jobAlive: async () => false, // every worker died: no job survives
        enqueue: async (_id, d) => {
          enqueued.push(...d);
        },
        staleMs: 0,
        maxGenerations: 3,
      });
    expect(await run()).toMatchObject({ redispatched: 1, failed: 0 });
    expect(enqueued.map((d) => d.jobId)).toEqual([jobIdFor(crawl.id, START, 2)]);
    expect(await run()).toMatchObject({ redispatched: 1 });
    expect(await run()).toMatchObject({ failed: 1, completed: 1 });
    const final = await store.get(crawl.id);
    expect(final).toMatchObject({ status: 'completed', counters: { discovered: 1, failed: 1 } });
    const failed = ofType(await allEvents(store, crawl.id), 'page_failed');
    expect(failed).toEqual([expect.objectContaining({ url: START, reason: 'stalled', attempts: 3 })]);
    expect(await store.activeIds()).not.toContain(crawl.id);
    expect(await run()).toMatchObject({ crawls: 0 });
  });

  it('leaves live jobs and fresh dispatches alone; two sweepers never both re-dispatch', async () => {
    const { store, another } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const alive = await sweep({ store, jobAlive: async () => true, enqueue: async () => {}, staleMs: 0, maxGenerations: 3 });
    expect(alive).toMatchObject({ crawls: 1, redispatched: 0 });
    const fresh = await sweep({ store, jobAlive: async () => false, enqueue: async () => {}, staleMs: 60_000, maxGenerations: 3 });
    expect(fresh).toMatchObject({ redispatched: 0 });
    const enqueued: Dispatch[] = [];
    const racing = await Promise.all(
      Array.from({ length: 5 }, () =>
        sweep({
          store: another(),
          jobAlive: async () => false,
          enqueue: async (_id, d) => {
            enqueued.push(...d);
          },
          staleMs: 0,
          maxGenerations: 10,
        }),
      ),
    );
    expect(racing.reduce((n, r) => n + r.redispatched, 0)).toBe(1);
    expect(enqueued).toHaveLength(1);
    expect((await store.inflight(crawl.id))[0]!.generation).toBe(2);
  });
});
