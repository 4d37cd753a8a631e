// bench/progress: settles per second of the progress core (claim + dispatch +
// settle, which settle-13.lua does in one call; the store hands what it
// dispatches to an in-memory queue), side by side in the same run, on a
// private redis-server, with three baselines doing HINCRBY + XADD per page:
// awaited one by one, one pipeline per page, and one pipeline per batch
// (group commit, as the store's settles do). Per page it counts:
// - commands/page (INFO commandstats, scripts' inner calls included): every
//   command redis-server executed, the calls a script makes counted on their
//   own as well (Redis records them in commandstats too);
// - round trips/page: the client's socket writes (ioredis writes once per
//   command, once per pipeline or auto-pipeline flush), counted by wrapping
//   the write of every connection the side uses;
// - client commands/page: the commands clients sent (commandstats of the
//   names only clients send: no script calls these).
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
/** The store's cap on records per settle call (MAX_BATCH_RECORDS in packages/progress/src/settle-records.ts). */
const MAX_BATCH = 64;
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

/** Commands of the names given (no script calls them): what clients sent. */
function clientCalls(calls, names) {
  return names.reduce((n, name) => n + (calls[name] ?? 0), 0);
}

/** Every command redis-server executed, scripts' inner calls included, but the admin connection's INFO and CONFIG. */
function allCalls(calls) {
  return Object.entries(calls)
    .filter(([k]) => !k.endsWith('_usec') && k !== 'info' && !k.startsWith('config'))
    .reduce((n, [, v]) => n + v, 0);
}

/**
 * Counts the client's round trips: the writes ioredis makes to its socket
 * (one per command, one per pipeline or auto-pipeline flush), on this
 * connection and on every duplicate() of it (the store's AOF barrier).
 */
function countWrites(redis, counter) {
  const wrap = () => {
    const stream = redis.stream;
    if (!stream || stream.benchCounted) return;
    const write = stream.write;
    stream.write = function countedWrite(...args) {
      counter.writes++;
      return write.apply(this, args);
    };
    stream.benchCounted = true;
  };
  wrap();
  redis.on('connect', wrap);
  const duplicate = redis.duplicate.bind(redis);
  redis.duplicate = (...args) => countWrites(duplicate(...args), counter);
  return redis;
}

async function connected(url) {
  const counter = { writes: 0 };
  const redis = countWrites(new Redis(url, CLIENT), counter);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return { redis, counter };
}

async function runOurs(url, admin, markdown) {
  const { redis, counter } = await connected(url);
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
  counter.writes = 0;
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
  const writes = counter.writes;
  const calls = await commandStats(admin);
  const final = await store.get(crawl.id);
  if (final.status !== 'completed' || final.counters.processed !== PAGES) {
    throw new Error(`crawl did not complete correctly: ${JSON.stringify(final)}`);
  }
  const clientCommands = clientCalls(calls, ['evalsha', 'eval', 'multi', 'exec', 'zadd', 'zrem']);
  publisher.close();
  redis.disconnect();
  return {
    rate: PAGES / seconds,
    commandsPerPage: allCalls(calls) / PAGES,
    clientCommandsPerPage: clientCommands / PAGES,
    roundTripsPerPage: writes / PAGES,
    clientPerPage: sent / PAGES,
    calls,
    usecEval: (calls.evalsha_usec / calls.evalsha).toFixed(1),
    seconds,
  };
}

/** Checks a pipeline's replies ([error, result] pairs). */
function checked(replies) {
  for (const [error] of replies) if (error) throw error;
  return replies;
}

/**
 * The same work per page, counter + event (HINCRBY + XADD), sent three ways:
 * - plain: awaited one by one (2 round trips per page);
 * - page: one pipeline per page (1 round trip);
 * - batch: group commit, as the store's settles do: pages finished while a
 *   pipeline is in flight ride the next one (one in flight at a time, at most
 *   MAX_BATCH pages, the store's cap on records per settle call).
 */
async function runBaseline(url, admin, mode) {
  const { redis, counter } = await connected(url);
  const prefix = `base${mode}${Date.now()}`;
  const counters = `${prefix}:counters`;
  const events = `${prefix}:events`;
  const event = (i) => JSON.stringify({ url: `${BASE}p${i}`, title: `Page ${i}`, depth: 0, status: 200, bytes: markdown.length, durationMs: 1 });
  let pending = [];
  let flushing = false;
  let flushes = 0;
  async function flush() {
    flushing = true;
    while (pending.length > 0) {
      const items = pending.slice(0, MAX_BATCH);
      pending = pending.slice(items.length);
      const pipeline = redis.pipeline();
      for (const item of items) {
        pipeline.hincrby(counters, 'processed', 1);
        pipeline.xadd(events, 'MAXLEN', '~', 100000, '*', 't', 'page', 'd', event(item.i));
      }
      flushes++;
      try {
        checked(await pipeline.exec());
        for (const item of items) item.resolve();
      } catch (error) {
        for (const item of items) item.reject(error);
      }
    }
    flushing = false;
  }
  const settle = {
    plain: async (i) => {
      await redis.hincrby(counters, 'processed', 1);
      await redis.xadd(events, 'MAXLEN', '~', 100000, '*', 't', 'page', 'd', event(i));
    },
    page: async (i) => {
      checked(await redis.pipeline().hincrby(counters, 'processed', 1).xadd(events, 'MAXLEN', '~', 100000, '*', 't', 'page', 'd', event(i)).exec());
    },
    batch: (i) =>
      new Promise((resolve, reject) => {
        pending.push({ i, resolve, reject });
        if (!flushing) void flush();
      }),
  }[mode];
  await admin.config('RESETSTAT');
  counter.writes = 0;
  const started = performance.now();
  let next = 0;
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= PAGES) return;
      await settle(i);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const writes = counter.writes;
  const calls = await commandStats(admin);
  redis.disconnect();
  if (calls.hincrby !== PAGES || calls.xadd !== PAGES) throw new Error(`baseline ${mode}: ${calls.hincrby} HINCRBY, ${calls.xadd} XADD for ${PAGES} pages`);
  return {
    rate: PAGES / seconds,
    commandsPerPage: allCalls(calls) / PAGES,
    clientCommandsPerPage: clientCalls(calls, ['hincrby', 'xadd']) / PAGES,
    roundTripsPerPage: writes / PAGES,
    pagesPerFlush: mode === 'batch' ? PAGES / flushes : null,
  };
}

