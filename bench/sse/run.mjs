// bench/sse: 10,000 concurrent stream connections to one API process while a
// publisher appends events steadily; publish-to-receive latency (p50/p99) and
// RSS per connection, side by side in the same run with a bare node:http SSE
// server fanning out the same events (the limit); then a reconnect storm
// (every client dropped and resumed by Last-Event-ID, twice, while events keep
// coming) counting lost and duplicated events. The load client runs in its
// own process; everything talks over loopback to a private redis-server.
//   BENCH_SSE_CONNECTIONS (10000) BENCH_SSE_RATE (events/s, 10) BENCH_SSE_SECONDS (20)
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
  const storm = await client.ask('connectStorm', { port: server.port, path: streamPath(crawl.id), count: STORM, rate: STORM_RATE });
  const after = tcpExt();
  storm.listenOverflows = after.ListenOverflows - before.ListenOverflows;
  storm.synRetransmits = after.TCPSynRetrans - before.TCPSynRetrans;
  // Client calls only: commands run inside scripts are counted under their own names too.
  const stats = await admin.info('commandstats');
  storm.redisCalls = [...stats.matchAll(/^cmdstat_(evalsha|eval|hget|subscribe|unsubscribe|xrange|xread|ping):calls=(\d+)/gm)].reduce((n, m) => n + Number(m[2]), 0);
  await client.ask('exit');
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
  await store.cancel(crawl.id);
  return { name, ...storm };
}

async function phase(name, redisUrl, admin) {
  const prefix = `ssebench${Date.now()}`;
  // No workers here: the publisher settles URLs by hand, so what the store dispatches is dropped.
  const store = new CrawlStore({ redis: admin, prefix, jobs: { add: async () => {}, alive: async () => true } });
  const total = RATE * (SECONDS + 60) + 100;
  const options = crawlOptionsSchema(1_000_000).parse({ maxPages: total + 10, maxDepth: 5 });
  const { crawl } = await store.create({ url: START, options });
  const urls = Array.from({ length: total }, (_, i) => `${START}e${i}`);
  for (let i = 0; i < urls.length; i += 1000) await store.claim(crawl.id, 'sitemap', 1, urls.slice(i, i + 1000));

  const server =
    name === 'crawlstream API'
      ? await startServer('server-api.mjs', [redisUrl, prefix])
      : await startServer('server-bare.mjs', [redisUrl, prefix, crawl.id]);
  await sleep(1000);
  const rssBefore = rssKb(server.child.pid);
  const client = startClient();
  await client.ready;
  const path = streamPath(crawl.id);
  const opened = await client.ask('open', { port: server.port, path, count: CONNECTIONS, expectSnapshot: name !== 'bare node:http' });
  const pub = publisher(store, crawl.id, urls);
  await sleep(3000);
  await client.ask('measure', { on: true });
  await sleep(SECONDS * 1000);
  const latency = await client.ask('measure', { on: false });
  const rssAfter = rssKb(server.child.pid);
  const result = { name, opened, latency, rssPerConnectionKb: (rssAfter - rssBefore) / CONNECTIONS, rssAfterMb: rssAfter / 1024 };

  if (name === 'crawlstream API') {
    const storms = [];
    for (let round = 0; round < 2; round++) {
      storms.push(await client.ask('storm', { port: server.port, path }));
      await sleep(3000);
    }
    result.storms = storms;
  }
  pub.stop();
  await sleep(500);
  await store.cancel(crawl.id);
  result.end = await client.ask('awaitEnd', { timeoutMs: 60_000 });
  if (name === 'crawlstream API') {
    const ids = (await admin.xrange(crawlKeys(crawl.id, prefix).events, '-', '+')).map(([id]) => id);
    result.verify = await client.ask('verify', { ids });
  }
  result.published = pub.published;
  await client.ask('exit');
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
  return result;
}

