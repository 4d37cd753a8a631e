// A page job whose worker went away (its lock expired, BullMQ's stall check
// put it back in the queue) is run again once; a second stall fails it, and
// the page is settled as `stalled` (read from BullMQ's `stalledCounter`, not
// from the error message), so the crawl still completes. Also: what the
// worker logs, through the pino logger it is given.
import { randomUUID } from 'node:crypto';
import type { PageOutcome } from '@crawlstream/progress';
import { PAGE_QUEUE, type PageJobData } from '@crawlstream/jobs';
import { queuePrefix } from '@crawlstream/shared';
import { type TestRedis, useRedis, redisCluster } from '@crawlstream/testkit';
import { type Job, Worker } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { startCrawl, waitForEnd } from './test-support/crawl.js';
import { type Site, startSite } from './test-support/site.js';

let site: Site;
beforeAll(async () => {
  site = await startSite({ pages: 3 });
});
afterAll(() => site.close());

/** Every line a pino logger writes, parsed. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/**
 * Takes the crawl's next page job as a worker that then vanishes, `times`
 * times: each time its lock runs out and BullMQ's stall check (two passes)
 * puts the job back in the queue with its stall counted.
 */
async function stall(redis: TestRedis, times: number): Promise<Job<PageJobData>> {
  const connection = redis.connect({ maxRetriesPerRequest: null });
  const ghost = new Worker<PageJobData>(PAGE_QUEUE, null, {
    connection,
    prefix: queuePrefix(redis.prefix),
    autorun: false,
    lockDuration: 100,
    stalledInterval: 50,
    maxStalledCount: 1,
  });
  let job: Job<PageJobData> | undefined;
  try {
    for (let stalls = 0; stalls < times; stalls++) {
      job = await ghost.getNextJob(randomUUID(), { block: false });
      expect(job).toBeDefined();
      if (stalls === 0) void ghost.startStalledCheckTimer();
      while ((await job!.getState()) === 'active') await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await job!.getState()).toBe('waiting');
    }
  } finally {
    await ghost.close(true);
    connection.disconnect();
  }
  return job!;
}

describe('a stalled page job', () => {
  let w: CrawlWorker | undefined;
  afterAll(() => w?.close());

  async function crawlAfterStalls(times: number) {
    const redis = useRedis('stall');
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/`, {
      maxPages: 1,
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const job = await stall(redis, times);
    const { logger, lines } = capturedLogger();
    w = await createCrawlWorker({ redisUrl: redis.url, redisCluster: redisCluster(), prefix: redis.prefix, concurrency: 2, ssrfAllow: ['127.0.0.1/32'], logger });
    const done = await waitForEnd(store, crawl.id);
    await w.close();
    w = undefined;
    return { store, crawl, done, job, lines };
  }

  it('stalled once (maxStalledCount): run again and processed', async () => {
    const { store, crawl, done, lines } = await crawlAfterStalls(1);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: 1, failed: 0 } });
    expect(await store.errors(crawl.id)).toEqual([]);
    expect(lines.filter((line) => line.level === 50)).toEqual([]);
  });

  it('stalled twice (one past): settled as failed with reason stalled, logged with its crawlId', async () => {
    const { store, crawl, done, lines } = await crawlAfterStalls(2);
    expect(done).toMatchObject({ status: 'completed', counters: { processed: 0, failed: 1 } });
    expect(await store.errors(crawl.id)).toEqual([
      expect.objectContaining({ url: `${site.origin}/docs/`, reason: 'stalled' }),
    ]);
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 50, crawlId: crawl.id, stalledCounter: 2, msg: 'page failed (stalled)' }),
    );
  });
});

describe('worker logs', () => {
  let w: CrawlWorker | undefined;
  afterAll(() => w?.close());

  it('an internal error fails the page (internal) and is logged with its crawlId and its stack', async () => {
    const redis = useRedis('log');
    const { logger, lines } = capturedLogger();
    w = await createCrawlWorker({
      redisUrl: redis.url, redisCluster: redisCluster(),
      prefix: redis.prefix,
      concurrency: 2,
      ssrfAllow: ['127.0.0.1/32'],
      retryBaseMs: 10,
      logger,
    });
    // Every processed settle of the start page breaks; the failed settle goes through.
    const settle = w.store.settle.bind(w.store);
    w.store.settle = async (id: string, outcome: PageOutcome) => {
      if (outcome.kind === 'processed') throw new Error('settle broke');
      return settle(id, outcome);
    };
    const { store, crawl } = await startCrawl(redis.connect(), redis.prefix, `${site.origin}/docs/`, {
      maxPages: 1,
      respectRobotsTxt: false,
      useSitemap: false,
    });
    const done = await waitForEnd(store, crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { failed: 1 } });
    expect(await store.errors(crawl.id)).toEqual([expect.objectContaining({ reason: 'internal', message: 'settle broke' })]);
    const failed = lines.find((line) => line.msg === 'page failed (internal)');
    expect(failed).toMatchObject({ level: 50, crawlId: crawl.id, urls: [`${site.origin}/docs/`] });
    expect((failed!.err as { stack: string }).stack).toMatch(/settle broke\n\s+at /);
    // The attempts before the last are retries, logged at debug with the same child logger.
    expect(lines.filter((line) => line.msg === 'page retry' && line.crawlId === crawl.id).length).toBeGreaterThan(0);
  });
});
