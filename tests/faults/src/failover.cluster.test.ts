// Failover on a Redis Cluster: during a crawl, the master that owns the
// crawl's slot is killed (SIGKILL) and its replica promoted. Replication is
// asynchronous, so the promoted replica may lack the newest writes of the
// crawl (and of the page queue, when it lived there too): the crawl must still
// complete with exact counts, every page once in /pages, and every stream
// reader whole (resuming, with reset + snapshot where the log lost its tail).
import { type RedisCluster, startRedisCluster } from '@crawlstream/redis-runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyCrawl, waitForSettled, waitForTerminal } from './crawl-api.js';
import { type ApiProc, Processes } from './processes.js';
import { startCrawl } from './run.js';
import { type Site, startSite } from './site.js';
import { CRAWL_OPTIONS, CRAWL_PAGES, SITE_LATENCY_MS } from './stack.js';
import { readersVerdict, StreamReader } from './stream-reader.js';

let cluster: RedisCluster;
let site: Site;
const procs = new Processes();

beforeAll(async () => {
  [cluster, site] = await Promise.all([startRedisCluster(), startSite({ pages: CRAWL_PAGES, latencyMs: SITE_LATENCY_MS })]);
});

afterAll(async () => {
  await procs.killAll();
  await site?.close();
  await cluster?.stop();
});

/** Each master's port and slot ranges, from CLUSTER NODES as `port` sees it. */
async function masters(port: number): Promise<{ port: number; ranges: [number, number][]; failed: boolean }[]> {
  const lines = (await cluster.cli(port, 'cluster', 'nodes')).trim().split('\n');
  return lines
    .map((line) => line.split(' '))
    .filter((fields) => fields[2]!.includes('master'))
    .map((fields) => ({
      port: Number(fields[1]!.split('@')[0]!.split(':')[1]),
      failed: fields[2]!.includes('fail'),
      ranges: fields.slice(8).filter((range) => /^\d/.test(range)).map((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return [from!, to!] as [number, number];
      }),
    }));
}

describe('failover on a Redis Cluster', () => {
  it('the master owning a running crawl is killed with SIGKILL: its replica takes over, the crawl completes exactly, readers resume whole', async () => {
    const env = { REDIS_CLUSTER: 'true' };
    const [api] = (await Promise.all([
      procs.startApi({ redisUrl: cluster.url, env }),
      procs.startWorker({ redisUrl: cluster.url, env }),
      procs.startWorker({ redisUrl: cluster.url, env }),
    ])) as [ApiProc, ...unknown[]];
    const crawl = await startCrawl([api.base], site.start(0), CRAWL_OPTIONS);
    const readers = [0, 1].map(() => new StreamReader({ bases: [api.base], crawlId: crawl.id }));

    const witness = cluster.nodes[0]!.port;
    const slot = Number((await cluster.cli(witness, 'cluster', 'keyslot', `cs:{${crawl.id}}:meta`)).trim());
    const owner = (await masters(witness)).find(({ ranges }) => ranges.some(([from, to]) => slot >= from && slot <= to))!;
    expect(owner).toBeDefined();
    const victim = cluster.nodes.find((node) => node.port === owner.port)!;

    expect(await waitForSettled([api.base], crawl.id, Math.ceil(CRAWL_PAGES * 0.3))).toBe(true);
    const killedAt = Date.now();
    await victim.kill();

    const finished = await waitForTerminal([api.base], crawl.id, 180_000);
    const verdict = await verifyCrawl(api.base, finished, site.pageUrls(0));
    expect(verdict.problems).toEqual([]);
    const readersSeen = readersVerdict(await Promise.all(readers.map((reader) => reader.done)));
    expect(readersSeen.problems).toEqual([]);
    expect(readersSeen.whole).toBe(readers.length);
    const afterKillS = (Date.parse(finished!.finishedAt!) - killedAt) / 1000;
    process.stderr.write(
      `[failover] master :${victim.port} killed at 30 %; crawl completed ${afterKillS.toFixed(1)} s later; readers: ${readersSeen.resets} resets, whole ${readersSeen.whole}/${readers.length}\n`,
    );

    // The slot moved to a new master (the victim's replica): another node serves it now.
    const survivor = cluster.nodes.find((node) => node.port !== victim.port)!.port;
    const now = (await masters(survivor)).find(({ ranges, failed }) => !failed && ranges.some(([from, to]) => slot >= from && slot <= to));
    expect(now?.port).toBeDefined();
    expect(now?.port).not.toBe(victim.port);
  });
});
