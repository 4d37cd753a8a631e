// The progress core's healing paths on the real page queue (QueuePageJobs on
// BullMQ), not on a stub: the sweep re-dispatches a URL whose job vanished,
// leaves live jobs alone, settles a URL past its last generation as
// `stalled` (and so completes the crawl), takes one turn per interval
// across processes; and a settle whose reply was lost comes back
// `duplicate` and re-enqueues at once what the lost call dispatched.
import { CrawlStore, type PageJobs, type PageOutcome } from '@crawlstream/progress';
import { crawlKeys, crawlOptionsSchema } from '@crawlstream/shared';
import { type TestRedis, useRedis } from '@crawlstream/testkit';
import { Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createPageQueue, PAGE_QUEUE, type PageQueue, QueuePageJobs } from './index.js';

const ORIGIN = 'http://127.0.0.1:9';
const START = `${ORIGIN}/docs/`;

const queues: PageQueue[] = [];
afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.close()));
});

/** A store on the real page queue, as the API and the workers have it. */
function setup(redis: TestRedis = useRedis('jl')) {
  const queue = createPageQueue(redis.connect({ maxRetriesPerRequest: null }), redis.prefix);
  queues.push(queue);
  const jobs = new QueuePageJobs(queue);
  const store = new CrawlStore({ redis: redis.connect(), prefix: redis.prefix, jobs });
  return { redis, queue, jobs, store };
}

async function create(store: CrawlStore, input: Record<string, unknown> = {}) {
  const options = crawlOptionsSchema().parse({ maxPages: 20, concurrency: 4, useSitemap: false, ...input });
  return (await store.create({ url: START, options })).crawl;
}

const processed = (url: string, links: string[]): PageOutcome => ({
  kind: 'processed',
  url,
  title: url,
  depth: 0,
  status: 200,
  bytes: 100,
  durationMs: 5,
  markdown: `# ${url}`,
  links,
});

describe('the sweep on the real page queue', () => {
  it('re-dispatches a URL whose job vanished: a new job, under the id stored with it', async () => {
    // Fails without the sweep's job check: the vanished job is never replaced and the crawl waits forever.
    const { store, queue } = setup();
    const crawl = await create(store);
    const [first] = await store.inflight(crawl.id);
    await queue.remove(first!.jobId);
    expect(await store.sweep({ staleMs: 0, maxGenerations: 3 })).toMatchObject({ ran: true, redispatched: 1 });
    const [again] = await store.inflight(crawl.id);
    expect(again).toMatchObject({ url: START, generation: 2 });
    expect(again!.jobId).not.toBe(first!.jobId);
    const job = await queue.getJob(again!.jobId);
    expect(job?.data).toEqual({ crawlId: crawl.id, pages: [{ url: START, depth: 0 }] });
    expect(await job!.getState()).toBe('waiting');
  });

  it('leaves alone a job that waits and a job a worker holds', async () => {
    // Fails if the sweep took live jobs for vanished ones: a second generation, and the page fetched twice.
    const { redis, store, queue } = setup();
    const held = await create(store);
    const [heldEntry] = await store.inflight(held.id);
    const worker = new Worker(PAGE_QUEUE, null, { connection: redis.connect({ maxRetriesPerRequest: null }), prefix: `{${redis.prefix}-queue}`, autorun: false });
    try {
      expect((await worker.getNextJob('test-token', { block: false }))?.id).toBe(heldEntry!.jobId);
      const waiting = await create(store);
      expect(await store.sweep({ staleMs: 0, maxGenerations: 3 })).toMatchObject({ crawls: 2, redispatched: 0, failed: 0 });
      for (const id of [waiting.id, held.id]) expect((await store.inflight(id))[0]).toMatchObject({ generation: 1 });
      expect(await queue.getJobCounts('waiting', 'active')).toEqual({ waiting: 1, active: 1 });
    } finally {
      await worker.close(true);
    }
  });

  it('settles a URL past its last generation as `stalled`, which completes the drained crawl', async () => {
    // Fails without the generation cap: the URL would be re-dispatched forever and the crawl never end.
    const { store, queue } = setup();
    const crawl = await create(store);
    for (let generation = 1; generation <= 2; generation++) {
      const [entry] = await store.inflight(crawl.id);
      expect(entry).toMatchObject({ generation });
      await queue.remove(entry!.jobId);
      await store.sweep({ staleMs: 0, maxGenerations: 2 });
    }
    expect(await store.get(crawl.id)).toMatchObject({ status: 'completed', counters: { discovered: 1, failed: 1 } });
    expect(await store.errors(crawl.id)).toEqual([
      expect.objectContaining({ url: START, reason: 'stalled', message: 'no worker finished this page after 2 attempts' }),
    ]);
    expect(await store.activeIds()).not.toContain(crawl.id);
  });

  it('completes a crawl found drained (nothing in flight, nothing waiting) that is still running', async () => {
    // Fails without the sweep's dispatch pass: such a crawl (its last in-flight record
    // lost, say) would stay running forever with no job to end it.
    const { redis, store, queue } = setup();
    const crawl = await create(store);
    const [start] = await store.inflight(crawl.id);
    await queue.remove(start!.jobId);
    await redis.connect().del(crawlKeys(crawl.id, redis.prefix).inflight);
    expect(await store.sweep({ staleMs: 0, maxGenerations: 3 })).toMatchObject({ crawls: 1, redispatched: 0, completed: 1 });
    expect(await store.get(crawl.id)).toMatchObject({ status: 'completed' });
    expect(await store.activeIds()).not.toContain(crawl.id);
    expect(await queue.count()).toBe(0);
  });

  it('takes one turn per interval across processes: of five sweepers at once, one runs', async () => {
    // Fails without the turn: every worker's sweep would run, its Redis cost growing with the workers.
    const redis = useRedis('jt');
    const sweepers = Array.from({ length: 5 }, () => setup(redis).store);
    await create(sweepers[0]!);
    const reports = await Promise.all(sweepers.map((s) => s.sweep({ staleMs: 0, maxGenerations: 3, turnMs: 300 })));
    expect(reports.filter((report) => report.ran)).toHaveLength(1);
    expect(reports.find((report) => report.ran)).toMatchObject({ crawls: 1 });
    // One past the turn: the next interval's sweep runs again.
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await sweepers[1]!.sweep({ staleMs: 0, maxGenerations: 3, turnMs: 300 })).toMatchObject({ ran: true });
  });
});

