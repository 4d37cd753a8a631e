// A Redis restart that lost the last writes (kill -9 with `appendfsync
// everysec`, or a restart from an older RDB/AOF): the crawl comes back as it
// was at some earlier moment T, whole (every script is one atomic entry of
// the AOF, and an RDB is one moment), so its counters, done set, frontier,
// in-flight records and event log agree with each other. What can be lost
// is a job whose script was kept: the in-flight record then names a job the
// queue no longer has, and the sweep gives it a new one.
import { connect, startExtraRedis, uniquePrefix } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { CrawlStore } from './crawl-store.js';
import { allEvents, ofType, options, page, RecordingJobs } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

describe('a crawl across a Redis restart that lost its last writes', () => {
  it('comes back consistent as of T; the sweep re-enqueues the page whose job was lost, and the crawl completes with exact counts', async () => {
    const server = await startExtraRedis(); // no AOF: a restart loads the RDB that SAVE wrote at T
    const prefix = uniquePrefix('rb');
    const admin = connect(server.url, { maxRetriesPerRequest: null });
    const before = new RecordingJobs();
    const store = new CrawlStore({ redis: connect(server.url, { maxRetriesPerRequest: 1 }), prefix, jobs: before });
    const { crawl } = await store.create({ url: START, options: options({ concurrency: 2 }) });
    const links = Array.from({ length: 4 }, (_, i) => `${START}a${i}`);
    before.take();
    await store.settle(crawl.id, page(START, links));
    expect(before.urls()).toEqual([links[0], links[1]]);

    // T falls between a settle script (which dispatched a2 and recorded its
    // job id in flight) and the enqueue of that job: the job is lost, the
    // record kept.
    const add = before.add.bind(before);
    let saveFirst = true;
    before.add = async (crawlId, jobs) => {
      if (saveFirst && jobs.length > 0) {
        saveFirst = false;
        await admin.save();
      }
      return add(crawlId, jobs);
    };
    await store.settle(crawl.id, page(links[0]!));
    const jobsAtT = new Set(before.added.slice(0, -1).map((job) => job.jobId));
    // Lost: a1 settled, a3 dispatched.
    await store.settle(crawl.id, page(links[1]!));
    expect(await store.counters(crawl.id)).toMatchObject({ processed: 3 });

    await server.kill();
    await server.restart();

    // A new process (the worker's in-memory state is gone too): the queue it
    // sees holds the jobs enqueued before T, and what it enqueues from now on.
    const after = new RecordingJobs();
    after.isAlive = (jobId) => jobsAtT.has(jobId) || after.added.some((job) => job.jobId === jobId);
    const restarted = new CrawlStore({ redis: connect(server.url, { maxRetriesPerRequest: 1 }), prefix, jobs: after });
    await expect.poll(() => restarted.status(crawl.id).catch(() => 'down'), { timeout: 20_000 }).toBe('running');

    // As of T, and in agreement with its own log.
    const counters = await restarted.counters(crawl.id);
    expect(counters).toMatchObject({ discovered: 5, processed: 2 });
    const log = await allEvents(restarted, crawl.id);
    expect(ofType(log, 'page')).toHaveLength(counters.processed);
    expect(ofType(log, 'discovered').reduce((n, e) => n + e.urls.length, 0)).toBe(counters.discovered);
    const inflight = await restarted.inflight(crawl.id);
    expect(inflight.map((e) => e.url).sort()).toEqual([links[1], links[2]]);

    // The queue hands back the job it still has (a1, as BullMQ does with a
    // job whose completion was lost); a2's job is gone, and only the sweep can
    // give it a new one (without it the crawl would stay running for good).
    for (const entry of inflight) if (jobsAtT.has(entry.jobId)) await restarted.settle(crawl.id, page(entry.url, [], entry.depth));
    const report = await restarted.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(report.redispatched).toBe(1);
    for (let queue = after.take(); queue.length > 0; queue = after.take()) {
      for (const job of queue) await restarted.settle(crawl.id, page(job.url, [], job.depth));
    }
    expect(await restarted.get(crawl.id)).toMatchObject({ status: 'completed', counters: { discovered: 5, processed: 5, failed: 0, skipped: 0 } });
    const final = await allEvents(restarted, crawl.id);
    expect(ofType(final, 'page').map((e) => e.url).sort()).toEqual([START, ...links].sort());
  });
});
