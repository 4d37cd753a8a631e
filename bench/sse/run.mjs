// bench/sse, three phases (BENCH_SSE_PHASES=storm,fanout,two):
// - storm: 10,000 stream opens at 8,000/s against the API as `npm run
//   start:api` runs it (dist/main.js, default settings) and against a bare
//   node:http SSE server: 200s, resets, time to response head, the kernel's
//   listen overflows and the Redis calls of the open path;
// - fanout: 10,000 concurrent stream connections to one API process while a
//   publisher appends events steadily; publish-to-receive latency (p50/p99)
//   and RSS per connection, side by side in the same run with the bare server
//   fanning out the same events (the limit); then a reconnect storm (every
//   client dropped and resumed by Last-Event-ID, twice, while events keep
//   coming) counting lost and duplicated events;
// - two: 20,000 readers of one crawl on two API processes.
// Load clients run in their own processes; everything talks over loopback to
// a private redis-server.
//   BENCH_SSE_CONNECTIONS (10000) BENCH_SSE_RATE (events/s, 10) BENCH_SSE_SECONDS (20)
//   BENCH_SSE_STORM (10000) BENCH_SSE_STORM_RATE (opens/s, 8000) BENCH_SSE_TWO_READERS (20000)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrawlStore } from '@crawlstream/progress';
import { startRedisServer } from '@crawlstream/redis-runner';
import { crawlKeys, crawlOptionsSchema, DEFAULT_KEY_PREFIX, streamPath } from '@crawlstream/shared';
import { Redis } from 'ioredis';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = fileURLToPath(new URL('../../apps/api/dist/main.js', import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_SSE_CONNECTIONS ?? 10_000);
const RATE = Number(process.env.BENCH_SSE_RATE ?? 10);
const SECONDS = Number(process.env.BENCH_SSE_SECONDS ?? 20);
const STORM = Number(process.env.BENCH_SSE_STORM ?? 10_000);
const STORM_RATE = Number(process.env.BENCH_SSE_STORM_RATE ?? 8_000);
const TWO_READERS = Number(process.env.BENCH_SSE_TWO_READERS ?? 20_000);
const PHASES = (process.env.BENCH_SSE_PHASES ?? 'storm,fanout,two').split(',');
const START = 'http://127.0.0.1:9/docs/';
/** Each process may need a file descriptor per connection (hard limit here: 20,000). */
const FILES = Math.min(20_000, CONNECTIONS + 2_000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A node process started through a shell that raises its open-files limit. */
function spawnNode(script, args, ipc = false, env = {}) {
  const flags = script === MAIN && process.env.BENCH_SSE_API_FLAGS ? process.env.BENCH_SSE_API_FLAGS.split(' ') : [];
  const path = script.startsWith('/') ? script : join(here, script);
  const quoted = [process.execPath, ...flags, path, ...args].map((a) => `'${a}'`).join(' ');
  return spawn('bash', ['-c', `ulimit -n ${FILES} 2>/dev/null || ulimit -n hard; exec ${quoted}`], {
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
}

async function startServer(script, args) {
  const child = spawnNode(script, args);
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, port };
}

async function freePort() {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** apps/api/dist/main.js with `env` on top of ours; resolves once /healthz answers. */
async function startMain(redisUrl, env = {}) {
  const port = await freePort();
  const child = spawnNode(MAIN, [], false, { REDIS_URL: redisUrl, PORT: String(port), HOST: '127.0.0.1', ...env });
  child.stdout.resume();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { child, port };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('main.js did not start');
    await sleep(100);
  }
}

/** The kernel's TcpExt counters (ListenOverflows, TCPSynRetrans …), machine-wide. */
function tcpExt() {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(names.map((name, i) => [name, values[i]]));
}

/** Packets the kernel dropped from its per-CPU input queues (net.core.netdev_max_backlog; loopback too), machine-wide. */
function softnetDrops() {
  return readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((n, line) => n + Number.parseInt(line.split(/\s+/)[1], 16), 0);
}

function rssKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

function startClient() {
  const child = spawnNode('clients.mjs', [], true);
  let seq = 0;
  const pending = new Map();
  const ready = new Promise((resolve) => {
    child.on('message', (message) => {
      if (message.ready) return resolve();
      pending.get(message.seq)?.(message);
      pending.delete(message.seq);
    });
  });
  const ask = (cmd, body = {}) =>
    new Promise((resolve) => {
      seq++;
      pending.set(seq, resolve);
      child.send({ seq, cmd, ...body });
    });
  return { child, ready, ask };
}

/** Settles one claimed URL per tick, so one `page_skipped` event is appended every 1000/RATE ms. */
function publisher(store, crawlId, urls) {
  let next = 0;
  const timer = setInterval(() => {
    const url = urls[next++];
    if (url) store.settle(crawlId, { kind: 'skipped', url, reason: 'not_html' }).catch(() => {});
  }, 1000 / RATE);
  return { stop: () => clearInterval(timer), get published() { return next; } };
}

/** Opens COUNT streams at STORM_RATE/s against a fresh server and reports time to response head. */
async function stormPhase(name, redisUrl, admin) {
  // The API as `npm run start:api` runs it (main.js, its default settings and log level), under the default key prefix.
  const prefix = name === 'crawlstream API' ? DEFAULT_KEY_PREFIX : `ssestorm${Date.now()}`;
  const store = new CrawlStore({ redis: admin, prefix, jobs: { add: async () => {}, alive: async () => true } });
  const options = crawlOptionsSchema(1_000_000).parse({ maxPages: 10, maxDepth: 1 });
  const { crawl } = await store.create({ url: START, options });
  const server = name === 'crawlstream API' ? await startMain(redisUrl) : await startServer('server-bare.mjs', [redisUrl, prefix, crawl.id]);
  await sleep(500);
  const client = startClient();
  await client.ready;
  await admin.config('RESETSTAT');
  const before = tcpExt();
  const dropsBefore = softnetDrops();
  const storm = await client.ask('connectStorm', { port: server.port, path: streamPath(crawl.id), count: STORM, rate: STORM_RATE });
  const after = tcpExt();
  storm.listenOverflows = after.ListenOverflows - before.ListenOverflows;
  storm.synRetransmits = after.TCPSynRetrans - before.TCPSynRetrans;
  storm.softnetDrops = softnetDrops() - dropsBefore;
  // Calls clients make on the open path (a script's own commands are counted under their names too: left out).
  const stats = await admin.info('commandstats');
  storm.redisCalls = [...stats.matchAll(/^cmdstat_(evalsha|evalsha_ro|eval|subscribe|unsubscribe|xread|hget|get|set):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
  await client.ask('exit');
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
  await store.cancel(crawl.id);
  return { name, ...storm };
}

/** Percentiles of merged millisecond histograms ([ms, count] pairs). */
function merged(histograms) {
  const counts = new Map();
  for (const h of histograms) for (const [ms, n] of h) counts.set(ms, (counts.get(ms) ?? 0) + n);
  const sorted = [...counts].sort((a, b) => a[0] - b[0]);
  const samples = sorted.reduce((n, [, c]) => n + c, 0);
  const at = (p) => {
    let seen = 0;
    for (const [ms, n] of sorted) {
      seen += n;
      if (seen >= Math.ceil(samples * p)) return ms;
    }
    return null;
  };
  return { samples, p50: at(0.5), p99: at(0.99), max: at(1) };
}

/**
 * `processes` servers of one kind, each with `perServer` readers from a load
 * client of its own, while the publisher appends RATE events/s; delivery
 * latency over SECONDS, then (API) two reconnect storms and a check for lost
 * and duplicated events.
 */
async function phase(name, redisUrl, admin, processes = 1, perServer = CONNECTIONS) {
  const prefix = `ssebench${Date.now()}`;
  // No workers here: the publisher settles URLs by hand, so what the store dispatches is dropped.
  const store = new CrawlStore({ redis: admin, prefix, jobs: { add: async () => {}, alive: async () => true } });
  const total = RATE * (SECONDS + 60) + 100;
  const options = crawlOptionsSchema(1_000_000).parse({ maxPages: total + 10, maxDepth: 5 });
  const { crawl } = await store.create({ url: START, options });
  const urls = Array.from({ length: total }, (_, i) => `${START}e${i}`);
  for (let i = 0; i < urls.length; i += 1000) await store.claim(crawl.id, 'sitemap', 1, urls.slice(i, i + 1000));

  const api = name.startsWith('crawlstream API');
  const servers = [];
  for (let i = 0; i < processes; i++) {
    servers.push(api ? await startServer('server-api.mjs', [redisUrl, prefix]) : await startServer('server-bare.mjs', [redisUrl, prefix, crawl.id]));
  }
  await sleep(1000);
  const rssBefore = servers.map((s) => rssKb(s.child.pid));
  const clients = servers.map(() => startClient());
  await Promise.all(clients.map((c) => c.ready));
  const path = streamPath(crawl.id);
  const openedAll = await Promise.all(clients.map((c, i) => c.ask('open', { port: servers[i].port, path, count: perServer, expectSnapshot: api })));
  const opened = { opened: openedAll.reduce((n, o) => n + o.opened, 0), ms: Math.max(...openedAll.map((o) => o.ms)) };
  const pub = publisher(store, crawl.id, urls);
  await sleep(3000);
  await Promise.all(clients.map((c) => c.ask('measure', { on: true })));
  await sleep(SECONDS * 1000);
  const latency = merged((await Promise.all(clients.map((c) => c.ask('measure', { on: false })))).map((m) => m.hist));
  const rssAfter = servers.map((s) => rssKb(s.child.pid));
  const grown = rssAfter.reduce((n, kb, i) => n + kb - rssBefore[i], 0);
  const result = { name, opened, latency, rssPerConnectionKb: grown / (perServer * processes), rssAfterMb: rssAfter.reduce((a, b) => a + b, 0) / 1024 };

  if (api && processes === 1) {
    const storms = [];
    for (let round = 0; round < 2; round++) {
      const before = tcpExt();
      const dropsBefore = softnetDrops();
      const storm = await clients[0].ask('storm', { port: servers[0].port, path });
      storm.listenOverflows = tcpExt().ListenOverflows - before.ListenOverflows;
      storm.softnetDrops = softnetDrops() - dropsBefore;
      storms.push(storm);
      await sleep(3000);
    }
    result.storms = storms;
  }
  pub.stop();
  await sleep(500);
  await store.cancel(crawl.id);
  const ends = await Promise.all(clients.map((c) => c.ask('awaitEnd', { timeoutMs: 60_000 })));
  result.end = { ended: ends.reduce((n, e) => n + e.ended, 0), terminal: ends.reduce((n, e) => n + e.terminal, 0) };
  if (api) {
    const ids = (await admin.xrange(crawlKeys(crawl.id, prefix).events, '-', '+')).map(([id]) => id);
    const checks = await Promise.all(clients.map((c) => c.ask('verify', { ids })));
    result.verify = Object.fromEntries(['lost', 'duplicated', 'resets', 'unverifiable'].map((k) => [k, checks.reduce((n, v) => n + v[k], 0)]));
  }
  result.published = pub.published;
  await Promise.all(clients.map((c) => c.ask('exit')));
  for (const server of servers) server.child.kill('SIGTERM');
  await Promise.all(servers.map((server) => new Promise((resolve) => server.child.once('exit', resolve))));
  return result;
}

const redis = await startRedisServer();
const admin = new Redis(redis.url);
try {
  if (PHASES.includes('storm')) {
    console.log(`bench/sse connect storm: ${STORM} stream opens at ${STORM_RATE}/s, load client in its own process`);
    const storms = [await stormPhase('bare node:http', redis.url, admin), await stormPhase('crawlstream API', redis.url, admin)];
    console.log('                     200s  resets  other  head p50 ms  p90 ms  p99 ms  max ms  opened in ms  listen overflows  SYN retransmits  queue drops  Redis calls');
    for (const r of storms) {
      const other = Object.entries(r.statuses).filter(([s]) => s !== '200').reduce((n, [, v]) => n + v, 0) + r.unanswered +
        Object.entries(r.errors).filter(([e]) => e !== 'ECONNRESET').reduce((n, [, v]) => n + v, 0);
      console.log(
        `  ${r.name.padEnd(18)} ${String(r.statuses[200] ?? 0).padStart(5)}  ${String(r.errors.ECONNRESET ?? 0).padStart(6)}  ${String(other).padStart(5)}  ${String(r.p50).padStart(11)}  ${String(r.p90).padStart(6)}  ${String(r.p99).padStart(6)}  ${String(r.max).padStart(6)}  ${String(r.openedInMs).padStart(12)}  ${String(r.listenOverflows).padStart(16)}  ${String(r.synRetransmits).padStart(15)}  ${String(r.softnetDrops).padStart(11)}  ${String(r.redisCalls).padStart(11)}`,
      );
    }
    const api = storms[1];
    const stormOk = api.statuses[200] === STORM && api.p99 !== null && api.p99 <= 2000;
    console.log(`  API: ${api.statuses[200] ?? 0}/${STORM} answered 200, p99 ${api.p99} ms (target: all 200, no reset, p99 <= 2000 ms) ${stormOk ? 'OK' : 'MISSED'}`);
    if (!stormOk) process.exitCode = 1;
    console.log(JSON.stringify({ storms }));
  }
  const row = (r) =>
    `  ${r.name.padEnd(26)} ${String(r.opened.opened).padStart(6)}  ${String(r.latency.p50).padStart(7)}  ${String(r.latency.p99).padStart(7)}  ${String(r.latency.max).padStart(7)}  ${r.rssPerConnectionKb.toFixed(1).padStart(9)}  ${r.latency.samples}`;
  const header = '\n                             open   p50 ms   p99 ms   max ms   KB/conn  samples';
  const checked = (r, expected) =>
    `lost ${r.verify.lost}, duplicated ${r.verify.duplicated}, resets ${r.verify.resets}, unverifiable ${r.verify.unverifiable}; ` +
    `${r.end.terminal}/${expected} saw the terminal event`;
  let bare = null;
  if (PHASES.includes('fanout')) {
    console.log(`\nbench/sse fan-out: ${CONNECTIONS} connections, ${RATE} events/s for ${SECONDS} s, load client in its own process`);
    bare = await phase('bare node:http', redis.url, admin);
    const ours = await phase('crawlstream API', redis.url, admin);
    console.log(header);
    console.log(row(bare));
    console.log(row(ours));
    const p99Ratio = ours.latency.p99 / Math.max(1, bare.latency.p99);
    const rssRatio = ours.rssPerConnectionKb / Math.max(0.1, bare.rssPerConnectionKb);
    console.log(`  p99 vs bare: ${p99Ratio.toFixed(2)}x (target <= 1.5) ${p99Ratio <= 1.5 ? 'OK' : 'MISSED'}   RSS/conn vs bare: ${rssRatio.toFixed(2)}x (target <= 1.5)`);
    console.log(
      `  reconnect storms: ${ours.storms.map((s) => `${s.reopened} resumed in ${s.ms} ms (slowest batch of 500: ${Math.max(...s.batches)} ms; listen overflows ${s.listenOverflows}, input-queue drops ${s.softnetDrops})`).join(', ')}; ${checked(ours, CONNECTIONS)}`,
    );
    if (ours.verify.lost !== 0 || ours.verify.duplicated !== 0 || ours.opened.opened !== CONNECTIONS || p99Ratio > 1.5) process.exitCode = 1;
    console.log(JSON.stringify({ bare, ours }));
  }
  if (PHASES.includes('two')) {
    const each = TWO_READERS / 2;
    console.log(`\nbench/sse two API processes: ${TWO_READERS} readers (${each} per process, one load client each), ${RATE} events/s for ${SECONDS} s`);
    const two = await phase('crawlstream API x2', redis.url, admin, 2, each);
    console.log(header);
    if (bare) console.log(row(bare));
    console.log(row(two));
    console.log(`  ${checked(two, TWO_READERS)}`);
    if (two.verify.lost !== 0 || two.verify.duplicated !== 0 || two.opened.opened !== TWO_READERS) process.exitCode = 1;
    console.log(JSON.stringify({ two }));
  }
} finally {
  admin.disconnect();
  await redis.stop();
}
