// The whole system on a Redis Cluster: a private cluster of 3 masters and 3
// replicas, the API and 2 workers as real processes with REDIS_CLUSTER=true
// and the seed list as REDIS_URL, crawling the loopback docs site to the end.
// What holds on one Redis holds here: exact counts, every page once in /pages,
// and stream readers (over the API's SSE, woken by sharded pub/sub) that get
// every event once and one terminal event.
import { type RedisCluster, startRedisCluster } from '@crawlstream/redis-runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Crawl, crawlsPath, routePatterns } from '@crawlstream/shared';
import { call, verifyCrawl, waitForTerminal } from './crawl-api.js';
import { type ApiProc, Processes } from './processes.js';
import { startCrawl } from './run.js';
import { type Site, startSite } from './site.js';
import { readersVerdict, StreamReader } from './stream-reader.js';

const PAGES = 150;

let cluster: RedisCluster;
let site: Site;
const procs = new Processes();

beforeAll(async () => {
  [cluster, site] = await Promise.all([startRedisCluster(), startSite({ pages: PAGES, latencyMs: 10 })]);
});

afterAll(async () => {
  await procs.killAll();
  await site?.close();
  await cluster?.stop();
});

describe('a crawl on a Redis Cluster (3 masters, 3 replicas)', () => {
  it('API + 2 worker processes crawl the site to completion with exact counts; stream readers get every event once', async () => {
    const env = { REDIS_CLUSTER: 'true' };
    // The API is given one seed node, the workers all six: either is enough.
    const [api] = (await Promise.all([
      procs.startApi({ redisUrl: cluster.nodes[0]!.url, env }),
      procs.startWorker({ redisUrl: cluster.url, env }),
      procs.startWorker({ redisUrl: cluster.url, env }),
    ])) as [ApiProc, ...unknown[]];

    const crawls = await Promise.all(
      [0, 1, 2].map((k) => startCrawl([api.base], site.start(k), { maxPages: PAGES, maxDepth: 5, concurrency: 8, useSitemap: false })),
    );
    // Two readers per crawl, from the first event.
    const readers = crawls.flatMap((crawl) => [0, 1].map(() => new StreamReader({ bases: [api.base], crawlId: crawl.id })));
    const finished = await Promise.all(crawls.map((crawl) => waitForTerminal([api.base], crawl.id, 120_000)));
    for (const [k, crawl] of finished.entries()) {
      const verdict = await verifyCrawl(api.base, crawl, site.pageUrls(k), `crawl ${k}`);
      expect(verdict.problems).toEqual([]);
      expect(crawl?.counters).toEqual({ discovered: PAGES, processed: PAGES, failed: 0, skipped: 0 });
    }
    const verdict = readersVerdict(await Promise.all(readers.map((reader) => reader.done)));
    expect(verdict.problems).toEqual([]);
    expect(verdict.whole).toBe(readers.length);
    expect(verdict.duplicated).toBe(0);
    expect(verdict.terminals).toEqual(readers.map(() => 1));

    // Reads across crawls (their keys on different masters): the crawl list and the metrics.
    const list = await call<{ items: Crawl[] }>(api.base, 'GET', crawlsPath());
    expect(list.status).toBe(200);
    expect(list.body!.items.map((crawl) => crawl.id).sort()).toEqual(crawls.map((crawl) => crawl.id).sort());
    expect(list.body!.items.every((crawl) => crawl.status === 'completed' && crawl.counters.processed === PAGES)).toBe(true);
    const metrics = await fetch(`${api.base}${routePatterns.metrics}`).then((res) => res.text());
    expect(metrics).toMatch(/^crawlstream_crawls\{status="completed"\} 3$/m);
    expect(metrics).toMatch(/^crawlstream_crawls\{status="running"\} 0$/m);
    expect(Number(/^crawlstream_pages_per_second (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);

  });
});
