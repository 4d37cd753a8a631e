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
import { createPageQueue, enqueuePages } from '@crawlstream/jobs';
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
    WORKER_CONCURRENCY: String(CONCURRENCY),
    LOG_LEVEL: 'error',
    CRAWLSTREAM_BENCH_PREFIX: prefix,
  };
  const children = await Promise.all(
    Array.from({ length: workers }, () =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [...NODE_FLAGS, join(here, 'worker.mjs')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
        child.stdout.once('data', () => resolve(child));
        child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
      }),
    ),
  );
  const store = new CrawlStore({ redis: admin, prefix });
  const queue = createPageQueue(admin, prefix);
  const options = crawlOptionsSchema().parse({
    maxPages: PAGES,
    maxDepth: 10,
    concurrency: CONCURRENCY,
    useSitemap: false,
  });
  const started = performance.now();
  // What POST /api/crawl-v2 does: store the crawl, enqueue its first page.
  const { crawl, dispatched } = await store.create({ url: `${origin}/docs/`, options });
  await enqueuePages(queue, crawl.id, dispatched);
  let final;
  for (;;) {
    final = await store.get(crawl.id);
    if (final.status !== 'running') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  const rssPeakMb = children.reduce((sum, child) => sum + peakRssMb(child.pid), 0);
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  await queue.close();
  admin.disconnect();
  if (final.status !== 'completed' || final.counters.processed !== PAGES) {
    throw new Error(`crawl ended wrongly: ${JSON.stringify(final)}`);
  }
  return { pages: final.counters.processed, seconds, rssPeakMb };
}

const site = await startSite();
const redisServer = await startRedisServer();
const best = {};
const keep = (name, result) => {
  result.rate = result.pages / result.seconds;
  if (!best[name] || result.rate > best[name].rate) best[name] = result;
  return result;
};
try {
  console.log(
    `bench/crawl: ${PAGES}-page generated docs site (~12 KB pages), concurrency ${CONCURRENCY}, best of ${ROUNDS}, ${process.version} ${NODE_FLAGS.join(' ')}`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    const bare = keep('bare', JSON.parse(await runNode(join(here, 'bare.mjs'), [`${site.origin}/docs/`, String(CONCURRENCY)])));
    const crawlee = keep('crawlee', JSON.parse(await runNode(join(here, 'crawlee.mjs'), [`${site.origin}/docs/`, String(CONCURRENCY)])));
    const one = keep('one', await runCrawlstream(site.origin, 1, redisServer));
    const two = keep('two', await runCrawlstream(site.origin, 2, redisServer));
    console.log(
      `  round ${round}: bare ${bare.rate.toFixed(0)}/s, crawlee ${crawlee.rate.toFixed(0)}/s, ` +
        `crawlstream 1 worker ${one.rate.toFixed(0)}/s, 2 workers ${two.rate.toFixed(0)}/s`,
    );
    for (const [name, r] of Object.entries({ bare, crawlee })) {
      if (r.pages !== PAGES) throw new Error(`${name} stored ${r.pages} pages, not ${PAGES}`);
    }
  }
  // Commands per page, counted by a proxy (untimed: the proxy itself costs time).
  const proxy = await countingProxy(redisServer.port);
  await runCrawlstream(site.origin, 1, redisServer, proxy.url);
  proxy.close();
  const redisRss = peakRssMb(redisServer.pid);

  const rows = [
    ['', 'pages/s', 'vs bare', 'vs Crawlee', 'peak RSS'],
    ['bare undici + cheerio (limit)', best.bare, 'bare'],
    ['Crawlee CheerioCrawler', best.crawlee, 'crawlee'],
    ['crawlstream, 1 worker', best.one],
    ['crawlstream, 2 workers', best.two],
  ].map((row, i) =>
    i === 0
      ? row
      : [
          row[0],
          row[1].rate.toFixed(0),
          `${(row[1].rate / best.bare.rate).toFixed(2)}x`,
          `${(row[1].rate / best.crawlee.rate).toFixed(2)}x`,
          `${row[1].rssPeakMb.toFixed(0)} MB`,
        ],
  );
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  for (const row of rows) console.log(`  ${row.map((cell, c) => String(cell).padEnd(widths[c])).join('  ')}`);
  console.log(`  crawlstream peak RSS is the sum over worker processes; redis-server peak RSS ${redisRss.toFixed(0)} MB`);
  console.log(
    `  Redis per page (1 worker, BullMQ included): ${(proxy.counts.commands / PAGES).toFixed(2)} commands, ` +
      `${(proxy.counts.writes / PAGES).toFixed(2)} client writes (round trips)`,
  );
  const vsBare = best.two.rate / best.bare.rate;
  const vsCrawlee = best.two.rate / best.crawlee.rate;
  console.log(`  2 workers vs bare: ${vsBare.toFixed(2)}x (target >= 1.0x) ${vsBare >= 1 ? 'OK' : 'MISSED'}`);
  console.log(`  2 workers vs Crawlee: ${vsCrawlee.toFixed(2)}x (target >= 2.5x) ${vsCrawlee >= 2.5 ? 'OK' : 'MISSED'}`);
} finally {
  site.child.kill();
  await redisServer.stop();
}
