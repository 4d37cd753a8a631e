// bench/sse, three phases (BENCH_SSE_PHASES=storm,fanout,two), each running
// the bare reference server and ours BENCH_SSE_REPEAT times (2), alternating
// (bare, ours, bare, ours), and printing every run and each side's median:
// - storm: 10,000 stream opens at 8,000/s against the API as `npm run
//   start:api` runs it (dist/main.js, default settings) and against a bare
//   node:http SSE server: 200s, resets, time to response head, the kernel's
//   listen overflows and the Redis calls of the open path;
// - fanout: 10,000 concurrent stream connections to one server process while
//   a publisher appends events steadily; publish-to-receive latency (p50/p99)
//   and RSS per connection, ours beside the bare server fanning out the same
//   events (the limit); then two reconnect storms on each (every client
//   dropped and reopened, by Last-Event-ID, while events keep coming),
//   counting lost and duplicated events on ours;
// - two: 20,000 readers of one crawl on two API processes, beside two bare
//   servers with the same readers.
// Memory, both sides alike: every server runs with --expose-gc and
// gc-hook.mjs preloaded, which forces a full GC on an IPC request; the bench
// reads the peak (VmHWM, reset before each stage through
// /proc/<pid>/clear_refs, and VmRSS sampled every 50 ms) and VmRSS after a
// forced GC, before and after the connections, and around the reconnect
// storms (peak during them, resident after them, then after a GC).
// Load clients run in their own processes; everything talks over loopback to
// a private redis-server.
//   BENCH_SSE_CONNECTIONS (10000) BENCH_SSE_RATE (events/s, 10) BENCH_SSE_SECONDS (20)
//   BENCH_SSE_STORM (10000) BENCH_SSE_STORM_RATE (opens/s, 8000) BENCH_SSE_TWO_READERS (20000)
//   BENCH_SSE_REPEAT (runs of each side per phase, 2)
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
/** Runs of each side per phase, in alternating order (bare, ours, bare, ours …). */
const REPEAT = Math.max(1, Number(process.env.BENCH_SSE_REPEAT ?? 2));
const GC_HOOK = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'gc-hook.mjs')).href;
const START = 'http://127.0.0.1:9/docs/';
/** Each process may need a file descriptor per connection of the largest phase (hard limit here: 20,000). */
const FILES = Math.min(20_000, Math.max(CONNECTIONS, STORM, TWO_READERS / 2) + 2_000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A node process started through a shell that raises its open-files limit.
 * Servers (ours and the bare one alike) run with --expose-gc and gc-hook.mjs
 * preloaded, and an IPC channel for it: run.mjs can force a GC in them.
 */
function spawnNode(script, args, { client = false, server = false, env = {} } = {}) {
  const flags = server ? ['--expose-gc', '--import', GC_HOOK] : [];
  if (script === MAIN && process.env.BENCH_SSE_API_FLAGS) flags.push(...process.env.BENCH_SSE_API_FLAGS.split(' '));
  const path = script.startsWith('/') ? script : join(here, script);
  const quoted = [process.execPath, ...flags, path, ...args].map((a) => `'${a}'`).join(' ');
  return spawn('bash', ['-c', `ulimit -n ${FILES} 2>/dev/null || ulimit -n hard; exec ${quoted}`], {
    stdio: client ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit', ...(server ? ['ipc'] : [])],
    env: { ...process.env, ...env },
  });
}

async function startServer(script, args) {
  const child = spawnNode(script, args, { server: true });
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
  const child = spawnNode(MAIN, [], { server: true, env: { REDIS_URL: redisUrl, PORT: String(port), HOST: '127.0.0.1', ...env } });
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

/** The kernel's TCP counters that tell a dropped or refused handshake, from /proc/net/snmp and /proc/net/netstat, machine-wide. */
const TCP_TROUBLE = [
  'Tcp.AttemptFails', 'Tcp.EstabResets', 'Tcp.RetransSegs', 'Tcp.InErrs', 'Tcp.OutRsts',
  'TcpExt.ListenDrops', 'TcpExt.TCPReqQFullDrop', 'TcpExt.TCPReqQFullDoCookies', 'TcpExt.SyncookiesSent', 'TcpExt.SyncookiesRecv',
  'TcpExt.SyncookiesFailed', 'TcpExt.TCPBacklogDrop', 'TcpExt.PAWSActive', 'TcpExt.PAWSEstab', 'TcpExt.TCPTimeWaitOverflow',
  'TcpExt.TCPTimeouts', 'TcpExt.TCPAbortOnData', 'TcpExt.TCPAbortOnClose', 'TcpExt.TCPAbortOnMemory', 'TcpExt.TCPMemoryPressures',
  'TcpExt.TCPRcvQDrop', 'TcpExt.TCPZeroWindowDrop', 'TcpExt.TW', 'TcpExt.TWRecycled', 'TcpExt.TWKilled', 'TcpExt.EmbryonicRsts',
  'TcpExt.TCPChallengeACK', 'TcpExt.TCPSYNChallenge', 'TcpExt.TCPACKSkippedSynRecv', 'TcpExt.TCPACKSkippedChallenge', 'TcpExt.TCPAbortFailed',
];
function tcpCounters() {
  const out = {};
  for (const file of ['/proc/net/snmp', '/proc/net/netstat']) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const [prefix, ...names] = lines[i].split(/\s+/);
      const values = lines[i + 1].split(/\s+/).slice(1);
      const group = prefix.replace(':', '');
      if (group !== 'Tcp' && group !== 'TcpExt') continue;
      for (const [j, name] of names.entries()) out[`${group}.${name}`] = Number(values[j]);
    }
  }
  return out;
}
/** The counters of TCP_TROUBLE that moved since `before`, as "name +n" text. */
function tcpTrouble(before) {
  const now = tcpCounters();
  const moved = TCP_TROUBLE.filter((k) => k in now && now[k] !== before[k]).map((k) => `${k.split('.')[1]} +${now[k] - before[k]}`);
  return moved.join(', ') || 'none';
}

