// bench/scale: how the cost grows with the number of concurrent crawls. For
// each level (BENCH_SCALE, default 1, 100 and 1,000 crawls) it starts a
// redis-server of its own and 2 crawlstream worker processes (the real
// worker, bench/crawl/worker.mjs; 32 pages in flight shared between them, as
// in bench/crawl), creates that many crawls at once through the CrawlStore as
// POST /api/crawl-v2 does, each of one 20-page section of a loopback site
// (site.mjs, its own process), and waits until every one has ended. Before
// each level the fresh workers crawl WARMUP crawls of other sections (not
// measured, so a level of 1 crawl is not mostly cold code). Per level:
// - pages/s over all crawls, from the first create to the last crawl's
//   `completed` (its finishedAt). Every level processes the same pages (the
//   largest level's, BENCH_SCALE_MIN_PAGES): a smaller one runs as batches,
//   one after another (1 crawl: 1,000 crawls, one at a time), and its rate is
//   pages over the batches' summed time;
// - CPU ms/page over the workers and redis-server (from /proc, over the same
//   window; this driver's CPU, creating the crawls and polling, apart);
//   redis-server CPU µs/page;
// - Redis used_memory before the first create, at its peak (sampled every
//   100 ms) and after the last crawl ended (finished crawls are kept until
//   CRAWL_TTL_SECONDS, so `after` grows with the crawls run);
// - workers' peak RSS: VmHWM of each worker process, summed (as bench/crawl);
// - whether every crawl completed with exactly 20 pages processed: asserted,
//   the bench exits non-zero if not.
// Issue #13's reference figure is printed beside the 1,000-crawl level.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPageQueue, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { startRedisServer } from '@crawlstream/redis-runner';
import { crawlOptionsSchema, globalKeys } from '@crawlstream/shared';
import { Redis } from 'ioredis';
import { cpuMs, peakRssMb } from '../crawl/proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const LEVELS = (process.env.BENCH_SCALE ?? '1,100,1000').split(',').map(Number);
for (const n of LEVELS) if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_SCALE: comma-separated crawl counts, not ${process.env.BENCH_SCALE}`);
/** Pages per crawl: the size of one section of the site. */
const PAGES = 20;
const WORKERS = 2;
/** Pages in flight over both workers, as bench/crawl. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** Crawls the fresh workers run before each level, unmeasured (their data stays in Redis: in `before`). */
const WARMUP = Number(process.env.BENCH_SCALE_WARMUP ?? 20);
const MAX_LEVEL = Math.max(...LEVELS);
/**
 * Levels smaller than this many pages run as batches, one after another (see level()): by default
 * every level processes the largest level's pages, so the levels differ in concurrency only.
 */
const MIN_PAGES = Number(process.env.BENCH_SCALE_MIN_PAGES ?? MAX_LEVEL * PAGES);
/** A level that has not ended by then fails the bench. */
const TIMEOUT_S = Number(process.env.BENCH_SCALE_TIMEOUT_S ?? 600);
/** Same V8 flags as bench/crawl's worker processes (production's). */
const NODE_FLAGS = ['--max-semi-space-size=64'];
/** Issue #13: "1,000 concurrent crawls of 20 pages ran at 765 pages/s with flat memory". */
const REFERENCE = { crawls: 1000, pagesPerSecond: 765 };
// maxPages above the section's size: a crawl ends when it has drained its section, so a
// page processed twice or lost shows as a count other than 20 (a cap would hide the first).
const OPTIONS = crawlOptionsSchema().parse({ maxPages: 100, maxDepth: 10, useSitemap: false });

function startSite(sections) {
  const child = spawn(process.execPath, [join(here, 'site.mjs'), String(sections), String(PAGES)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve({ origin: String(chunk).trim(), child }));
    child.once('exit', (code) => reject(new Error(`site exited ${code}`)));
  });
}

function startWorkers(redisUrl, prefix) {
  const env = {
    ...process.env,
    REDIS_URL: redisUrl,
    SSRF_ALLOW: '127.0.0.1/32',
    WORKER_CONCURRENCY: String(Math.ceil(CONCURRENCY / WORKERS)),
    LOG_LEVEL: 'error',
    CRAWLSTREAM_BENCH_PREFIX: prefix,
  };
  return Promise.all(
    Array.from(
      { length: WORKERS },
      () =>
        new Promise((resolve, reject) => {
          const child = spawn(process.execPath, [...NODE_FLAGS, join(here, '../crawl/worker.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
          child.stdout.once('data', () => resolve(child));
          child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
        }),
    ),
  );
}

const usedMemory = async (redis) => {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)[1]);
};

/** Creates crawls of sections `from`..`from + count - 1` at once; resolves when none is running (or throws). */
async function crawlSections(store, admin, prefix, site, from, count, isDead) {
  const started = Date.now();
  // Every crawl created at once, as that many POSTs arriving together would.
  const ids = (
    await Promise.all(Array.from({ length: count }, (_, k) => store.create({ url: `${site.origin}/s${from + k}/`, options: OPTIONS })))
  ).map(({ crawl }) => crawl.id);
  const createdMs = Date.now() - started;
  // Until no crawl is running (`active` is emptied as each crawl ends), polled every 20 ms.
  const deadline = started + TIMEOUT_S * 1000;
  while ((await admin.zcard(globalKeys(prefix).active)) > 0) {
    if (isDead()) throw new Error('a worker process exited during the run');
    if (Date.now() > deadline) throw new Error(`${count} crawls: not all ended within ${TIMEOUT_S} s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { started, ids, createdMs };
}

