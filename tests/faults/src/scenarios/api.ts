// API faults: an instance killed during a burst of POSTs, or under readers; slow readers.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Crawl, CrawlOptionsInput } from '@crawlstream/shared';
import { call, isTerminal, postCrawl, verifyCrawl } from '../crawl-api.js';
import type { ApiProc, } from '../processes.js';
import { CRAWL_PAGES } from '../stack.js';
import { apiAndWorkers, onStack, rowOf, runCrawl, type Scenario } from '../run.js';

/** The POST burst of api-kill-posts: requests, and pages per crawl. */
const BURST = 90;
const BURST_PAGES = 5;

/** e. An API process killed with SIGKILL during a burst of POSTs; keyed requests retried on a second one. */
export const apiKillPosts: Scenario = {
  name: 'api-kill-posts',
  targetS: 10,
  // Before issue #12 a create cut half-way waited for the sweep's 60 s staleness (about 67 s measured).
  boundS: 30,
  run: (startRedis) =>
    onStack(
      startRedis,
      async (stack) => {
        const [a, b, ...workers] = await Promise.all([
          stack.procs.startApi({ redisUrl: stack.redis.url }),
          stack.procs.startApi({ redisUrl: stack.redis.url }),
          stack.procs.startWorker({ redisUrl: stack.redis.url }),
          stack.procs.startWorker({ redisUrl: stack.redis.url }),
        ]);
        void workers;
        const options: CrawlOptionsInput = { maxPages: BURST_PAGES, maxDepth: 3, concurrency: 4, useSitemap: false };
        const problems: string[] = [];
        /** A burst of POSTs; every other one has an Idempotency-Key; failures with a key are retried on `retryOn`. */
        const burst = async (on: ApiProc, first: number, retryOn: ApiProc, killAfter?: number) => {
          const acked: string[] = [];
          const retried: string[] = [];
          let lost = 0;
          let killedAt = 0;
          const requests: Promise<void>[] = [];
          for (let i = 0; i < BURST; i++) {
            const k = first + i;
            const key = i % 2 === 0 ? `burst-${k}` : undefined;
            requests.push(
              postCrawl(on.base, stack.site.start(k), options, key).then(async (answer) => {
                if (answer.body && (answer.status === 201 || answer.status === 200)) return void acked.push(answer.body.id);
                if (!key) return void lost++;
                for (let attempt = 0; attempt < 50; attempt++) {
                  const again = await postCrawl(retryOn.base, stack.site.start(k), options, key);
                  if (again.body && (again.status === 201 || again.status === 200)) return void retried.push(again.body.id);
                  await sleep(200);
                }
                problems.push(`the retry of ${key} never answered 200/201`);
              }),
            );
            if (killAfter !== undefined && i === killAfter) {
              on.kill('SIGKILL');
              killedAt = Date.now();
            }
            await sleep(2);
          }
          await Promise.all(requests);
          return { acked, retried, lost, killedAt };
        };
        const allCrawls = async (): Promise<Crawl[]> => {
          const items: Crawl[] = [];
          let cursor: string | undefined;
          do {
            const page = await call<{ items: Crawl[]; nextCursor: string | null }>(b.base, 'GET', `/api/crawl-v2?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
            if (page.status !== 200 || !page.body) throw new Error(`GET crawls answered ${page.status}`);
            items.push(...page.body.items);
            cursor = page.body.nextCursor ?? undefined;
          } while (cursor);
          return items;
        };
        /** Seconds from `since` until every crawl that exists is terminal (or the bound runs out). */
        const untilAllTerminal = async (since: number): Promise<{ seconds: number; crawls: Crawl[] }> => {
          // Long enough for today's sweep (every 15 s, for work older than 60 s) to show its figure.
          const deadline = Date.now() + 120_000;
          for (;;) {
            const crawls = await allCrawls();
            if (crawls.every(isTerminal) || Date.now() > deadline) return { seconds: (Date.now() - since) / 1000, crawls };
            await sleep(200);
          }
        };
        const check = async (crawls: Crawl[], ids: string[], label: string) => {
          const byId = new Map(crawls.map((c) => [c.id, c]));
          let lostPages = 0;
          for (const id of ids) {
            const crawl = byId.get(id);
            if (!crawl) {
              problems.push(`${label} ${id}: answered, but not in the crawl list`);
              continue;
            }
            const k = Number(/\/s(\d+)\//.exec(crawl.url)?.[1]);
            const verdict = await verifyCrawl(b.base, crawl, stack.site.pageUrls(k).slice(0, BURST_PAGES), `${label} ${id}`);
            lostPages += verdict.lost;
            problems.push(...verdict.problems);
          }
          return lostPages;
        };

        const t0 = Date.now();
        const calm = await burst(b, 0, b);
        const baselineDone = await untilAllTerminal(t0);
        await check(baselineDone.crawls, calm.acked, 'without the fault: crawl');
        const before = new Set(baselineDone.crawls.map((c) => c.id));

        const t1 = Date.now();
        const hit = await burst(a, BURST, b, Math.floor(BURST / 3));
        const done = await untilAllTerminal(t1);
        const created = done.crawls.filter((c) => !before.has(c.id));
        const stuck = created.filter((c) => !isTerminal(c));
        if (stuck.length) problems.push(`${stuck.length} crawls not terminal within 120 s: ${stuck.map((c) => c.status).join(', ')}`);
        let lost = await check(done.crawls, hit.acked, 'acknowledged crawl');
        lost += await check(done.crawls, hit.retried, 'retried crawl');
        const heal = Math.max(0, done.seconds - baselineDone.seconds);
        const row = rowOf({
          scenario: apiKillPosts,
          fault: `kill -9 of the API after ${Math.floor(BURST / 3) + 1} of ${BURST} POSTs (half with Idempotency-Key, retried on a second API)`,
          hit: { crawl: undefined, verdict: { lost, twice: 0, problems: [] }, readers: [], seconds: done.seconds, finishedAt: Date.now() },
          healS: heal,
          problems,
          notes: `${hit.acked.length} answered, ${hit.retried.length} retried on the second API, ${hit.lost} unkeyed lost answers; ${created.length} crawls exist, ${created.length - stuck.length} terminal`,
        });
        return { ...row, baselineS: Math.round(baselineDone.seconds * 10) / 10 };
      },
      { pages: BURST_PAGES, latencyMs: 20 },
    ),
};

/** g1. The API killed with SIGKILL at 30 % while readers follow the crawl; they fail over to a second API. */
export const apiKillReaders: Scenario = {
  name: 'api-kill-readers',
  targetS: 10,
  boundS: 20,
  run: (startRedis) =>
    onStack(startRedis, async (stack) => {
      const { api: a } = await apiAndWorkers(stack);
      const b = await stack.procs.startApi({ redisUrl: stack.redis.url });
      const bases = [a.base, b.base];
      const baseline = await runCrawl(stack, [b.base], 0, { readers: 10, readerBases: bases });
      let fault = '';
      let killedAt = 0;
      const hit = await runCrawl(stack, [b.base], 1, {
        readers: 10,
        readerBases: bases,
        fault: {
          at: 0.3,
          act: async (n) => {
            a.kill('SIGKILL');
            killedAt = Date.now();
            fault = `kill -9 of the API serving 10 readers at ${n}/${CRAWL_PAGES} pages; readers fail over to a second API`;
          },
        },
      });
      // Healing: from the kill until the last reader is streaming again from the second API.
      const resumed = hit.readers.map((r) => r.connectedAt.find((t) => t > killedAt));
      const problems = resumed.some((t) => t === undefined) ? ['a reader never reconnected after the kill'] : [];
      const healS = Math.max(0, ...resumed.map((t) => ((t ?? Date.now()) - killedAt) / 1000));
      return rowOf({ scenario: apiKillReaders, fault, baseline, hit, healS, problems });
    }),
};

/** g2. Slow readers (sockets not read for 1 s every 1.5 s) beside normal ones while a crawl runs. */
export const slowReaders: Scenario = {
  name: 'slow-readers',
  run: (startRedis) =>
    onStack(startRedis, async (stack) => {
      const { api } = await apiAndWorkers(stack);
      const baseline = await runCrawl(stack, [api.base], 0, { readers: 0 });
      const hit = await runCrawl(stack, [api.base], 1, { readers: 10, slowReaders: 10 });
      const lag = Math.max(...hit.readers.map((r) => ((r.endedAt ?? Date.now()) - hit.finishedAt) / 1000));
      return rowOf({
        scenario: slowReaders,
        fault: '10 readers pausing their sockets 1 s in every 1.5 s, beside 10 normal readers',
        baseline,
        hit,
        notes: `last reader done ${lag.toFixed(1)} s after the crawl; API RSS ${api.rssMb().toFixed(0)} MB`,
      });
    }),
};