/** Packets the kernel dropped from its per-CPU input queues (net.core.netdev_max_backlog; loopback too), machine-wide. */
function softnetDrops() {
  return readFileSync('/proc/net/softnet_stat', 'utf8')
    .trim()
    .split('\n')
    .reduce((n, line) => n + Number.parseInt(line.split(/\s+/)[1], 16), 0);
}

/** A field of /proc/<pid>/status in kB (VmRSS: resident now; VmHWM: the peak since start or since resetPeak). */
function statusKb(pid, field) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]);
}
const rssKb = (pid) => statusKb(pid, 'VmRSS');

/**
 * Watches the peak RSS of `pids` from now: VmHWM reset to the current RSS
 * (writing 5 to /proc/<pid>/clear_refs) and read at stop(), and VmRSS
 * sampled every 50 ms in case the reset is refused. kB per pid.
 */
function watchPeak(pids) {
  const reset = pids.map((pid) => {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  });
  const sampled = pids.map((pid) => rssKb(pid));
  const timer = setInterval(() => {
    pids.forEach((pid, i) => {
      try {
        sampled[i] = Math.max(sampled[i], rssKb(pid));
      } catch {}
    });
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return pids.map((pid, i) => Math.max(sampled[i], rssKb(pid), reset[i] ? statusKb(pid, 'VmHWM') : 0));
    },
  };
}

let gcSeq = 0;
/** Forces a full GC in a server (gc-hook.mjs) and reads its VmRSS after it, in kB (null if it did not answer in 60 s). */
async function rssAfterGcKb(server) {
  const seq = ++gcSeq;
  const done = await new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), 60_000);
    const onMessage = (message) => {
      if (message?.benchGcDone === seq) finish(true);
    };
    const finish = (ok) => {
      clearTimeout(timer);
      server.child.off('message', onMessage);
      resolve(ok);
    };
    server.child.on('message', onMessage);
    server.child.send({ benchGc: seq });
  });
  return done ? rssKb(server.child.pid) : null;
}
const sumOrNull = (values) => (values.some((v) => v === null) ? null : values.reduce((a, b) => a + b, 0));