/** One level: `crawls` crawls at once on a fresh redis-server and fresh workers (warmed up first). */
async function level(site, crawls) {
  const redisServer = await startRedisServer();
  const admin = new Redis(redisServer.url);
  const prefix = `scale${crawls}`;
  const workers = await startWorkers(redisServer.url, prefix);
  let exited = false;
  for (const child of workers) child.once('exit', () => (exited = true));
  const queue = createPageQueue(admin, prefix);
  const store = new CrawlStore({ redis: admin, prefix, jobs: new QueuePageJobs(queue) });
  try {
    if (WARMUP > 0) await crawlSections(store, admin, prefix, site, MAX_LEVEL, WARMUP, () => exited);
    const memoryBefore = await usedMemory(admin);
    // used_memory sampled every 100 ms (used_memory_peak would include the warm-up's).
    let memoryPeak = memoryBefore;
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling) return;
      sampling = true;
      usedMemory(admin)
        .then((used) => (memoryPeak = Math.max(memoryPeak, used)))
        .catch(() => {})
        .finally(() => (sampling = false));
    }, 100);
    const workerCpu0 = workers.reduce((sum, child) => sum + cpuMs(child.pid), 0);
    const redisCpu0 = cpuMs(redisServer.pid);
    const client0 = process.cpuUsage();
    // Small levels run again, one batch after another, until MIN_PAGES pages: the same pages for
    // every level (a worker's RSS and CPU per page move with the pages it has processed, JIT and
    // heap growth), and /proc counts CPU in 10 ms ticks while one crawl of 20 pages takes ~50 ms.
    const batches = Math.max(1, Math.ceil(MIN_PAGES / (crawls * PAGES)));
    const ids = [];
    let seconds = 0;
    let createdMs = 0;
    for (let batch = 0; batch < batches; batch++) {
      const run = await crawlSections(store, admin, prefix, site, 0, crawls, () => exited);
      const finals = await Promise.all(run.ids.map((id) => store.get(id)));
      const lastFinished = Math.max(...finals.map((c) => Date.parse(c?.finishedAt ?? '') || 0));
      seconds += (lastFinished - run.started) / 1000;
      createdMs = Math.max(createdMs, run.createdMs);
      ids.push(...run.ids);
    }
    const workerCpuMs = workers.reduce((sum, child) => sum + cpuMs(child.pid), 0) - workerCpu0;
    const redisCpuMs = cpuMs(redisServer.pid) - redisCpu0;
    const client = process.cpuUsage(client0);
    clearInterval(sampler);
    const workerRssMb = workers.reduce((sum, child) => sum + peakRssMb(child.pid), 0);
    const memoryAfter = await usedMemory(admin);
    const finals = await Promise.all(ids.map((id) => store.get(id)));
    const wrong = finals.filter((c) => c?.status !== 'completed' || c.counters.processed !== PAGES);
    const pages = finals.reduce((sum, c) => sum + (c?.counters.processed ?? 0), 0);
    return {
      crawls,
      batches,
      pages,
      seconds,
      createdMs,
      workerCpuMs,
      redisCpuMs,
      clientCpuMs: (client.user + client.system) / 1000,
      memoryBefore,
      memoryPeak: Math.max(memoryPeak, memoryAfter),
      memoryAfter,
      workerRssMb,
      wrong: wrong.map((c) => (c ? `${c.id} ${c.status} ${JSON.stringify(c.counters)}` : 'missing')),
    };
  } finally {
    for (const child of workers) child.kill('SIGTERM');
    await Promise.all(workers.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null)));
    await store.close();
    await queue.close();
    admin.disconnect();
    await redisServer.stop();
  }
}