describe('a settle whose reply was lost', () => {
  it('comes back `duplicate` on the retry, which enqueues at once what the lost call dispatched', async () => {
    // Fails without the requeue: the children dispatched by the first call
    // have no job until the sweep notices (SWEEP_STALE_MS + SWEEP_INTERVAL_MS).
    const { redis, store, queue, jobs } = setup();
    const crawl = await create(store);
    const [start] = await store.inflight(crawl.id);
    await queue.remove(start!.jobId); // the start page's job ran (and will complete)
    // The first settle: the script runs, its answer never arrives, so nothing is enqueued.
    const lostReply: PageJobs = { add: async () => {}, alive: (jobId) => jobs.alive(jobId) };
    const cut = new CrawlStore({ redis: redis.connect(), prefix: redis.prefix, jobs: lostReply });
    const links = [1, 2, 3, 4, 5].map((i) => `${ORIGIN}/docs/p${i}.html`);
    expect(await cut.settle(crawl.id, processed(START, links))).toMatchObject({ result: 'settled' });
    const children = await store.inflight(crawl.id);
    expect(children).toHaveLength(4); // concurrency
    for (const child of children) expect(await jobs.alive(child.jobId)).toBe(false);
    // The retry of the page job settles again.
    expect(await store.settle(crawl.id, processed(START, links))).toEqual({ result: 'duplicate' });
    // Every child is carried by the job its in-flight record names (one dispatch: one job here).
    for (const child of children) {
      const job = await queue.getJob(child.jobId);
      expect(job?.data).toMatchObject({ crawlId: crawl.id, pages: expect.arrayContaining([{ url: child.url, depth: 1 }]) });
    }
    const jobCount = new Set(children.map((child) => child.jobId)).size;
    expect(await queue.count()).toBe(jobCount);
    // A page already settled is not enqueued again; a second duplicate adds nothing.
    expect(await store.settle(crawl.id, processed(START, links))).toEqual({ result: 'duplicate' });
    expect(await queue.count()).toBe(jobCount);
    expect(await queue.getJob(start!.jobId)).toBeUndefined();
  });
});
