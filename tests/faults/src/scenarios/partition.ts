// Partitions: a worker or the API cut off from Redis by a paused TCP proxy.
import { setTimeout as sleep } from 'node:timers/promises';
import { startTcpProxy } from '@crawlstream/testkit/tcp-proxy';
import type { Proc } from '../processes.js';
import { CRAWL_OPTIONS, CRAWL_PAGES, watch } from '../stack.js';
import { readersVerdict } from '../stream-reader.js';
import { onStack, type Run, readyz, rowOf, runCrawl, type Scenario } from '../run.js';

/** How long a partition is held. */
const PARTITION_MS = 20_000;

/**
 * f1. A worker cut off from Redis by a paused proxy for 20 s while it holds
 * pages: it crawls alone until 30 %, then the partition starts and a second
 * worker (not cut off) joins, as it does at the same point of the crawl
 * without the fault.
 */
export const partitionWorker: Scenario = {
  name: 'partition-worker',
  targetS: 10,
  boundS: 40,
  run: (startRedis) =>
    onStack(startRedis, async (stack) => {
      const proxy = await startTcpProxy(stack.redis.port);
      try {
        const api = await stack.procs.startApi({ redisUrl: stack.redis.url });
        const behind = await stack.procs.startWorker({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
        const joins: Proc[] = [];
        const join = async () => {
          joins.push(await stack.procs.startWorker({ redisUrl: stack.redis.url }));
        };
        const leave = async () => {
          for (const worker of joins.splice(0)) {
            worker.kill('SIGKILL');
            await worker.exited;
          }
        };
        const baseline = await runCrawl(stack, [api.base], 0, { readers: 3, fault: { at: 0.3, act: join } });
        await leave();
        let fault = '';
        let resumedAt = 0;
        const hit = await runCrawl(stack, [api.base], 1, {
          readers: 3,
          fault: {
            at: 0.3,
            act: async (n) => {
              proxy.pause();
              await join();
              await sleep(PARTITION_MS);
              proxy.resume();
              resumedAt = Date.now();
              fault = `worker<->Redis partition for ${PARTITION_MS / 1000} s from ${n}/${CRAWL_PAGES} pages (the cut-off worker holding pages; a second worker joins)`;
            },
          },
        });
        // The worker reconnected by itself: alone again, it crawls.
        const problems: string[] = [];
        if (behind.child.exitCode !== null) problems.push(`the partitioned worker exited (${behind.child.exitCode})`);
        await leave();
        const after = await runCrawl(stack, [api.base], 2, { options: { ...CRAWL_OPTIONS, maxPages: 40 }, pages: 40, timeoutMs: 60_000 });
        problems.push(...after.verdict.problems.map((p) => `after the partition, the worker alone: ${p}`));
        const endedAfter = (hit.finishedAt - resumedAt) / 1000;
        return rowOf({
          scenario: partitionWorker,
          fault,
          baseline,
          hit,
          heldS: PARTITION_MS / 1000,
          problems,
          notes: `the crawl ended ${endedAfter.toFixed(1)} s after the partition ended (negative: during it); a 40-page crawl on the partitioned worker alone afterwards: ${after.crawl?.status ?? 'not terminal'}`,
        });
      } finally {
        await proxy.close();
      }
    }),
};

/** f2. The API cut off from Redis by a paused proxy for 20 s at 30 %, with readers attached. */
export const partitionApi: Scenario = {
  name: 'partition-api',
  targetS: 10,
  boundS: 30,
  run: (startRedis) =>
    onStack(startRedis, async (stack) => {
      const proxy = await startTcpProxy(stack.redis.port);
      try {
        const api = await stack.procs.startApi({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
        await Promise.all([1, 2].map(() => stack.procs.startWorker({ redisUrl: stack.redis.url })));
        const readersEnd = (run: Run) => Math.max(...run.readers.map((r) => r.endedAt ?? Date.now()));
        const baseline = await runCrawl(stack, [api.base], 0, { readers: 5 });
        let fault = '';
        let resumedAt = 0;
        const ready = watch(readyz(api.base), 250);
        const hit = await runCrawl(stack, [api.base], 1, {
          readers: 5,
          fault: {
            at: 0.3,
            act: async (n) => {
              proxy.pause();
              await sleep(PARTITION_MS);
              proxy.resume();
              resumedAt = Date.now();
              fault = `API<->Redis partition for ${PARTITION_MS / 1000} s from ${n}/${CRAWL_PAGES} pages, 5 readers attached`;
            },
          },
        });
        const problems: string[] = [];
        // The API reconnected by itself: it starts and serves a new crawl, and says it is ready.
        const after = await runCrawl(stack, [api.base], 2, { readers: 1, options: { ...CRAWL_OPTIONS, maxPages: 40 }, pages: 40, timeoutMs: 60_000 });
        problems.push(...after.verdict.problems.map((p) => `after the partition: ${p}`), ...readersVerdict(after.readers).problems);
        const statuses = await ready.stop();
        if (statuses.at(-1) !== 200) problems.push(`/readyz ended at ${statuses.at(-1)}, not 200`);
        // Healing: from the end of the partition (or the crawl's end, if later) to the last reader's terminal event.
        const healS = Math.max(0, (readersEnd(hit) - Math.max(resumedAt, hit.finishedAt)) / 1000);
        const lagBaseline = Math.max(0, (readersEnd(baseline) - baseline.finishedAt) / 1000);
        return rowOf({
          scenario: partitionApi,
          fault,
          baseline,
          hit,
          heldS: PARTITION_MS / 1000,
          healS,
          problems,
          notes: `/readyz answered ${statuses.join(' -> ')}; readers' last terminal event ${lagBaseline.toFixed(2)} s after the crawl's end without the fault`,
        });
      } finally {
        await proxy.close();
      }
    }),
};
