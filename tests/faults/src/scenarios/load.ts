// Load: 1,000 concurrent crawls, exact counts and flat memory.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Crawl, CrawlOptionsInput } from '@crawlstream/shared';
import { call, getCrawl, verifyCrawl } from '../crawl-api.js';
import type { Proc } from '../processes.js';
import { StreamReader } from '../stream-reader.js';
import { apiAndWorkers, onStack, rowOf, type Scenario, startCrawl } from '../run.js';

/** many-crawls: crawls, and pages per crawl. */
const MANY = 1000;
const MANY_PAGES = 20;

/** g3. 1,000 concurrent crawls of 20 pages on one API and two workers: exact counts, flat memory. */
export const manyCrawls: Scenario = {
  name: 'many-crawls',
  run: (startRedis) =>
    onStack(
      startRedis,
      async (stack) => {
        const { api, workers } = await apiAndWorkers(stack, 2);
        const procs: Proc[] = [api, ...workers];
        const options: CrawlOptionsInput = { maxPages: MANY_PAGES, maxDepth: 3, concurrency: 4, useSitemap: false };
        const samples: { at: number; rss: number[] }[] = [];
        const sampler = setInterval(() => samples.push({ at: Date.now(), rss: procs.map((p) => p.rssMb()) }), 500);
        const t0 = Date.now();
        const ids: string[] = [];
        try {
          for (let k = 0; k < MANY; k += 25) {
            const batch = await Promise.all(
              Array.from({ length: Math.min(25, MANY - k) }, (_, i) => startCrawl([api.base], stack.site.start(k + i), options)),
            );
            ids.push(...batch.map((c) => c.id));
          }
          const readers = ids.slice(0, 20).map((crawlId) => new StreamReader({ bases: [api.base], crawlId }));
          // One poll for all: the running list empties when the last crawl ends.
          const deadline = Date.now() + 240_000;
          while (Date.now() < deadline) {
            const running = await call<{ items: Crawl[] }>(api.base, 'GET', '/api/crawl-v2?status=running&limit=1');
            if (running.status === 200 && running.body?.items.length === 0) break;
            await sleep(250);
          }
          const seconds = (Date.now() - t0) / 1000;
          const crawls: (Crawl | undefined)[] = [];
          for (const id of ids) crawls.push(await getCrawl([api.base], id));
          const summaries = await Promise.all(readers.map((r) => r.done));
          const problems: string[] = [];
          let lost = 0;
          for (let i = 0; i < ids.length; i++) {
            const verdict = await verifyCrawl(api.base, crawls[i], stack.site.pageUrls(i).slice(0, MANY_PAGES), `crawl ${i}`);
            lost += verdict.lost;
            problems.push(...verdict.problems);
          }
          const peak = procs.map((_, j) => Math.max(0, ...samples.map((s) => s.rss[j] ?? 0)));
          const half = samples.find((s) => s.at - t0 >= (seconds * 1000) / 2)?.rss ?? [];
          const end = procs.map((p) => p.rssMb());
          const mb = (values: number[]) => values.map((v) => v.toFixed(0)).join('/');
          return rowOf({
            scenario: manyCrawls,
            fault: `${MANY} concurrent crawls of ${MANY_PAGES} pages (no fault), 20 readers`,
            hit: { crawl: undefined, verdict: { lost, twice: 0, problems: problems.slice(0, 20) }, readers: summaries, seconds, finishedAt: Date.now() },
            notes: `${Math.round((MANY * MANY_PAGES) / seconds)} pages/s; RSS MB api/worker/worker: halfway ${mb(half)}, peak ${mb(peak)}, end ${mb(end)}`,
          });
        } finally {
          clearInterval(sampler);
        }
      },
      { pages: MANY_PAGES, latencyMs: 0 },
    ),
};
