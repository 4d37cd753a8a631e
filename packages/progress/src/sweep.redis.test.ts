import { describe, expect, it } from 'vitest';
import { allEvents, ofType, options, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

describe('the stalled-work sweep', () => {
  it('checks the job id stored with the in-flight record, and enqueues the new job id it stores', async () => {
    const { store, jobs } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const [first] = jobs.take();
    const asked: string[] = [];
    jobs.isAlive = (jobId) => {
      asked.push(jobId);
      return false;
    };
    await store.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(asked).toEqual([first!.jobId]);
    const [again] = jobs.take();
    expect(again).toMatchObject({ url: START, depth: 0 });
    expect(again!.jobId).not.toBe(first!.jobId);
    expect(await store.inflight(crawl.id)).toEqual([expect.objectContaining({ generation: 2, jobId: again!.jobId })]);
  });

  it('re-dispatches a URL whose job vanished, then fails it as stalled, so the crawl completes', async () => {
    const { store, jobs } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    jobs.take();
    jobs.isAlive = () => false; // every worker died: no job survives
    const run = () => store.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(await run()).toMatchObject({ redispatched: 1, failed: 0 });
    expect(jobs.take()).toHaveLength(1);
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
    const { store, another, jobs } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    jobs.take();
    const alive = await store.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(alive).toMatchObject({ crawls: 1, redispatched: 0 });
    jobs.isAlive = () => false;
    const fresh = await store.sweep({ staleMs: 60_000, maxGenerations: 3 });
    expect(fresh).toMatchObject({ redispatched: 0 });
    const racing = await Promise.all(Array.from({ length: 5 }, () => another().sweep({ staleMs: 0, maxGenerations: 10 })));
    expect(racing.reduce((n, r) => n + r.redispatched, 0)).toBe(1);
    expect(jobs.take()).toHaveLength(1);
    expect((await store.inflight(crawl.id))[0]!.generation).toBe(2);
  });
});
