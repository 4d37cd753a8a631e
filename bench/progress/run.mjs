// bench/progress: settles per second and Redis round trips per page of the
// progress core (claim + dispatch + settle, which settle-13.lua does in one
// call; the store hands what it dispatches to an in-memory queue), side by side with a baseline of plain HINCRBY + XADD per page, in
// the same run, on a private redis-server.
import { CrawlStore, ProgressPublisher } from '@crawlstream/progress';
import { startRedisServer } from '@crawlstream/redis-runner';
import { crawlOptionsSchema } from '@crawlstream/shared';
import { Redis } from 'ioredis';

const PAGES = Number(process.env.BENCH_PAGES ?? 5000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BASE = 'http://127.0.0.1:9/docs/';
/** The same client settings for both sides. */
const CLIENT = { enableAutoPipelining: process.env.BENCH_AUTOPIPELINE === '1' };
const markdown = `# Page\n\n${'Some documentation text with `code` and [links](/x). '.repeat(90)}`;

/** A 10-ary site: page i links to its 10 children, its parent and the start page. */
function links(i) {
  const out = [];
  for (let k = 1; k <= 10; k++) if (i * 10 + k < PAGES) out.push(`${BASE}p${i * 10 + k}`);
  if (i > 0) out.push(`${BASE}p${Math.floor((i - 1) / 10)}`);
  out.push(`${BASE}p0`);
  return out;
}

async function redisCpu(redis) {
  const info = await redis.info('cpu');
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)[1]);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]);
  return user + sys;
}

/** CPU microseconds per page spent by this process and by redis-server during `fn`. */
async function cpuPerPage(admin, fn) {
  const redisBefore = await redisCpu(admin);
  const nodeBefore = process.cpuUsage();
  const result = await fn();
  const node = process.cpuUsage(nodeBefore);
  const redisAfter = await redisCpu(admin);
  result.nodeUsPerPage = (node.user + node.system) / PAGES;
  result.redisUsPerPage = ((redisAfter - redisBefore) * 1e6) / PAGES;
  return result;
}

async function commandStats(redis) {
  const info = await redis.info('commandstats');
  const calls = {};
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (m) {
      calls[m[1]] = Number(m[2]);
      calls[`${m[1]}_usec`] = Number(m[3]);
    }
  }
  return calls;
}

/** Top-level commands only: Lua's inner commands are counted by Redis too, so count what clients send. */
function clientCalls(calls, names) {
  return names.reduce((n, name) => n + (calls[name] ?? 0), 0);
}

async function runOurs(url, admin, markdown) {
  const redis = new Redis(url, CLIENT);
  const queue = [];
  let done = false;
  let waiting = [];
  const wakeAll = () => {
    for (const w of waiting) w();
    waiting = [];
  };
  // The page queue, in memory: what the store dispatches is handed to the simulated workers.
  const jobs = {
    add: async (_crawlId, added) => {
      queue.push(...added);
      wakeAll();
    },
    alive: async () => true,
  };
  const store = new CrawlStore({ redis, prefix: `bench${Date.now()}`, jobs });
  const publisher = new ProgressPublisher({ store });
  const options = crawlOptionsSchema(100_000).parse({ maxPages: PAGES, maxDepth: 10, concurrency: CONCURRENCY });
  let sent = 0;
  await admin.config('RESETSTAT');
  const started = performance.now();
  const { crawl } = await store.create({ url: `${BASE}p0`, options });
  sent += 2; // the index MULTI + create script
  sent += 1; // get() after create
  async function worker() {
    while (!done) {
      const job = queue.shift();
      if (!job) {
        await new Promise((r) => waiting.push(r));
        continue;
      }
      const i = Number(job.url.slice(job.url.lastIndexOf('p') + 1));
      const result = await store.settle(crawl.id, {
        kind: 'processed', url: job.url, title: `Page ${i}`, depth: job.depth, status: 200,
        bytes: markdown.length, durationMs: 1, markdown, links: links(i),
      });
      sent++;
      if (result.result !== 'settled') continue;
      publisher.notify(crawl.id);
      if (result.completed) {
        done = true;
        publisher.finish(crawl.id);
      }
      wakeAll();
    }
    wakeAll();
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const calls = await commandStats(admin);
  const final = await store.get(crawl.id);
  if (final.status !== 'completed' || final.counters.processed !== PAGES) {
    throw new Error(`crawl did not complete correctly: ${JSON.stringify(final)}`);
  }
  const topLevel = clientCalls(calls, ['evalsha', 'eval', 'multi', 'exec', 'zadd', 'zrem']);
  publisher.close();
  redis.disconnect();
  return { rate: PAGES / seconds, topLevelPerPage: topLevel / PAGES, clientPerPage: sent / PAGES, calls, usecEval: (calls.evalsha_usec / calls.evalsha).toFixed(1), seconds };
}

async function runBaseline(url, admin) {
  const redis = new Redis(url, CLIENT);
  const prefix = `base${Date.now()}`;
  await admin.config('RESETSTAT');
  const started = performance.now();
  let next = 0;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= PAGES) return;
      await redis.hincrby(`${prefix}:counters`, 'processed', 1);
      await redis.xadd(`${prefix}:events`, 'MAXLEN', '~', 100000, '*', 't', 'page',
        'd', JSON.stringify({ url: `${BASE}p${i}`, title: `Page ${i}`, depth: 0, status: 200, bytes: markdown.length, durationMs: 1 }));
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const calls = await commandStats(admin);
  redis.disconnect();
  return { rate: PAGES / seconds, topLevelPerPage: clientCalls(calls, ['hincrby', 'xadd']) / PAGES };
}

