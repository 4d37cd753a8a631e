import { PAGES_PER_JOB } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { createPageQueue, jobPages, pageJobData, QueuePageJobs } from './index.js';

const url = (i: number) => `http://127.0.0.1:9/p${i}`;

describe('page queue', () => {
  it('enqueues one job per dispatch under its deterministic id, once', async () => {
    const redis = useRedis('j');
    const queue = createPageQueue(redis.connect({ maxRetriesPerRequest: null }), redis.prefix);
    const dispatches = [
      { url: 'http://127.0.0.1:9/a', depth: 0, jobId: 'c1-1-aaaa' },
      { url: 'http://127.0.0.1:9/b', depth: 1, jobId: 'c1-1-bbbb' },
    ];
    const jobs = new QueuePageJobs(queue);
    await jobs.add('c1', dispatches);
    await jobs.add('c1', dispatches); // a retried caller
    expect(await queue.count()).toBe(2);
    const job = await queue.getJob('c1-1-bbbb');
    expect(job?.data).toEqual({ crawlId: 'c1', pages: [{ url: 'http://127.0.0.1:9/b', depth: 1 }] });
    expect(job?.opts.attempts).toBeGreaterThan(1);
    expect(await jobs.alive('c1-1-aaaa')).toBe(true);
    expect(await jobs.alive('c1-1-nope')).toBe(false);
    // The job lives under the test's queue prefix (one key read: KEYS would ask one node of a cluster).
    expect(await redis.connect().exists(`{${redis.prefix}-queue}:pages:c1-1-aaaa`)).toBe(1);
    await queue.close();
  });

  it('puts the URLs that share a job id in one job, in order, up to PAGES_PER_JOB and not one more', async () => {
    const redis = useRedis('j');
    const queue = createPageQueue(redis.connect({ maxRetriesPerRequest: null }), redis.prefix);
    const jobs = new QueuePageJobs(queue);
    const full = Array.from({ length: PAGES_PER_JOB }, (_, i) => ({ url: url(i), depth: 2, jobId: 'c1-1-full' }));
    await jobs.add('c1', [...full, { url: url(99), depth: 1, jobId: 'c1-1-one' }]);
    expect(await queue.count()).toBe(2);
    const job = await queue.getJob('c1-1-full');
    expect(job?.data).toEqual({ crawlId: 'c1', pages: full.map(({ url, depth }) => ({ url, depth })) });
    const over = [...full, { url: url(PAGES_PER_JOB), depth: 2, jobId: 'c1-1-full' }].map((job) => ({ ...job, jobId: 'c1-1-over' }));
    await expect(jobs.add('c1', over)).rejects.toThrow(/more than/);
    expect(await jobs.alive('c1-1-over')).toBe(false);
    await queue.close();
  });
});

describe('page job data', () => {
  it('takes 1 to PAGES_PER_JOB pages, and the one-URL form of earlier jobs', () => {
    const pages = (n: number) => Array.from({ length: n }, (_, i) => ({ url: url(i), depth: 1 }));
    expect(pageJobData.safeParse({ crawlId: 'c', pages: pages(PAGES_PER_JOB) }).success).toBe(true);
    expect(pageJobData.safeParse({ crawlId: 'c', pages: pages(PAGES_PER_JOB + 1) }).success).toBe(false);
    expect(pageJobData.safeParse({ crawlId: 'c', pages: [] }).success).toBe(false);
    const legacy = pageJobData.parse({ crawlId: 'c', url: url(1), depth: 3, slotAt: 5 });
    expect(jobPages(legacy)).toEqual({ crawlId: 'c', pages: [{ url: url(1), depth: 3 }], slotAt: 5 });
    expect(jobPages(pageJobData.parse({ crawlId: 'c', pages: pages(2) }))).toEqual({ crawlId: 'c', pages: pages(2) });
  });
});