function startClient() {
  const child = spawnNode('clients.mjs', [], { client: true });
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
  // A connection of its own per store (a store listens on its connection's events; many stores on one would pile up listeners).
  const storeRedis = new Redis(redisUrl);
  const store = new CrawlStore({ redis: storeRedis, prefix, jobs: { add: async () => {}, alive: async () => true } });
  const options = crawlOptionsSchema(1_000_000).parse({ maxPages: 10, maxDepth: 1 });
  const { crawl } = await store.create({ url: START, options });
  const server = name === 'crawlstream API' ? await startMain(redisUrl) : await startServer('server-bare.mjs', [redisUrl, prefix, crawl.id]);
  await sleep(500);
  const idleGcKb = await rssAfterGcKb(server);
  const client = startClient();
  await client.ready;
  const peak = watchPeak([server.child.pid]);
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
  // Memory with the storm's streams open: the peak since just before it, then resident after a forced GC.
  storm.idleGcMb = idleGcKb === null ? null : idleGcKb / 1024;
  storm.peakMb = peak.stop()[0] / 1024;
  storm.rssMb = rssKb(server.child.pid) / 1024;
  const gcKb = await rssAfterGcKb(server);
  storm.rssGcMb = gcKb === null ? null : gcKb / 1024;
  await client.ask('exit');
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
  await store.cancel(crawl.id);
  storeRedis.disconnect();
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
 * latency over SECONDS and memory; then, with one process (either side), two
 * reconnect storms and their memory; then (API) a check for lost and
 * duplicated events.
 */
async function phase(name, redisUrl, admin, processes = 1, perServer = CONNECTIONS) {
  const prefix = `ssebench${Date.now()}`;
  // No workers here: the publisher settles URLs by hand, so what the store dispatches is dropped.
  // A connection of its own per store (a store listens on its connection's events; many stores on one would pile up listeners).
  const storeRedis = new Redis(redisUrl);
  const store = new CrawlStore({ redis: storeRedis, prefix, jobs: { add: async () => {}, alive: async () => true } });
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
  const idleGc = sumOrNull(await Promise.all(servers.map((s) => rssAfterGcKb(s))));
  const livePeak = watchPeak(servers.map((s) => s.child.pid));
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
  // Peak: the sum of each process's peak from before the opens to now; after GC: resident after a forced GC, beside the same before the opens.
  const peakKb = livePeak.stop().reduce((a, b) => a + b, 0);
  const liveGc = sumOrNull(await Promise.all(servers.map((s) => rssAfterGcKb(s))));
  const result = {
    name,
    opened,
    latency,
    rssPerConnectionKb: grown / (perServer * processes),
    rssAfterMb: rssAfter.reduce((a, b) => a + b, 0) / 1024,
    peakMb: peakKb / 1024,
    idleGcMb: idleGc === null ? null : idleGc / 1024,
    rssGcMb: liveGc === null ? null : liveGc / 1024,
    gcPerConnectionKb: idleGc === null || liveGc === null ? null : (liveGc - idleGc) / (perServer * processes),
  };

  // Reconnect storms on both sides (the bare server ignores Last-Event-ID: it is there for the memory and the reopen times).
  if (processes === 1) {
    const storms = [];
    const stormPeak = watchPeak([servers[0].child.pid]);
    for (let round = 0; round < 2; round++) {
      const before = tcpExt();
      const counters = tcpCounters();
      const dropsBefore = softnetDrops();
      const storm = await clients[0].ask('storm', { port: servers[0].port, path });
      storm.tcp = tcpTrouble(counters);
      storm.listenOverflows = tcpExt().ListenOverflows - before.ListenOverflows;
      storm.softnetDrops = softnetDrops() - dropsBefore;
      storms.push(storm);
      await sleep(3000);
    }
    result.storms = storms;
    // Memory of the storms: the peak from the first drop to 3 s after the second storm, resident then, and after a forced GC.
    result.stormMemory = { peakMb: stormPeak.stop()[0] / 1024, rssMb: rssKb(servers[0].child.pid) / 1024 };
    const stormGc = await rssAfterGcKb(servers[0]);
    result.stormMemory.rssGcMb = stormGc === null ? null : stormGc / 1024;
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
  storeRedis.disconnect();
  return result;
}

/** The median (null if any value is missing); an even count takes the mean of the middle two. */
function median(values) {
  if (values.some((v) => v === null || v === undefined || Number.isNaN(v))) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** REPEAT runs of each side, alternating: bare, ours, bare, ours … */
async function alternate(runBare, runOurs) {
  const bare = [];
  const ours = [];
  for (let i = 0; i < REPEAT; i++) {
    bare.push(await runBare());
    ours.push(await runOurs());
  }
  return { bare, ours };
}

/**
 * One row per run (`name #n`, in each side's run order), then each side's
 * median. columns: { head, value(run), digits }.
 */
function printTable(columns, sides) {
  const rows = [['', ...columns.map((c) => c.head)]];
  const cell = (v, digits) => (v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));
  for (const { name, runs } of sides) {
    for (const [i, r] of runs.entries()) rows.push([`${name} #${i + 1}`, ...columns.map((c) => cell(c.value(r), c.digits ?? 0))]);
    if (runs.length > 1) rows.push([`${name} median`, ...columns.map((c) => cell(median(runs.map(c.value)), c.digits ?? 0))]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const row of rows) console.log(`  ${row.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')}`);
}

const redis = await startRedisServer();
const admin = new Redis(redis.url);
const order = REPEAT > 1 ? `; ${REPEAT} runs of each side, alternating (bare #1, ours #1, bare #2 …), medians below them` : '';
const memoryNote =
  '  memory: peak = VmHWM (reset just before, and VmRSS sampled every 50 ms), summed over the processes; idle GC / after GC = VmRSS after a forced full GC (--expose-gc), before the opens and after; GC KB/conn = their difference per connection';
try {
  if (PHASES.includes('storm')) {
    console.log(`bench/sse connect storm: ${STORM} stream opens at ${STORM_RATE}/s, load client in its own process${order}`);
    const { bare, ours } = await alternate(
      () => stormPhase('bare node:http', redis.url, admin),
      () => stormPhase('crawlstream API', redis.url, admin),
    );
    const other = (r) =>
      Object.entries(r.statuses).filter(([s]) => s !== '200').reduce((n, [, v]) => n + v, 0) +
      r.unanswered +
      Object.entries(r.errors).filter(([e]) => e !== 'ECONNRESET').reduce((n, [, v]) => n + v, 0);
    printTable(
      [
        { head: '200s', value: (r) => r.statuses[200] ?? 0 },
        { head: 'resets', value: (r) => r.errors.ECONNRESET ?? 0 },
        { head: 'other', value: other },
        { head: 'head p50 ms', value: (r) => r.p50 },
        { head: 'p90 ms', value: (r) => r.p90 },
        { head: 'p99 ms', value: (r) => r.p99 },
        { head: 'max ms', value: (r) => r.max },
        { head: 'opened in ms', value: (r) => r.openedInMs },
        { head: 'listen overflows', value: (r) => r.listenOverflows },
        { head: 'SYN retransmits', value: (r) => r.synRetransmits },
        { head: 'queue drops', value: (r) => r.softnetDrops },
        { head: 'Redis calls', value: (r) => r.redisCalls },
        { head: 'idle GC MB', value: (r) => r.idleGcMb, digits: 1 },
        { head: 'peak MB', value: (r) => r.peakMb, digits: 1 },
        { head: 'RSS MB', value: (r) => r.rssMb, digits: 1 },
        { head: 'after GC MB', value: (r) => r.rssGcMb, digits: 1 },
      ],
      [
        { name: 'bare node:http', runs: bare },
        { name: 'crawlstream API', runs: ours },
      ],
    );
    console.log(
      `${memoryNote.replace('summed over the processes; ', '').replace(/; GC KB\/conn.*$/, '')} (one process; the storm's ${STORM} streams still open at the end)`,
    );
    const all200 = ours.every((r) => r.statuses[200] === STORM && !r.errors.ECONNRESET);
    const p99 = median(ours.map((r) => r.p99));
    const stormOk = all200 && p99 !== null && p99 <= 2000;
    console.log(
      `  API: ${ours.map((r) => r.statuses[200] ?? 0).join(', ')} of ${STORM} answered 200, p99 ${ours.map((r) => r.p99).join(', ')} ms, median ${p99} ms ` +
        `(target: all 200, no reset in every run, median p99 <= 2000 ms) ${stormOk ? 'OK' : 'MISSED'}`,
    );
    if (!stormOk) process.exitCode = 1;
    console.log(JSON.stringify({ storms: { bare, ours } }));
  }
  const liveColumns = [
    { head: 'open', value: (r) => r.opened.opened },
    { head: 'p50 ms', value: (r) => r.latency.p50 },
    { head: 'p99 ms', value: (r) => r.latency.p99 },
    { head: 'max ms', value: (r) => r.latency.max },
    { head: 'KB/conn', value: (r) => r.rssPerConnectionKb, digits: 1 },
    { head: 'samples', value: (r) => r.latency.samples },
    { head: 'peak MB', value: (r) => r.peakMb, digits: 1 },
    { head: 'idle GC MB', value: (r) => r.idleGcMb, digits: 1 },
    { head: 'after GC MB', value: (r) => r.rssGcMb, digits: 1 },
    { head: 'GC KB/conn', value: (r) => r.gcPerConnectionKb, digits: 1 },
  ];
  const checked = (r, expected) =>
    `lost ${r.verify.lost}, duplicated ${r.verify.duplicated}, resets ${r.verify.resets}, unverifiable ${r.verify.unverifiable}; ` +
    `${r.end.terminal}/${expected} saw the terminal event`;
  const ratio = (ours, bare, value, floor) => {
    const o = median(ours.map(value));
    const b = median(bare.map(value));
    return o === null || b === null ? null : o / Math.max(floor, b);
  };
  if (PHASES.includes('fanout')) {
    console.log(`\nbench/sse fan-out: ${CONNECTIONS} connections, ${RATE} events/s for ${SECONDS} s, load client in its own process${order}`);
    const { bare, ours } = await alternate(
      () => phase('bare node:http', redis.url, admin),
      () => phase('crawlstream API', redis.url, admin),
    );
    console.log('');
    printTable(liveColumns, [
      { name: 'bare node:http', runs: bare },
      { name: 'crawlstream API', runs: ours },
    ]);
    console.log(`${memoryNote}; KB/conn = VmRSS grown from before the opens to the end of the live phase, no GC`);
    const p99Ratio = ratio(ours, bare, (r) => r.latency.p99, 1);
    const rssRatio = ratio(ours, bare, (r) => r.rssPerConnectionKb, 0.1);
    const gcRatio = ratio(ours, bare, (r) => r.gcPerConnectionKb, 0.1);
    const x = (v) => (v === null ? '-' : `${v.toFixed(2)}x`);
    console.log(
      `  medians: p99 vs bare: ${x(p99Ratio)} (target <= 1.5) ${p99Ratio !== null && p99Ratio <= 1.5 ? 'OK' : 'MISSED'}   RSS/conn vs bare: ${x(rssRatio)} (target <= 1.5)   after GC: ${x(gcRatio)}`,
    );
    console.log('  reconnect storms (every client dropped and reopened, twice; the bare server ignores Last-Event-ID):');
    const stormText = (s) =>
      `${s.reopened} resumed in ${s.ms} ms (slowest batch of 500: ${Math.max(...s.batches)} ms; listen overflows ${s.listenOverflows}, input-queue drops ${s.softnetDrops}; TCP counters: ${s.tcp})`;
    for (let i = 0; i < REPEAT; i++) {
      console.log(`    bare #${i + 1}: ${bare[i].storms.map(stormText).join(', ')}; ${bare[i].end.terminal}/${CONNECTIONS} saw the terminal event`);
      console.log(`    API #${i + 1}: ${ours[i].storms.map(stormText).join(', ')}; ${checked(ours[i], CONNECTIONS)}`);
    }
    console.log('  reconnect storms, memory (peak from the first drop to 3 s after the second storm; RSS then; then after a forced GC):');
    printTable(
      [
        { head: 'storm 1 ms', value: (r) => r.storms[0].ms },
        { head: 'storm 2 ms', value: (r) => r.storms[1].ms },
        { head: 'peak MB', value: (r) => r.stormMemory.peakMb, digits: 1 },
        { head: 'RSS MB', value: (r) => r.stormMemory.rssMb, digits: 1 },
        { head: 'after GC MB', value: (r) => r.stormMemory.rssGcMb, digits: 1 },
        { head: 'peak over live peak', value: (r) => r.stormMemory.peakMb / r.peakMb, digits: 2 },
      ],
      [
        { name: 'bare node:http', runs: bare },
        { name: 'crawlstream API', runs: ours },
      ],
    );
    if (ours.some((r) => r.verify.lost !== 0 || r.verify.duplicated !== 0 || r.opened.opened !== CONNECTIONS) || !(p99Ratio <= 1.5)) process.exitCode = 1;
    console.log(JSON.stringify({ bare, ours }));
  }
  if (PHASES.includes('two')) {
    const each = TWO_READERS / 2;
    console.log(
      `\nbench/sse two processes: ${TWO_READERS} readers (${each} per process, one load client each), ${RATE} events/s for ${SECONDS} s; ` +
        `the reference is two bare servers with the same readers${order}`,
    );
    const { bare, ours } = await alternate(
      () => phase('bare node:http x2', redis.url, admin, 2, each),
      () => phase('crawlstream API x2', redis.url, admin, 2, each),
    );
    console.log('');
    printTable(liveColumns, [
      { name: 'bare node:http x2', runs: bare },
      { name: 'crawlstream API x2', runs: ours },
    ]);
    console.log(`${memoryNote}`);
    for (let i = 0; i < REPEAT; i++) console.log(`  API x2 #${i + 1}: ${checked(ours[i], TWO_READERS)}`);
    const p99Ratio = ratio(ours, bare, (r) => r.latency.p99, 1);
    console.log(`  medians: p99 vs two bare servers: ${p99Ratio === null ? '-' : p99Ratio.toFixed(2)}x`);
    if (ours.some((r) => r.verify.lost !== 0 || r.verify.duplicated !== 0 || r.opened.opened !== TWO_READERS)) process.exitCode = 1;
    console.log(JSON.stringify({ two: { bare, ours } }));
  }
} finally {
  admin.disconnect();
  await redis.stop();
}