const server = await startRedisServer();
const admin = new Redis(server.url);
try {
  const version = (await admin.info('server')).match(/redis_version:(\S+)/)[1];
  const best = {};
  console.log(`bench/progress: ${PAGES} pages, ${CONCURRENCY} concurrent settles, private redis-server ${version}, best of ${ROUNDS}`);
  for (let round = 1; round <= ROUNDS; round++) {
    const results = {
      base: await cpuPerPage(admin, () => runBaseline(server.url, admin)),
      state: await cpuPerPage(admin, () => runOurs(server.url, admin, '')),
      ours: await cpuPerPage(admin, () => runOurs(server.url, admin, markdown)),
    };
    for (const [name, result] of Object.entries(results)) {
      if (!best[name] || result.rate > best[name].rate) best[name] = result;
    }
    console.log(
      `  round ${round}: ${Object.entries(results)
        .map(([name, r]) => `${name} ${r.rate.toFixed(0)}/s (cpu/page node ${r.nodeUsPerPage.toFixed(0)} us, redis ${r.redisUsPerPage.toFixed(0)} us)`)
        .join('; ')}`,
    );
  }
  const { ours, base, state } = best;
  const rows = [
    ['', 'pages/s', 'vs baseline', 'round trips/page', 'what one page costs'],
    ['baseline (HINCRBY + XADD)', base.rate.toFixed(0), '1.00x', base.topLevelPerPage.toFixed(2), 'counter + event, nothing else'],
    ['crawlstream settle', state.rate.toFixed(0), `${(state.rate / base.rate).toFixed(2)}x`, state.topLevelPerPage.toFixed(2), 'once-only guard, counter, event, claim 12 links, dispatch, progress, completion'],
    ['crawlstream settle + 5 KB page', ours.rate.toFixed(0), `${(ours.rate / base.rate).toFixed(2)}x`, ours.topLevelPerPage.toFixed(2), 'the same, plus the markdown stored gzipped (work the baseline does not do)'],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  for (const row of rows) console.log(`  ${row.map((cell, c) => String(cell).padEnd(widths[c])).join('  ')}`);
  const ratio = state.rate / base.rate;
  console.log(`  rate vs baseline, like for like (no page content): ${ratio.toFixed(2)}x (target >= 0.50x) ${ratio >= 0.5 ? 'OK' : 'MISSED'}`);
  console.log(`  rate vs baseline, storing 5 KB pages as well: ${(ours.rate / base.rate).toFixed(2)}x`);
  console.log(
    `  round trips per page (client commands in INFO commandstats / pages): ${ours.topLevelPerPage.toFixed(2)} ` +
      `(target <= 3) ${ours.topLevelPerPage <= 3 ? 'OK' : 'MISSED'}; settle calls carry ${(PAGES / (ours.calls.evalsha ?? 1)).toFixed(1)} pages each (group commit)`,
  );
  if (process.env.BENCH_VERBOSE) {
    console.log(`  store calls per page: ${ours.clientPerPage.toFixed(2)}`);
    const inner = Object.entries(ours.calls).filter(([k]) => !k.endsWith('_usec') && !['evalsha', 'eval', 'info', 'config|resetstat', 'multi', 'exec'].includes(k));
    console.log(`  inner commands per page: ${inner.map(([k, v]) => `${k} ${(v / PAGES).toFixed(2)}x ${(ours.calls[`${k}_usec`] / PAGES).toFixed(2)}us`).join(', ')}`);
    console.log(`  inner total us/page: ${(inner.reduce((n, [k]) => n + ours.calls[`${k}_usec`], 0) / PAGES).toFixed(1)}`);
  }
  console.log(`  redis time per settle call: ${ours.usecEval} us; inner XADD ${ours.calls.xadd ?? 0}, inner HINCRBY ${ours.calls.hincrby ?? 0} for ${PAGES} pages`);
} finally {
  admin.disconnect();
  await server.stop();
}
