// bench/crawl: end-to-end pages per second on generated docs sites of two
// page sizes (BENCH_SITE=small|large|both; small ~2 KB pages, large ~3.2 KB),
// crawlstream with 1 and 2 worker processes (start to `completed`), side by
// side in the same run with (a) a bare in-process undici + cheerio
// breadth-first crawl doing the same extraction (the limit) and (b) Crawlee's
// CheerioCrawler, all at the same concurrency. For each it prints CPU per page
// over every process involved, the fixed cost per page (that CPU minus a
// one-process extraction-only pass over the same pages), redis-server time per
// page, peak RSS, and, from a separate untimed run (a RESP-counting proxy and
// redis-server's slowlog at threshold 0), Redis commands and time per page by
// command and script; then the issue's targets, OK or MISSED.
//
// Every side is measured alike, over every process it needs (proc.mjs):
// - CPU from /proc (user + system, waited-for children included) over the
//   crawl, start to end: the crawler process (bare, Crawlee), or the worker
//   processes, redis-server and this driver (creating the crawl and polling
//   its status) for crawlstream; the site's process is left out (the same for
//   all). Pages per CPU-second are pages / that sum.
// - peak RSS: VmHWM from /proc of each process of the side (read by bare.mjs
//   and crawlee.mjs of themselves as they finish, by this driver of each
//   worker and of redis-server before they stop), summed: an upper bound of
//   what the side holds at once, the same bound for every side. Each
//   crawlstream run has a redis-server of its own, started for it, so its
//   VmHWM is that crawl's (its data included), not earlier runs'. This driver
//   is not counted in RSS (in production the crawl is one POST to the API).
// - throughput at the same number of crawler processes: 1 worker against
//   Crawlee is one process against one (crawlstream's redis-server is in its
//   CPU and RSS), 2 workers against Crawlee is two against one.
import { spawn } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPageQueue, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { startRedisServer } from '@crawlstream/redis-runner';
import { crawlOptionsSchema } from '@crawlstream/shared';
import { Redis } from 'ioredis';
import { cpuMs, peakRssMb } from './proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
/** Pages per site: the large site is the one bench/crawl always had; the small one is like reference docs. */
const SITE_PAGES = { small: Number(process.env.BENCH_SMALL_PAGES ?? 1500), large: Number(process.env.BENCH_PAGES ?? 2000) };
const SITES = (process.env.BENCH_SITE ?? 'both') === 'both' ? ['small', 'large'] : [process.env.BENCH_SITE];
for (const size of SITES) if (!SITE_PAGES[size]) throw new Error(`BENCH_SITE: small, large or both, not ${size}`);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** Worker processes in the untimed run that counts Redis commands and times them by script. */
const COUNT_WORKERS = Number(process.env.BENCH_COUNT_WORKERS ?? 1);
/** V8 flags for every crawler process alike: the worker runs with these in production (see README). */
const NODE_FLAGS = ['--max-semi-space-size=64'];
/** Extra flags for crawlstream's worker processes only (e.g. `--cpu-prof`), and which crawlers run. */
const WORKER_FLAGS = (process.env.BENCH_WORKER_FLAGS ?? '').split(' ').filter(Boolean);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'bare,crawlee,one,two').split(','));
/** Issue #13's targets: fixed cost per page (all processes, redis-server included), redis-server time per page, 2 workers vs Crawlee. */
const TARGET = { fixedMs: 0.3, redisUs: 100, vsCrawlee: { small: 2.5, large: 3 } };

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

function startSite(size) {
  const child = spawn(process.execPath, [join(here, 'site.mjs'), String(SITE_PAGES[size]), size], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    child.stdout.once('data', (chunk) => resolve({ origin: String(chunk).trim(), child }));
  });
}

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

/**
 * One crawl on a redis-server of its own (so its peak RSS is this crawl's);
 * `instrument(redisServer)`, if given, returns the URL the workers use (a
 * proxy) and `collect()`, called once the crawl completed.
 */
async function runCrawlstream(origin, pages, workers, instrument) {
  const redisServer = await startRedisServer();
  let probe;
  try {
    probe = instrument ? await instrument(redisServer) : undefined;
    return await crawlOn(redisServer, origin, pages, workers, probe);
  } finally {
    probe?.close();
    await redisServer.stop();
  }
}

