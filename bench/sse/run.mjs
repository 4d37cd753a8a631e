// bench/sse: 10,000 concurrent stream connections to one API process while a
// publisher appends events steadily; publish-to-receive latency (p50/p99) and
// RSS per connection, side by side in the same run with a bare node:http SSE
// server fanning out the same events (the limit); then a reconnect storm
// (every client dropped and resumed by Last-Event-ID, twice, while events keep
// coming) counting lost and duplicated events. The load client runs in its
// own process; everything talks over loopback to a private redis-server.
//   BENCH_SSE_CONNECTIONS (10000) BENCH_SSE_RATE (events/s, 10) BENCH_SSE_SECONDS (20)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CrawlStore } from '@crawlstream/progress';
import { startRedisServer } from '@crawlstream/redis-runner';
import { crawlKeys, crawlOptionsSchema, streamPath } from '@crawlstream/shared';
import { Redis } from 'ioredis';

const here = dirname(fileURLToPath(import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_SSE_CONNECTIONS ?? 10_000);
const RATE = Number(process.env.BENCH_SSE_RATE ?? 10);
const SECONDS = Number(process.env.BENCH_SSE_SECONDS ?? 20);
const START = 'http://127.0.0.1:9/docs/';
/** Each process may need a file descriptor per connection (hard limit here: 20,000). */
const FILES = Math.min(20_000, CONNECTIONS + 2_000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A node process started through a shell that raises its open-files limit. */
function spawnNode(script, args, ipc = false) {
  const quoted = [process.execPath, join(here, script), ...args].map((a) => `'${a}'`).join(' ');
  return spawn('bash', ['-c', `ulimit -n ${FILES} 2>/dev/null || ulimit -n hard; exec ${quoted}`], {
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'pipe', 'inherit'],
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
