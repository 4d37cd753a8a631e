import { PAGES_PER_JOB } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { options, page, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
const links = (n: number) => Array.from({ length: n }, (_, i) => `${START}p${i}`);

/** URLs per job id, in dispatch order. */
function jobSizes(dispatched: { jobId: string }[]): number[] {
  const sizes = new Map<string, number>();
  for (const { jobId } of dispatched) sizes.set(jobId, (sizes.get(jobId) ?? 0) + 1);
  return [...sizes.values()];
}

describe('page jobs', () => {
  it('puts one dispatch of PAGES_PER_JOB URLs in one job, and one more URL in two jobs of near-equal size', async () => {
    for (const [concurrency, expected] of [
      [PAGES_PER_JOB, [PAGES_PER_JOB]],
      [PAGES_PER_JOB + 1, [Math.ceil((PAGES_PER_JOB + 1) / 2), Math.floor((PAGES_PER_JOB + 1) / 2)]],
    ] as const) {
      const { store, jobs } = testStore();
      const { crawl } = await store.create({ url: START, options: options({ concurrency }) });
      jobs.take();
      await store.settle(crawl.id, page(START, links(40)));
      const dispatched = jobs.take();
      expect(dispatched.map((job) => job.url)).toEqual(links(concurrency));
      expect(jobSizes(dispatched)).toEqual(expected);
      // Every URL's in-flight record names the job that carries it (the sweep asks the queue about that id).
      const inflight = new Map((await store.inflight(crawl.id)).map((entry) => [entry.url, entry.jobId]));
      for (const job of dispatched) expect(inflight.get(job.url)).toBe(job.jobId);
    }
  });

  it('gives each URL its own job when settles come one at a time (an idle crawl waits for no batch)', async () => {
    const { store, jobs } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ concurrency: 4 }) });
    jobs.take();
    await store.settle(crawl.id, page(START, links(10)));
    expect(jobSizes(jobs.take())).toEqual([4]);
    await store.settle(crawl.id, page(`${START}p0`, [], 1));
    const next = jobs.take();
    expect(next.map((job) => job.url)).toEqual([`${START}p4`]);
    expect(jobSizes(next)).toEqual([1]);
  });
});
