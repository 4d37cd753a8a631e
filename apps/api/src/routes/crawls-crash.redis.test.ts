// POST with an Idempotency-Key, stopped after each step of its create (as an
// API kill -9 would stop it), then retried on another instance: the retry
// returns the one crawl, running with its first job in the queue (never a
// crawl that waits for the sweep), and the crawl completes.
import { crawl } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, START, settleStart, startApi } from '../test-support/harness.js';
import type { PostStep } from './crawls.js';

class Crash extends Error {}

const steps: PostStep[] = ['keyed', 'indexed', 'stored', 'enqueued'];

describe('an Idempotency-Key retry after a create stopped part way', () => {
  for (const stop of steps) {
    it(`stopped after "${stop}": the retry returns the crawl running with its start page queued, and it completes`, async () => {
      const redis = useRedis('ik');
      const crashing = await startApi(redis, {
        afterCreateStep: (step) => {
          if (step === stop) throw new Crash(step);
        },
      });
      const healthy = await startApi(redis);
      const headers = { 'idempotency-key': `key-${stop}` };
      const first = await call(crashing.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers });
      expect(first.status).toBe(500);

      const retry = await call(healthy.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers });
      expect(retry.status).toBe(200);
      const { id, status } = crawl.parse(retry.json);
      expect(status).toBe('running');
      // Its start page is in flight with a job the queue has and will run
      // (stopped after "stored", the old retry returned the crawl without one:
      // it waited for the sweep).
      const { store, queue } = healthy.app.crawlstream;
      const inflight = await store.inflight(id);
      expect(inflight.map((e) => e.url)).toEqual([START]);
      expect(await queue.getJobState(inflight[0]!.jobId)).toBe('waiting');
      // Retried again: the same crawl, nothing added.
      const again = await call(healthy.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers });
      expect(crawl.parse(again.json).id).toBe(id);
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });

      // Nothing is left for the sweep to heal, and the crawl completes.
      expect(await store.sweep({ staleMs: 0, maxGenerations: 3 })).toMatchObject({ redispatched: 0, removed: 0 });
      await settleStart(store, id, []);
      expect(await store.get(id)).toMatchObject({ status: 'completed', counters: { processed: 1 } });
      expect(await store.activeIds()).toEqual([]);
    });
  }
});