async function crawlOn(redisServer, origin, pages, workers, probe) {
  const viaUrl = probe?.url ?? redisServer.url;
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
  try {
    const store = new CrawlStore({ redis: admin, prefix, jobs: new QueuePageJobs(queue) });
    const options = crawlOptionsSchema().parse({
      maxPages: pages,
      maxDepth: 10,
      concurrency: CONCURRENCY,
      useSitemap: false,
    });
    const started = performance.now();
    const cpuBefore = children.reduce((sum, child) => sum + cpuMs(child.pid), 0);
    const redisBefore = cpuMs(redisServer.pid);
    const clientBefore = process.cpuUsage();
    // What POST /api/crawl-v2 does: store the crawl (which enqueues its first page); then poll
    // its status every 20 ms (one HGET: the driver's cost, not the crawl's), and read it whole at the end.
    const { crawl } = await store.create({ url: `${origin}/docs/`, options });
    while ((await store.status(crawl.id)) === 'running') await new Promise((resolve) => setTimeout(resolve, 20));
    const final = await store.get(crawl.id);
    const seconds = (performance.now() - started) / 1000;
    const client = process.cpuUsage(clientBefore);
    const redisCpuMs = cpuMs(redisServer.pid) - redisBefore;
    const crawlerCpuMs = children.reduce((sum, child) => sum + cpuMs(child.pid), 0) - cpuBefore;
    const workerRssMb = children.reduce((sum, child) => sum + peakRssMb(child.pid), 0);
    const redisRssMb = peakRssMb(redisServer.pid);
    // Script names by SHA (BullMQ's and crawlstream's, as ioredis defined them), for the slowlog breakdown.
    const scriptNames = new Map();
    for (const [name, script] of Object.entries(admin.scriptsSet ?? {})) scriptNames.set(script.sha, name.replace(/^cs_/, ''));
    if (final.status !== 'completed' || final.counters.processed !== pages) {
      throw new Error(`crawl ended wrongly: ${JSON.stringify(final)}`);
    }
    return {
      pages: final.counters.processed,
      seconds,
      workers,
      rssPeakMb: workerRssMb + redisRssMb,
      workerRssMb,
      redisRssMb,
      crawlerCpuMs,
      redisCpuMs,
      clientCpuMs: (client.user + client.system) / 1000,
      scriptNames,
      probe: probe ? await probe.collect() : undefined,
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
    await queue.close();
    admin.disconnect();
  }
}

/** Per page, ms: CPU over every process the crawl needs (the site excluded: it is the same for all). */
const oursMs = (r) => (r.crawlerCpuMs + (r.redisCpuMs ?? 0) + (r.clientCpuMs ?? 0)) / r.pages;
const split = (r) => {
  const per = (ms) => (ms / r.pages).toFixed(2);
  return r.clientCpuMs === undefined
    ? `${oursMs(r).toFixed(2)} = ${per(r.crawlerCpuMs)}`
    : `${oursMs(r).toFixed(2)} = ${per(r.crawlerCpuMs)} + ${per(r.redisCpuMs)} + ${per(r.clientCpuMs)}`;
};
/** Peak RSS of a side: its processes' VmHWM summed (workers + redis-server for crawlstream). */
const rss = (r) =>
  r.redisRssMb === undefined ? `${r.rssPeakMb.toFixed(0)} MB` : `${r.rssPeakMb.toFixed(0)} = ${r.workerRssMb.toFixed(0)} + ${r.redisRssMb.toFixed(0)} MB`;
const verdict = (ok) => (ok ? 'OK' : 'MISSED');

console.log(
  `bench/crawl: generated docs sites (${SITES.map((size) => `${size} ${SITE_PAGES[size]} pages`).join(', ')}), ` +
    `concurrency ${CONCURRENCY}, best of ${ROUNDS}, ${process.version} ${NODE_FLAGS.join(' ')}`,
);
for (const size of SITES) await benchSite(size);

async function benchSite(size) {
  const PAGES = SITE_PAGES[size];
  const site = await startSite(size);
  const best = {};
  /** Runs one crawl and adds what the site spent on it. */
  const measured = async (run) => {
    const site0 = cpuMs(site.child.pid);
    const result = await run();
    result.siteCpuMs = cpuMs(site.child.pid) - site0;
    return result;
  };
  const keep = (name, result) => {
    result.rate = result.pages / result.seconds;
    if (!best[name] || result.rate > best[name].rate) best[name] = result;
    return result;
  };
  try {
    const inProcess = async (script) => JSON.parse(await runNode(join(here, script), [`${site.origin}/docs/`, String(CONCURRENCY)]));
    const crawlers = [
      ['bare', 'bare undici + cheerio (limit)', '1', () => inProcess('bare.mjs')],
      ['crawlee', 'Crawlee CheerioCrawler', '1', () => inProcess('crawlee.mjs')],
      ['one', 'crawlstream, 1 worker', '1 + redis', () => runCrawlstream(site.origin, PAGES, 1)],
      ['two', 'crawlstream, 2 workers', '2 + redis', () => runCrawlstream(site.origin, PAGES, 2)],
    ].filter(([key]) => ONLY.has(key));
    const rounds = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const rates = [];
      for (const [key, name, , run] of crawlers) {
        const result = keep(key, await measured(run));
        if (result.pages !== PAGES) throw new Error(`${name} stored ${result.pages} pages, not ${PAGES}`);
        rates.push(`${name} ${result.rate.toFixed(0)}/s`);
      }
      rounds.push(`  round ${round}: ${rates.join(', ')}`);
    }
    // Extraction alone on the same pages, one process (what every crawler must spend), then two at once.
    const extractOnly = () => runNode(join(here, 'extract-only.mjs'), ['3000', size, String(PAGES)]).then((out) => JSON.parse(out));
    // Best of three: the least disturbed pass is the closest to what extraction itself costs.
    const passes = [await extractOnly(), await extractOnly(), await extractOnly()];
    const alone = Math.min(...passes.map((r) => r.msPerPage));
    const { bytesPerPage } = passes[0];
    const together = (await Promise.all([extractOnly(), extractOnly()])).map((r) => r.msPerPage);
    const pairGain = (2 * alone) / Math.max(...together);
    // Commands per page, counted by a proxy, and redis-server's time per command and script from its
    // slowlog at threshold 0 (untimed: the proxy and the slowlog cost time themselves).
    const instrument = async (redisServer) => {
      const proxy = await countingProxy(redisServer.port);
      const admin = new Redis(redisServer.url);
      await admin.config('SET', 'slowlog-max-len', '1000000');
      await admin.config('SET', 'slowlog-log-slower-than', '0');
      await admin.slowlog('RESET');
      return {
        url: proxy.url,
        collect: async () => ({ entries: await admin.slowlog('GET', '-1'), counts: { ...proxy.counts } }),
        close: () => {
          proxy.close();
          admin.disconnect();
        },
      };
    };
    const counted = await measured(() => runCrawlstream(site.origin, PAGES, COUNT_WORKERS, instrument));
    const { entries, counts } = counted.probe;
    // A command a script calls is logged too (client "?:0"), its time also inside the script's:
    // top-level commands (what redis-server spent per request) and calls from scripts are tallied apart.
    const tally = (rows) => {
      const byName = new Map();
      for (const [, , usec, args] of rows) {
        const command = String(args[0]).toLowerCase();
        if (command === 'slowlog' || command === 'config') continue;
        const name = command === 'evalsha' ? (counted.scriptNames.get(String(args[1])) ?? `evalsha ${String(args[1]).slice(0, 8)}`) : command;
        const row = byName.get(name) ?? { name, calls: 0, usec: 0 };
        row.calls++;
        row.usec += Number(usec);
        byName.set(name, row);
      }
      return [...byName.values()].sort((a, b) => b.usec - a.usec);
    };
    const fromScript = (entry) => entry[4] === '?:0';
    const redisTime = tally(entries.filter((entry) => !fromScript(entry)));
    const scriptCalls = tally(entries.filter(fromScript));
    const perPage = (rows, n) =>
      rows
        .slice(0, n)
        .map((c) => `${c.name} ${(c.usec / PAGES).toFixed(0)} µs (${(c.calls / PAGES).toFixed(2)} calls)`)
        .join(', ');

    console.log(`\n${size} site: ${PAGES} pages of ~${(bytesPerPage / 1024).toFixed(1)} KB (${site.origin})`);
    for (const line of rounds) console.log(line);
    const ratio = (r, ref) => (ref ? `${(r.rate / ref.rate).toFixed(2)}x` : '-');
    const perCpuRatio = (r, ref) => (ref ? `${(oursMs(ref) / oursMs(r)).toFixed(2)}x` : '-');
    const rows = [
      [
        '',
        'crawler processes',
        'pages/s',
        'vs bare',
        'vs Crawlee',
        'peak RSS: crawler (+ redis)',
        'CPU ms/page: crawler + redis + client',
        'fixed ms/page',
        'pages/CPU-s',
        'per CPU vs Crawlee',
        'redis-server µs/page',
      ],
      ...crawlers.map(([key, name, processes]) => {
        const r = best[key];
        const crawlstream = r.clientCpuMs !== undefined;
        return [
          name,
          processes,
          r.rate.toFixed(0),
          ratio(r, best.bare),
          ratio(r, best.crawlee),
          rss(r),
          split(r),
          (oursMs(r) - alone).toFixed(2),
          (1000 / oursMs(r)).toFixed(0),
          perCpuRatio(r, best.crawlee),
          crawlstream ? ((r.redisCpuMs * 1000) / r.pages).toFixed(0) : '-',
        ];
      }),
    ];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
    for (const row of rows) console.log(`  ${row.map((cell, c) => String(cell).padEnd(widths[c])).join('  ')}`.trimEnd());
    console.log(
      `  extraction alone (parse, extract, convert; one process, no network, best of 3): ${alone.toFixed(2)} ms/page; fixed = CPU - that. ` +
        'CPU over the crawl, from /proc, children included; site CPU excluded (the same server for all); crawlstream crawler CPU is the sum over worker processes, ' +
        'client = this driver creating the crawl and polling its status. Peak RSS = VmHWM of each process of the side, summed ' +
        '(crawlstream: workers + its own redis-server, started for that crawl; the driver not counted); pages/CPU-s and "per CPU" are over the same CPU sum',
    );
    console.log(
      `  this machine: extraction takes ${together.map((ms) => ms.toFixed(2)).join(' and ')} ms/page in two processes at once: ` +
        `two busy processes do ${pairGain.toFixed(2)}x the work of one`,
    );
    const redisTotal = redisTime.reduce((sum, c) => sum + c.usec, 0);
    console.log(
      `  Redis per page (${COUNT_WORKERS} worker${COUNT_WORKERS > 1 ? 's' : ''}, untimed run): ${(counts.commands / PAGES).toFixed(2)} commands, ` +
        `${(counts.writes / PAGES).toFixed(2)} client writes (round trips), ${(redisTotal / PAGES).toFixed(0)} µs executing them ` +
        `(slowlog; redis-server CPU ${((counted.redisCpuMs * 1000) / PAGES).toFixed(0)} µs): ${perPage(redisTime, 6)}`,
    );
    console.log(`  calls made inside those scripts, per page: ${perPage(scriptCalls, 10)}`);
    for (const key of ['one', 'two']) {
      const r = best[key];
      if (!r) continue;
      const fixed = oursMs(r) - alone;
      const redisUs = (r.redisCpuMs * 1000) / r.pages;
      const beyondBare = best.bare ? `, ${(fixed - (oursMs(best.bare) - alone)).toFixed(2)} more than the bare loop's` : '';
      console.log(
        `  ${key === 'one' ? '1 worker' : '2 workers'}: fixed cost ${fixed.toFixed(2)} ms/page${beyondBare} (target <= ${TARGET.fixedMs}) ${verdict(fixed <= TARGET.fixedMs)}; ` +
          `redis-server CPU ${redisUs.toFixed(0)} µs/page (target <= ${TARGET.redisUs}) ${verdict(redisUs <= TARGET.redisUs)}`,
      );
    }
    // Against Crawlee at the same number of crawler processes (one against one), then two workers against one.
    const perCpuAndRss = (r) =>
      `per CPU-second ${(oursMs(best.crawlee) / oursMs(r)).toFixed(2)}x, peak RSS ${(r.rssPeakMb / best.crawlee.rssPeakMb).toFixed(2)}x`;
    if (best.one && best.crawlee) {
      console.log(
        `  1 worker vs Crawlee, 1 crawler process each (ours + its redis-server, counted in CPU and RSS): ` +
          `${(best.one.rate / best.crawlee.rate).toFixed(2)}x pages/s (no target); ${perCpuAndRss(best.one)}`,
      );
    }
    if (best.two && best.crawlee) {
      const vsCrawlee = best.two.rate / best.crawlee.rate;
      console.log(
        `  2 workers vs Crawlee, 2 crawler processes vs 1: ${vsCrawlee.toFixed(2)}x pages/s (target >= ${TARGET.vsCrawlee[size]}x) ` +
          `${verdict(vsCrawlee >= TARGET.vsCrawlee[size])}; ${perCpuAndRss(best.two)}`,
      );
    }
    if (best.two && best.bare) {
      const vsBare = best.two.rate / best.bare.rate;
      console.log(`  2 workers vs bare: ${vsBare.toFixed(2)}x (stretch >= 0.9x) ${verdict(vsBare >= 0.9)}; per CPU-second ${(oursMs(best.bare) / oursMs(best.two)).toFixed(2)}x`);
    }
  } finally {
    site.child.kill();
  }
}
