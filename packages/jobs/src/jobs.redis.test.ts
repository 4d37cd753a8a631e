import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { createPageQueue, QueuePageJobs } from './index.js';

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
    expect(job?.data).toEqual({ crawlId: 'c1', url: 'http://127.0.0.1:9/b', depth: 1 });
    expect(job?.opts.attempts).toBeGreaterThan(1);
    expect(await jobs.alive('c1-1-aaaa')).toBe(true);
    expect(await jobs.alive('c1-1-nope')).toBe(false);
    const keys = await redis.connect().keys(`{${redis.prefix}-queue}*`);
    expect(keys.length).toBeGreaterThan(0);
    await queue.close();
  });
});
