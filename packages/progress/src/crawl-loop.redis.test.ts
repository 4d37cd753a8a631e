// The store owns the crawl loop: it enqueues what it dispatches before a call
// resolves (group commit included), and a create interrupted after any of its
// steps is healed or removed by the sweep.
import { readFileSync } from 'node:fs';
import { CRAWL_STATUSES, globalKeys } from '@crawlstream/shared';
import { describe, expect, it, vi } from 'vitest';
import { CrawlStore } from './crawl-store.js';
import type { CreateStep } from './crawl-transitions.js';
import { type ScriptName, scriptKeyNames } from './scripts.js';
import { options, page, RecordingJobs, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

class Crash extends Error {}

describe('creating a crawl survives a crash after any step', () => {
  type Where = { id: string; inIndex: string[] };

  /** The indexes that hold `id`: the crawl list, `active`, and the status sets. */
  async function indexesOf(t: ReturnType<typeof testStore>, id: string): Promise<Where> {
    const keys = globalKeys(t.redis.prefix);
    const names: [string, string][] = [
      ['crawls', keys.crawlIndex],
      ['active', keys.active],
      ...CRAWL_STATUSES.map((status): [string, string] => [status, keys.crawlsByStatus(status)]),
    ];
    const inIndex: string[] = [];
    for (const [name, key] of names) if ((await t.connection.zscore(key, id)) !== null) inIndex.push(name);
    return { id, inIndex };
  }

  /** Plays the workers: settles every job enqueued, until none is left. */
  async function work(store: CrawlStore, jobs: RecordingJobs, id: string): Promise<void> {
    for (let queue = jobs.take(); queue.length > 0; queue = jobs.take()) {
      for (const job of queue) await store.settle(id, page(job.url, [], job.depth));
    }
  }

  const stops: (CreateStep | 'start')[] = ['start', 'indexed', 'stored', 'enqueued'];
  for (const stop of stops) {
    it(`a create stopped ${stop === 'start' ? 'before its first step' : `after "${stop}"`} ends with the crawl completed or in no index, never running unswept`, async () => {
      const t = testStore();
      const { jobs } = t;
      // A job is alive once enqueued (nothing runs it in this test).
      jobs.isAlive = (jobId) => jobs.added.some((job) => job.jobId === jobId);
      const id = `crash-${stop}`;
      const crashing = new CrawlStore({
        redis: t.connection,
        prefix: t.redis.prefix,
        jobs,
        afterCreateStep: (step) => {
          if (step === stop) throw new Crash(step);
        },
      });
      if (stop === 'start') {
        // Nothing ran: nothing to heal, nothing left behind.
      } else {
        await expect(crashing.create({ id, url: START, options: options() })).rejects.toBeInstanceOf(Crash);
      }
      const after = await t.store.get(id);
      const where = await indexesOf(t, id);
      if (after?.status === 'running') expect(where.inIndex).toEqual(expect.arrayContaining(['crawls', 'active', 'running']));

      // A sweep a little later (staleMs 0 here) heals or removes it.
      const report = await t.store.sweep({ staleMs: 0, maxGenerations: 3 });
      await work(t.store, jobs, id);
      const final = await t.store.get(id);
      if (stop === 'start' || stop === 'indexed') {
        expect(final).toBeNull();
        expect(await indexesOf(t, id)).toEqual({ id, inIndex: [] });
        expect(report.removed).toBe(stop === 'indexed' ? 1 : 0);
      } else {
        expect(final).toMatchObject({ status: 'completed', counters: { discovered: 1, processed: 1 } });
        expect(await indexesOf(t, id)).toEqual({ id, inIndex: ['crawls', 'completed'] });
        // Only the crawl whose job was lost needed a new one.
        expect(report.redispatched).toBe(stop === 'stored' ? 1 : 0);
      }
    });
  }

  it('a create still under way is not taken for an abandoned one', async () => {
    const t = testStore();
    const crashing = new CrawlStore({
      redis: t.connection,
      prefix: t.redis.prefix,
      jobs: t.jobs,
      afterCreateStep: (step) => {
        if (step === 'indexed') throw new Crash(step);
      },
    });
    await expect(crashing.create({ id: 'young', url: START, options: options() })).rejects.toBeInstanceOf(Crash);
    expect(await t.store.sweep({ staleMs: 60_000, maxGenerations: 3 })).toMatchObject({ removed: 0 });
    expect(await t.store.activeIds()).toEqual(['young']);
    // The retry (an Idempotency-Key resend uses the same id) creates it.
    const { crawl } = await t.store.create({ id: 'young', url: START, options: options() });
    expect(crawl).toMatchObject({ id: 'young', status: 'running' });
    expect(t.jobs.urls()).toEqual([START]);
  });

  it('a retried create of a crawl that was stored returns no second crawl, and the sweep gives it its lost job', async () => {
    const t = testStore();
    t.jobs.isAlive = (jobId) => t.jobs.added.some((job) => job.jobId === jobId);
    const crashing = new CrawlStore({
      redis: t.connection,
      prefix: t.redis.prefix,
      jobs: t.jobs,
      afterCreateStep: (step) => {
        if (step === 'stored') throw new Crash(step);
      },
    });
    await expect(crashing.create({ id: 'stored', url: START, options: options() })).rejects.toBeInstanceOf(Crash);
    await expect(t.store.create({ id: 'stored', url: START, options: options() })).rejects.toThrow(/exists already/);
    expect(await t.store.get('stored')).toMatchObject({ status: 'running' });
    expect(t.jobs.take()).toEqual([]);
    await t.store.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(t.jobs.urls()).toEqual([START]);
  });

  it('a retried create of an ended crawl leaves it counted under its terminal status', async () => {
    const t = testStore();
    await t.store.create({ id: 'ended', url: START, options: options() });
    await t.store.cancel('ended');
    await expect(t.store.create({ id: 'ended', url: START, options: options() })).rejects.toThrow(/exists already/);
    expect(await indexesOf(t, 'ended')).toEqual({ id: 'ended', inIndex: ['crawls', 'cancelled'] });
  });

  it('a create whose enqueue fails rejects, and the sweep enqueues its start page', async () => {
    const t = testStore();
    const failing = new RecordingJobs();
    failing.add = async () => {
      throw new Error('queue down');
    };
    t.jobs.isAlive = () => false; // the queue the sweep asks has no such job
    const down = new CrawlStore({ redis: t.connection, prefix: t.redis.prefix, jobs: failing });
    await expect(down.create({ id: 'down', url: START, options: options() })).rejects.toThrow('queue down');
    await t.store.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(t.jobs.urls()).toEqual([START]);
  });
});

describe('dispatches are enqueued by the store', () => {
  it('a settle batch enqueues its dispatches once, before any of its callers resolves, and no caller sees them', async () => {
    const { store, jobs } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ concurrency: 10, maxDepth: 5 }) });
    jobs.take();
    const links = Array.from({ length: 30 }, (_, i) => `${START}l${i}`);
    await store.settle(crawl.id, page(START, links));
    const first = jobs.take();
    expect(first).toHaveLength(10);

    // Hold every enqueue until released.
    const add = jobs.add.bind(jobs);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const calls: number[] = [];
    jobs.add = async (id, batch) => {
      calls.push(batch.length);
      await gate;
      return add(id, batch);
    };
    let resolved = 0;
    const settling = first.map((job) =>
      store.settle(crawl.id, page(job.url, [], job.depth)).then((result) => {
        resolved++;
        return result;
      }),
    );
    await vi.waitFor(() => expect(calls.reduce((n, c) => n + c, 0)).toBe(10));
    expect(resolved).toBe(0);
    // Group commit: fewer settle calls (each with one enqueue) than pages.
    expect(calls.length).toBeLessThan(10);
    release();
    const results = await Promise.all(settling);
    for (const result of results) expect(Object.keys(result).sort()).toEqual(['completed', 'counters', 'result']);
    expect(jobs.urls()).toEqual(links.slice(10, 20));
  });

  it('claim and dispatch enqueue what they dispatch', async () => {
    const { store, jobs } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ concurrency: 2 }) });
    expect(jobs.urls()).toEqual([START]);
    expect(await store.claim(crawl.id, 'sitemap', 1, [`${START}a`, `${START}b`])).toEqual({
      result: 'claimed',
      accepted: [`${START}a`, `${START}b`],
      fresh: true,
    });
    expect(jobs.urls()).toEqual([`${START}a`]);
    await store.settle(crawl.id, page(START));
    expect(jobs.urls()).toEqual([`${START}b`]);
    expect(await store.dispatch(crawl.id)).toEqual({ result: 'dispatched', completed: false, dispatched: 0 });
  });
});

describe('the script layer', () => {
  const names: ScriptName[] = [
    'createCrawl', 'claim', 'claimLinks', 'settle', 'dispatch', 'redispatch', 'cancel', 'fail',
    'appendProgress', 'open', 'readAfter', 'hostSlot', 'lockRobots', 'saveRobots',
  ];

  it('gives a script all 17 keys only when it can end the crawl (the end puts the TTL on every key)', () => {
    for (const name of names) {
      const keys = scriptKeyNames(name);
      const own = readFileSync(new URL(`../lua/${name}-${keys.length}.lua`, import.meta.url), 'utf8');
      const ends = /\b(finish|dispatchOrComplete)\(/.test(own);
      expect([name, keys.length === 17]).toEqual([name, ends]);
    }
    expect(scriptKeyNames('hostSlot')).toEqual(['meta', 'hosts']);
    expect(scriptKeyNames('redispatch')).toEqual(['meta', 'inflight']);
  });
});
