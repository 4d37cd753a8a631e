// bench/crawl: end-to-end pages per second on a generated 2,000-page docs
// site, crawlstream with 1 and 2 worker processes (start to `completed`),
// side by side in the same run with (a) a bare in-process undici + cheerio
// breadth-first crawl doing the same extraction (the limit) and (b) Crawlee's
// CheerioCrawler, all at the same concurrency. Also peak RSS and Redis
// commands per page (counted by a RESP-counting proxy in a separate run).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPageQueue, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { startRedisServer } from '@crawlstream/redis-runner';
import { crawlOptionsSchema } from '@crawlstream/shared';
import { Redis } from 'ioredis';

const here = dirname(fileURLToPath(import.meta.url));
const PAGES = Number(process.env.BENCH_PAGES ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** V8 flags for every crawler process alike: the worker runs with these in production (see README). */
const NODE_FLAGS = ['--max-semi-space-size=64'];
/** Extra flags for crawlstream's worker processes only (e.g. `--cpu-prof`), and which crawlers run. */
const WORKER_FLAGS = (process.env.BENCH_WORKER_FLAGS ?? '').split(' ').filter(Boolean);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'bare,crawlee,one,two').split(','));

function runNode(script, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, script, ...args], { env: { ...env, CRAWLEE_LOG_LEVEL: 'OFF' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    // The result is the last line that is JSON (Crawlee logs to stdout too).
    const result = () => out.trim().split('\n').filter((line) => line.startsWith('{')).pop();
    child.on('exit', (code) => (code === 0 ? resolve(result()) : reject(new Error(`${script} exited ${code}: ${out}`))));
  });
}

function startSite() {
  const child = spawn(process.execPath, [join(here, 'site.mjs'), String(PAGES)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    child.stdout.once('data', (chunk) => resolve({ origin: String(chunk).trim(), child }));
  });
}

/** CPU time a process has used so far (user + system), from /proc; clock ticks are 10 ms here. */
const cpuMs = (pid) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
};

const peakRssMb = (pid) => {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return 0;
  }
};