const redis = await startRedisServer();
const admin = new Redis(redis.url);
try {
  if (PHASES.includes('storm')) {
    console.log(`bench/sse connect storm: ${STORM} stream opens at ${STORM_RATE}/s, load client in its own process`);
    const storms = [await stormPhase('bare node:http', redis.url, admin), await stormPhase('crawlstream API', redis.url, admin)];
    console.log('                     200s  resets  other  head p50 ms  p90 ms  p99 ms  max ms  opened in ms  listen overflows  SYN retransmits  Redis calls');
    for (const r of storms) {
      const other = Object.entries(r.statuses).filter(([s]) => s !== '200').reduce((n, [, v]) => n + v, 0) + r.unanswered +
        Object.entries(r.errors).filter(([e]) => e !== 'ECONNRESET').reduce((n, [, v]) => n + v, 0);
      console.log(
        `  ${r.name.padEnd(18)} ${String(r.statuses[200] ?? 0).padStart(5)}  ${String(r.errors.ECONNRESET ?? 0).padStart(6)}  ${String(other).padStart(5)}  ${String(r.p50).padStart(11)}  ${String(r.p90).padStart(6)}  ${String(r.p99).padStart(6)}  ${String(r.max).padStart(6)}  ${String(r.openedInMs).padStart(12)}  ${String(r.listenOverflows).padStart(16)}  ${String(r.synRetransmits).padStart(15)}  ${String(r.redisCalls).padStart(11)}`,
      );
    }
    const api = storms[1];
    const stormOk = api.statuses[200] === STORM && api.p99 !== null && api.p99 <= 2000;
    console.log(`  API: ${api.statuses[200] ?? 0}/${STORM} answered 200, p99 ${api.p99} ms (target: all 200, no reset, p99 <= 2000 ms) ${stormOk ? 'OK' : 'MISSED'}`);
    if (!stormOk) process.exitCode = 1;
    console.log(JSON.stringify({ storms }));
  }
  if (!PHASES.includes('fanout')) process.exit(process.exitCode ?? 0);
  console.log(`bench/sse: ${CONNECTIONS} connections, ${RATE} events/s for ${SECONDS} s, load client in its own process`);
  const bare = await phase('bare node:http', redis.url, admin);
  const ours = await phase('crawlstream API', redis.url, admin);
  const row = (r) =>
    `  ${r.name.padEnd(18)} ${String(r.opened.opened).padStart(6)}  ${String(r.latency.p50).padStart(7)}  ${String(r.latency.p99).padStart(7)}  ${String(r.latency.max).padStart(7)}  ${r.rssPerConnectionKb.toFixed(1).padStart(9)}  ${r.latency.samples}`;
  console.log('\n                     open   p50 ms   p99 ms   max ms   KB/conn  samples');
  console.log(row(bare));
  console.log(row(ours));
  const p99Ratio = ours.latency.p99 / Math.max(1, bare.latency.p99);
  const rssRatio = ours.rssPerConnectionKb / Math.max(0.1, bare.rssPerConnectionKb);
  console.log(`  p99 vs bare: ${p99Ratio.toFixed(2)}x (target <= 1.5)   RSS/conn vs bare: ${rssRatio.toFixed(2)}x (target <= 1.5)`);
  console.log(
    `  reconnect storms: ${ours.storms.map((s) => `${s.reopened} resumed in ${s.ms} ms`).join(', ')}; ` +
      `lost ${ours.verify.lost}, duplicated ${ours.verify.duplicated}, resets ${ours.verify.resets}, ` +
      `unverifiable ${ours.verify.unverifiable}; ${ours.end.terminal}/${CONNECTIONS} saw the terminal event`,
  );
  const ok = ours.verify.lost === 0 && ours.verify.duplicated === 0 && ours.opened.opened === CONNECTIONS;
  console.log(JSON.stringify({ bare, ours }));
  process.exitCode = ok ? 0 : 1;
} finally {
  admin.disconnect();
  await redis.stop();
}
