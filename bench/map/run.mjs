// bench/map: map mode (`discoverOnly`, #14) against a full crawl of the same
// generated 2,000-page docs site (bench/crawl's site, in its own process), in
// the same run: one crawlstream worker process, start to `completed`, rounds
// alternating full and map so both see the same machine load. Prints pages
// per second and CPU per page (the worker, redis-server and this driver, from
// /proc as bench/crawl measures them), best of BENCH_ROUNDS, and the map
// crawl's speedup. Both crawls must reach every page of the site.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPageQueue, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { startRedisServer } from '@crawlstream/redis-runner';
import { crawlOptionsSchema } from '@crawlstream/shared';
import { Redis } from 'ioredis';
import { cpuMs } from '../crawl/proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const crawlBench = join(here, '..', 'crawl');
const PAGES = Number(process.env.BENCH_PAGES ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const NODE_FLAGS = ['--max-semi-space-size=64'];

function startSite() {
  const child = spawn(process.execPath, [join(crawlBench, 'site.mjs'), String(PAGES), 'large'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout.once('data', (chunk) => resolve({ origin: String(chunk).trim(), child })));
}

async function crawlOnce(origin, discoverOnly) {
  const redisServer = await startRedisServer();
  const admin = new Redis(redisServer.url);
  const prefix = `benchmap${Date.now()}`;
  const env = {
    ...process.env,
    REDIS_URL: redisServer.url,
    SSRF_ALLOW: '127.0.0.1/32',
    WORKER_CONCURRENCY: String(CONCURRENCY),
    LOG_LEVEL: 'error',
    CRAWLSTREAM_BENCH_PREFIX: prefix,
  };
  const worker = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, join(crawlBench, 'worker.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
  });
  const queue = createPageQueue(admin, prefix);
  try {
    const store = new CrawlStore({ redis: admin, prefix, jobs: new QueuePageJobs(queue) });
    const options = crawlOptionsSchema().parse({ maxPages: PAGES, maxDepth: 10, concurrency: CONCURRENCY, useSitemap: false, discoverOnly });
    const started = performance.now();
    const cpuBefore = cpuMs(worker.pid) + cpuMs(redisServer.pid);
    const clientBefore = process.cpuUsage();
    const { crawl } = await store.create({ url: `${origin}/docs/`, options });
    while ((await store.status(crawl.id)) === 'running') await new Promise((resolve) => setTimeout(resolve, 20));
    const seconds = (performance.now() - started) / 1000;
    const client = process.cpuUsage(clientBefore);
    const cpu = cpuMs(worker.pid) + cpuMs(redisServer.pid) - cpuBefore + (client.user + client.system) / 1000;
    const final = await store.get(crawl.id);
    if (final.status !== 'completed' || final.counters.processed !== PAGES) throw new Error(`crawl ended wrongly: ${JSON.stringify(final)}`);
    const [first] = (await store.pages(crawl.id, 0, 1)).items;
    return { pages: final.counters.processed, seconds, cpuMsPerPage: cpu / PAGES, fields: Object.keys(first).sort().join(',') };
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    await queue.close();
    admin.disconnect();
    await redisServer.stop();
  }
}

const site = await startSite();
try {
  console.log(`bench/map: generated docs site (${PAGES} pages of ~3.2 KB), 1 worker, concurrency ${CONCURRENCY}, best of ${ROUNDS}, ${process.version}`);
  const best = { full: null, map: null };
  for (let round = 1; round <= ROUNDS; round++) {
    const line = [];
    for (const [name, discoverOnly] of [['full', false], ['map', true]]) {
      const r = await crawlOnce(site.origin, discoverOnly);
      const rate = r.pages / r.seconds;
      line.push(`${name} ${rate.toFixed(0)} pages/s, ${r.cpuMsPerPage.toFixed(2)} ms CPU/page`);
      if (!best[name] || rate > best[name].rate) best[name] = { ...r, rate };
    }
    console.log(`  round ${round}: ${line.join('; ')}`);
  }
  console.log('                      pages/s  CPU ms/page (worker + redis + driver)  stored page fields');
  for (const name of ['full', 'map']) {
    const r = best[name];
    console.log(`  ${(name === 'full' ? 'full crawl' : 'discoverOnly').padEnd(20)}${r.rate.toFixed(0).padStart(7)}  ${r.cpuMsPerPage.toFixed(2).padStart(11)}                          ${r.fields}`);
  }
  console.log(
    `  discoverOnly vs full: ${(best.map.rate / best.full.rate).toFixed(2)}x pages/s, ${(best.map.cpuMsPerPage / best.full.cpuMsPerPage).toFixed(2)}x CPU per page`,
  );
} finally {
  site.child.kill('SIGTERM');
}