const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
// Sections 0..MAX_LEVEL - 1 for the levels, the next WARMUP for the warm-up crawls.
const site = await startSite(MAX_LEVEL + WARMUP);
const results = [];
try {
  console.log(
    `bench/scale: concurrent crawls of ${PAGES} pages (~1.9 KB each) on one loopback site, ${WORKERS} worker processes, ` +
      `${CONCURRENCY} pages in flight between them, a fresh redis-server and workers per level, warmed up by ${WARMUP} crawls, ` +
      `every level ${MIN_PAGES} pages (smaller ones in batches, one after another), ` +
      `${process.version} ${NODE_FLAGS.join(' ')}`,
  );
  for (const crawls of LEVELS) {
    const r = await level(site, crawls);
    results.push(r);
    console.log(
      `  ${crawls} concurrent: ${(r.pages / r.seconds).toFixed(0)} pages/s (${r.pages} pages in ${r.seconds.toFixed(2)} s` +
        `${r.batches > 1 ? `, ${r.batches} batches one after another` : ''}, creates took ${r.createdMs} ms${r.batches > 1 ? ' at most' : ''}); ` +
        `${r.crawls * r.batches - r.wrong.length}/${r.crawls * r.batches} completed with exactly ${PAGES} pages`,
    );
  }
} finally {
  site.child.kill();
}

const rows = [
  [
    'crawls',
    'pages/s',
    'CPU ms/page: workers + redis',
    'client ms/page',
    'redis-server µs/page',
    'Redis used_memory before / peak / after',
    'per crawl: peak - before, after - before',
    'worker peak RSS (2, summed)',
    `all completed, ${PAGES} pages each`,
  ],
  ...results.map((r) => {
    const per = (ms) => (ms / r.pages).toFixed(2);
    return [
      String(r.crawls),
      (r.pages / r.seconds).toFixed(0),
      `${per(r.workerCpuMs + r.redisCpuMs)} = ${per(r.workerCpuMs)} + ${per(r.redisCpuMs)}`,
      per(r.clientCpuMs),
      ((r.redisCpuMs * 1000) / r.pages).toFixed(0),
      `${mb(r.memoryBefore)} / ${mb(r.memoryPeak)} / ${mb(r.memoryAfter)}`,
      `${((r.memoryPeak - r.memoryBefore) / (r.crawls * r.batches) / 1024).toFixed(1)} KB, ${((r.memoryAfter - r.memoryBefore) / (r.crawls * r.batches) / 1024).toFixed(1)} KB`,
      `${r.workerRssMb.toFixed(0)} MB`,
      r.wrong.length === 0 ? 'yes' : `NO (${r.wrong.length} wrong)`,
    ];
  }),
];
const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
console.log('');
for (const row of rows) console.log(`  ${row.map((cell, c) => cell.padEnd(widths[c])).join('  ')}`.trimEnd());
const atReference = results.find((r) => r.crawls === REFERENCE.crawls);
console.log(
  `  issue #13 reference: ${REFERENCE.crawls} concurrent crawls of ${PAGES} pages at ${REFERENCE.pagesPerSecond} pages/s with flat memory; ` +
    (atReference
      ? `here: ${(atReference.pages / atReference.seconds).toFixed(0)} pages/s (${((atReference.pages / atReference.seconds) / REFERENCE.pagesPerSecond).toFixed(2)}x)`
      : `here: no ${REFERENCE.crawls}-crawl level run (BENCH_SCALE)`),
);
if (results.length > 1) {
  const [first, last] = [results[0], results.at(-1)];
  console.log(
    `  from ${first.crawls} to ${last.crawls} crawls: worker peak RSS ${first.workerRssMb.toFixed(0)} -> ${last.workerRssMb.toFixed(0)} MB, ` +
      `Redis used_memory peak ${mb(first.memoryPeak)} -> ${mb(last.memoryPeak)}, CPU ms/page ${((first.workerCpuMs + first.redisCpuMs) / first.pages).toFixed(2)} -> ` +
      `${((last.workerCpuMs + last.redisCpuMs) / last.pages).toFixed(2)}. pages/s run from the first create to the last crawl's finishedAt; ` +
      'CPU from /proc over create to the last crawl ended; client = this driver creating the crawls and polling; ' +
      'after = finished crawls kept (their pages and events, until CRAWL_TTL_SECONDS); per crawl = over every crawl the level ran',
  );
}
for (const r of results) for (const line of r.wrong.slice(0, 10)) console.error(`  ${r.crawls} crawls, wrong: ${line}`);
if (results.some((r) => r.wrong.length > 0)) process.exit(1);