const server = await startRedisServer();
const admin = new Redis(server.url);
try {
  const version = (await admin.info('server')).match(/redis_version:(\S+)/)[1];
  const best = {};
  console.log(`bench/progress: ${PAGES} pages, ${CONCURRENCY} concurrent settles, private redis-server ${version}, best of ${ROUNDS}`);
  for (let round = 1; round <= ROUNDS; round++) {
    const results = {
      base: await cpuPerPage(admin, () => runBaseline(server.url, admin, 'plain')),
      pipePage: await cpuPerPage(admin, () => runBaseline(server.url, admin, 'page')),
      pipeBatch: await cpuPerPage(admin, () => runBaseline(server.url, admin, 'batch')),
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
  const { ours, base, state, pipePage, pipeBatch } = best;
  const pipelined = pipeBatch.rate >= pipePage.rate ? pipeBatch : pipePage;
  const vs = (r, ref) => `${(r.rate / ref.rate).toFixed(2)}x`;
  const rows = [
    ['', 'pages/s', 'vs baseline', 'vs best pipelined', "commands/page (INFO commandstats, scripts' inner calls included)", 'round trips/page', 'what one page costs'],
    ['baseline (HINCRBY + XADD)', base, 'counter + event, nothing else, each command awaited'],
    ['baseline, pipelined per page', pipePage, 'the same two commands, one pipeline per page'],
    ['baseline, pipelined per batch', pipeBatch, `the same two commands per page, one pipeline per batch (group commit, ${pipeBatch.pagesPerFlush.toFixed(1)} pages each)`],
    ['crawlstream settle', state, 'once-only guard, counter, event, claim 12 links, dispatch, progress, completion'],
    ['crawlstream settle + 5 KB page', ours, 'the same, plus the markdown stored gzipped (work the baselines do not do)'],
  ].map((row, i) => {
    if (i === 0) return row;
    const [name, r, what] = row;
    return [name, r.rate.toFixed(0), vs(r, base), vs(r, pipelined), r.commandsPerPage.toFixed(2), r.roundTripsPerPage.toFixed(2), what];
  });
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  for (const row of rows) console.log(`  ${row.map((cell, c) => String(cell).padEnd(widths[c])).join('  ')}`.trimEnd());
  const ratio = state.rate / base.rate;
  console.log(`  rate vs baseline, like for like (no page content): ${ratio.toFixed(2)}x (target >= 0.50x) ${ratio >= 0.5 ? 'OK' : 'MISSED'}`);
  const pipeName = pipelined === pipeBatch ? 'pipelined per batch' : 'pipelined per page';
  console.log(`  rate vs the best pipelined baseline (${pipeName}), like for like: ${(state.rate / pipelined.rate).toFixed(2)}x (no target)`);
  console.log(`  rate vs baseline, storing 5 KB pages as well: ${(ours.rate / base.rate).toFixed(2)}x; vs ${pipeName}: ${(ours.rate / pipelined.rate).toFixed(2)}x`);
  console.log(
    `  round trips per page (client socket writes / pages): ${ours.roundTripsPerPage.toFixed(2)} ` +
      `(target <= 3) ${ours.roundTripsPerPage <= 3 ? 'OK' : 'MISSED'}; settle calls carry ${(PAGES / (ours.calls.evalsha ?? 1)).toFixed(1)} pages each (group commit)`,
  );
  console.log(
    `  commands per page the clients sent (commandstats of evalsha, eval, multi, exec, zadd, zrem; hincrby, xadd for the baselines): ` +
      `crawlstream ${ours.clientCommandsPerPage.toFixed(2)}, baselines ${base.clientCommandsPerPage.toFixed(2)}, ${pipePage.clientCommandsPerPage.toFixed(2)}, ${pipeBatch.clientCommandsPerPage.toFixed(2)}`,
  );
  if (process.env.BENCH_VERBOSE) {
    console.log(`  store calls per page: ${ours.clientPerPage.toFixed(2)}`);
    const inner = Object.entries(ours.calls).filter(([k]) => !k.endsWith('_usec') && !['evalsha', 'eval', 'info', 'config|resetstat', 'multi', 'exec', 'zadd', 'zrem'].includes(k));
    console.log(`  inner commands per page: ${inner.map(([k, v]) => `${k} ${(v / PAGES).toFixed(2)}x ${(ours.calls[`${k}_usec`] / PAGES).toFixed(2)}us`).join(', ')}`);
    console.log(`  inner total us/page: ${(inner.reduce((n, [k]) => n + ours.calls[`${k}_usec`], 0) / PAGES).toFixed(1)}`);
  }
  console.log(`  redis time per settle call: ${ours.usecEval} us; inner XADD ${ours.calls.xadd ?? 0}, inner HINCRBY ${ours.calls.hincrby ?? 0} for ${PAGES} pages`);
} finally {
  admin.disconnect();
  await server.stop();
}