/** A TCP proxy in front of Redis that counts the RESP commands clients send, and their writes. */
async function countingProxy(upstreamPort) {
  const counts = { commands: 0, writes: 0 };
  const server = createServer((client) => {
    const upstream = createConnection(upstreamPort, '127.0.0.1');
    upstream.pipe(client);
    let buffer = Buffer.alloc(0);
    let pending = []; // parser state: remaining bulk strings of the current command
    client.on('data', (chunk) => {
      counts.writes++;
      upstream.write(chunk);
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      let at = 0;
      for (;;) {
        if (pending.length === 0) {
          const end = buffer.indexOf('\r\n', at);
          if (end < 0 || buffer[at] !== 0x2a) break;
          const n = Number(buffer.toString('latin1', at + 1, end));
          counts.commands++;
          pending = [n];
          at = end + 2;
        }
        if (pending[0] === 0) {
          pending = [];
          continue;
        }
        const end = buffer.indexOf('\r\n', at);
        if (end < 0) break;
        const len = Number(buffer.toString('latin1', at + 1, end));
        if (buffer.length < end + 2 + len + 2) break;
        at = end + 2 + len + 2;
        pending[0]--;
      }
      buffer = buffer.subarray(at);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `redis://127.0.0.1:${server.address().port}`, counts, close: () => server.close() };
}

async function runCrawlstream(origin, workers, redisServer, viaUrl = redisServer.url) {
  const admin = new Redis(redisServer.url);
  const prefix = `bench${Date.now()}`;
  const env = {
    ...process.env,
    REDIS_URL: viaUrl,
    SSRF_ALLOW: '127.0.0.1/32',
    // The same pages in flight as every other crawler: the slots are shared out among the workers.
    WORKER_CONCURRENCY: String(Math.ceil(CONCURRENCY / workers)),
    LOG_LEVEL: 'error',
    CRAWLSTREAM_BENCH_PREFIX: prefix,
  };
  const children = await Promise.all(
    Array.from({ length: workers }, () =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [...NODE_FLAGS, ...WORKER_FLAGS, join(here, 'worker.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout.once('data', () => resolve(child));
        child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
      }),
    ),
  );
  const queue = createPageQueue(admin, prefix);
  const store = new CrawlStore({ redis: admin, prefix, jobs: new QueuePageJobs(queue) });
  const options = crawlOptionsSchema().parse({
    maxPages: PAGES,
    maxDepth: 10,
    concurrency: CONCURRENCY,
    useSitemap: false,
  });
  const started = performance.now();
  const cpuBefore = children.reduce((sum, child) => sum + cpuMs(child.pid), 0);
  // What POST /api/crawl-v2 does: store the crawl (which enqueues its first page).
  const { crawl } = await store.create({ url: `${origin}/docs/`, options });
  let final;
  for (;;) {
    final = await store.get(crawl.id);
    if (final.status !== 'running') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const rssPeakMb = children.reduce((sum, child) => sum + peakRssMb(child.pid), 0);
  const crawlerCpuMs = children.reduce((sum, child) => sum + cpuMs(child.pid), 0) - cpuBefore;
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  await queue.close();
  admin.disconnect();
  if (final.status !== 'completed' || final.counters.processed !== PAGES) {
    throw new Error(`crawl ended wrongly: ${JSON.stringify(final)}`);
  }
  return { pages: final.counters.processed, seconds, rssPeakMb, crawlerCpuMs };
}

const cpuPerPage = (r) => {
  const per = (ms) => (ms / r.pages).toFixed(2);
  const total = r.crawlerCpuMs + r.siteCpuMs + r.redisCpuMs;
  return `${per(total)} = ${per(r.crawlerCpuMs)} + ${per(r.siteCpuMs)} + ${per(r.redisCpuMs)}`;
};

const site = await startSite();
const redisServer = await startRedisServer();
const best = {};
/** Runs one crawl and adds what the site and redis-server spent on it. */
const measured = async (run) => {
  const site0 = cpuMs(site.child.pid);
  const redis0 = cpuMs(redisServer.pid);
  const result = await run();
  result.siteCpuMs = cpuMs(site.child.pid) - site0;
  result.redisCpuMs = cpuMs(redisServer.pid) - redis0;
  return result;
};
const keep = (name, result) => {
  result.rate = result.pages / result.seconds;
  if (!best[name] || result.rate > best[name].rate) best[name] = result;
  return result;
};
try {
  console.log(
    `bench/crawl: ${PAGES}-page generated docs site (~12 KB pages), concurrency ${CONCURRENCY}, best of ${ROUNDS}, ${process.version} ${NODE_FLAGS.join(' ')}`,
  );
  const inProcess = async (script) => JSON.parse(await runNode(join(here, script), [`${site.origin}/docs/`, String(CONCURRENCY)]));
  const crawlers = [
    ['bare', 'bare undici + cheerio (limit)', () => inProcess('bare.mjs')],
    ['crawlee', 'Crawlee CheerioCrawler', () => inProcess('crawlee.mjs')],
    ['one', 'crawlstream, 1 worker', () => runCrawlstream(site.origin, 1, redisServer)],
    ['two', 'crawlstream, 2 workers', () => runCrawlstream(site.origin, 2, redisServer)],
  ].filter(([key]) => ONLY.has(key));
  for (let round = 1; round <= ROUNDS; round++) {
    const rates = [];
    for (const [key, name, run] of crawlers) {
      const result = keep(key, await measured(run));
      if (result.pages !== PAGES) throw new Error(`${name} stored ${result.pages} pages, not ${PAGES}`);
      rates.push(`${name} ${result.rate.toFixed(0)}/s`);
    }
    console.log(`  round ${round}: ${rates.join(', ')}`);
  }
  // What a second busy process adds on this machine: extraction alone, one process, then two at once.
  const extractOnly = () => runNode(join(here, 'extract-only.mjs'), ['3000']).then((out) => JSON.parse(out).msPerPage);
  const alone = await extractOnly();
  const together = await Promise.all([extractOnly(), extractOnly()]);
  const pairGain = (2 * alone) / Math.max(...together);
  // Commands per page, counted by a proxy (untimed: the proxy itself costs time).
  const proxy = await countingProxy(redisServer.port);
  const admin = new Redis(redisServer.url);
  await admin.config('RESETSTAT');
  await runCrawlstream(site.origin, 1, redisServer, proxy.url);
  proxy.close();
  // Where redis-server's time goes, per page: the costliest commands and scripts.
  const redisTime = (await admin.info('commandstats'))
    .split('\n')
    .map((line) => /^cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(line))
    .filter(Boolean)
    .map(([, name, calls, usec]) => ({ name, calls: Number(calls), usec: Number(usec) }))
    .sort((a, b) => b.usec - a.usec);
  admin.disconnect();
  const redisRss = peakRssMb(redisServer.pid);

  const ratio = (r, ref) => (ref ? `${(r.rate / ref.rate).toFixed(2)}x` : '-');
  const rows = [
    ['', 'pages/s', 'vs bare', 'vs Crawlee', 'peak RSS', 'CPU ms/page: crawler + site + redis'],
    ...crawlers.map(([key, name]) => [
      name,
      best[key].rate.toFixed(0),
      ratio(best[key], best.bare),
      ratio(best[key], best.crawlee),
      `${best[key].rssPeakMb.toFixed(0)} MB`,
      cpuPerPage(best[key]),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  for (const row of rows) console.log(`  ${row.map((cell, c) => String(cell).padEnd(widths[c])).join('  ')}`);
  console.log(`  crawlstream peak RSS and CPU are the sums over worker processes; redis-server peak RSS ${redisRss.toFixed(0)} MB`);
  console.log(
    `  Redis per page (1 worker, BullMQ included): ${(proxy.counts.commands / PAGES).toFixed(2)} commands, ` +
      `${(proxy.counts.writes / PAGES).toFixed(2)} client writes (round trips)`,
  );
  console.log(
    `  this machine: extraction alone takes ${alone.toFixed(2)} ms/page in one process, ` +
      `${together.map((ms) => ms.toFixed(2)).join(' and ')} ms/page in two at once: two busy processes do ${pairGain.toFixed(2)}x the work of one`,
  );
  const redisTotal = redisTime.reduce((sum, c) => sum + c.usec, 0);
  console.log(
    `  redis-server time per page (1 worker): ${(redisTotal / PAGES).toFixed(0)} µs in commands; ` +
      redisTime
        .slice(0, 5)
        .map((c) => `${c.name} ${(c.usec / PAGES).toFixed(0)} µs (${(c.calls / PAGES).toFixed(2)} calls)`)
        .join(', '),
  );
  if (best.two && best.bare && best.crawlee) {
    const vsBare = best.two.rate / best.bare.rate;
    const vsCrawlee = best.two.rate / best.crawlee.rate;
    console.log(`  2 workers vs bare: ${vsBare.toFixed(2)}x (target >= 1.0x) ${vsBare >= 1 ? 'OK' : 'MISSED'}`);
    console.log(`  2 workers vs Crawlee: ${vsCrawlee.toFixed(2)}x (target >= 2.5x) ${vsCrawlee >= 2.5 ? 'OK' : 'MISSED'}`);
  }
} finally {
  site.child.kill();
  await redisServer.stop();
}
