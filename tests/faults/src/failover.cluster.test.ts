// Failover on a Redis Cluster: during a crawl, the master that owns the
// crawl's slot is killed (SIGKILL) and its replica promoted. Replication is
// asynchronous, so the promoted replica may lack the newest writes of the
// crawl (and of the page queue, when it lived there too): the crawl must still
// complete with exact counts, every page once in /pages, and every stream
// reader whole (resuming, with reset + snapshot where the log lost its tail).
import { setTimeout as sleep } from 'node:timers/promises';
import { type RedisCluster, startRedisCluster } from '@crawlstream/redis-runner';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyCrawl, waitForSettled, waitForTerminal } from './crawl-api.js';
import { type ApiProc, Processes } from './processes.js';
import { startCrawl } from './run.js';
import { type Site, startSite } from './site.js';
import { CRAWL_OPTIONS, CRAWL_PAGES, SITE_LATENCY_MS } from './stack.js';
import { readersVerdict, StreamReader } from './stream-reader.js';

let site: Site;
let cluster: RedisCluster | undefined;
let procs: Processes | undefined;

beforeAll(async () => {
  site = await startSite({ pages: CRAWL_PAGES, latencyMs: SITE_LATENCY_MS });
});

afterEach(async () => {
  await procs?.killAll();
  await cluster?.stop();
  procs = undefined;
  cluster = undefined;
});

afterAll(async () => {
  await site?.close();
});

interface ClusterNodeLine {
  id: string;
  port: number;
  master: boolean;
  /** The id of its master (replicas). */
  masterId: string;
  failed: boolean;
  ranges: [number, number][];
}

/** CLUSTER NODES as `port` sees it. */
async function clusterNodes(port: number): Promise<ClusterNodeLine[]> {
  const lines = (await cluster!.cli(port, 'cluster', 'nodes')).trim().split('\n');
  return lines
    .map((line) => line.split(' '))
    .map((fields) => ({
      id: fields[0]!,
      port: Number(fields[1]!.split('@')[0]!.split(':')[1]),
      master: fields[2]!.includes('master'),
      masterId: fields[3]!,
      failed: fields[2]!.includes('fail'),
      ranges: fields.slice(8).filter((range) => /^\d/.test(range)).map((range) => {
        const [from, to = from] = range.split('-').map(Number);
        return [from!, to!] as [number, number];
      }),
    }));
}

const masters = async (port: number) => (await clusterNodes(port)).filter((node) => node.master);
const owns = (node: ClusterNodeLine, slot: number) => node.ranges.some(([from, to]) => slot >= from && slot <= to);

/**
 * One crawl on a fresh cluster (API + 2 workers), the master owning its slot
 * killed with SIGKILL once 30 % of the pages settled. `lagging`: its replica's
 * replication link is cut first (a wrong masterauth, then CLIENT KILL TYPE
 * master: it cannot resync), and the master takes writes the replica never
 * gets until 50 % settled: the promoted replica has lost the crawl's newest
 * writes. Returns what readers and the crawl came to.
 */
async function failover(lagging: boolean) {
  cluster = await startRedisCluster();
  procs = new Processes();
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
  const owner = (await masters(witness)).find((node) => owns(node, slot))!;
  expect(owner).toBeDefined();
  const victim = cluster.nodes.find((node) => node.port === owner.port)!;
  const replica = (await clusterNodes(witness)).find((node) => !node.master && node.masterId === owner.id)!;
  expect(replica).toBeDefined();

  expect(await waitForSettled([api.base], crawl.id, Math.ceil(CRAWL_PAGES * 0.3))).toBe(true);
  if (lagging) {
    await cluster.cli(replica.port, 'config', 'set', 'masterauth', 'not-the-password');
    await cluster.cli(replica.port, 'client', 'kill', 'type', 'master');
    while (!(await cluster.cli(replica.port, 'info', 'replication')).includes('master_link_status:down')) await sleep(20);
    expect(await waitForSettled([api.base], crawl.id, Math.ceil(CRAWL_PAGES * 0.5))).toBe(true);
  }
  const killedAt = Date.now();
  await victim.kill();

  const finished = await waitForTerminal([api.base], crawl.id, 180_000);
  const verdict = await verifyCrawl(api.base, finished, site.pageUrls(0));
  const readersSeen = readersVerdict(await Promise.all(readers.map((reader) => reader.done)));
  // The slot moved to the victim's replica.
  const survivor = cluster.nodes.find((node) => node.port !== victim.port)!.port;
  const now = (await masters(survivor)).find((node) => !node.failed && owns(node, slot));
  const afterKillS = finished?.finishedAt ? (Date.parse(finished.finishedAt) - killedAt) / 1000 : Number.NaN;
  process.stderr.write(
    `[failover${lagging ? ', lagging replica' : ''}] master :${victim.port} killed; crawl ${finished?.status} ${afterKillS.toFixed(1)} s later; readers: ${readersSeen.resets} resets, whole ${readersSeen.whole}/${readers.length}\n`,
  );
  return { verdict, readersSeen, readers: readers.length, newOwner: now?.port, replica: replica.port };
}

describe('failover on a Redis Cluster', () => {
  it('the master owning a running crawl is killed with SIGKILL: its replica takes over, the crawl completes exactly, readers resume whole', async () => {
    const run = await failover(false);
    expect(run.verdict.problems).toEqual([]);
    expect(run.readersSeen.problems).toEqual([]);
    expect(run.readersSeen.whole).toBe(run.readers);
    expect(run.newOwner).toBe(run.replica);
  });

  it('its replica had lost the newest writes: the crawl still completes exactly, and readers that saw them get reset + snapshot and end whole', async () => {
    const run = await failover(true);
    expect(run.verdict.problems).toEqual([]);
    expect(run.readersSeen.problems).toEqual([]);
    expect(run.readersSeen.whole).toBe(run.readers);
    expect(run.readersSeen.resets).toBeGreaterThanOrEqual(1);
    expect(run.newOwner).toBe(run.replica);
  });
});
