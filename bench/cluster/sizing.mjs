// bench/cluster/sizing.mjs: Redis memory per page, per crawl and per event,
// and commands per page, for docs/operations.md. On a private redis-server,
// the real API and one real worker crawl one section of bench/scale's site
// (pages of ~1.9 KB of HTML) at each size of SIZES, one crawl at a time. After
// an unmeasured warm-up crawl, and after each crawl has completed it reads MEMORY USAGE (SAMPLES 0: every element) of
// every key of the crawl (`cs:{<id>}:*`), by key, the events stream's length,
// used_memory before, at its peak during the crawl (sampled every 50 ms) and
// after, and the commands redis-server executed (INFO commandstats, scripts'
// inner calls included). Per page and per crawl come from the two sizes: per
// page = the difference of the crawls' bytes over the difference of their pages,
// per crawl = the small crawl's bytes minus its pages times that.
//   node bench/cluster/sizing.mjs            (SIZES=20,400 by default)
import { startRedisServer } from '@crawlstream/redis-runner';
import { Redis } from 'ioredis';
import { commandsOf, getCrawl, postCrawl, redisVersion, sleep, startApi, startSite, startWorker, stopAll } from './procs.mjs';

const SIZES = (process.env.SIZES ?? '20,400').split(',').map(Number);
if (SIZES.length !== 2 || !SIZES.every((n) => Number.isInteger(n) && n > 0) || SIZES[0] >= SIZES[1]) throw new Error('SIZES: two page counts, small,large');

const usedMemory = async (redis) => Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))[1]);

async function keysOf(redis, id) {
  const keys = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `cs:{${id}}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const sizes = {};
  for (const key of keys) sizes[key.slice(key.lastIndexOf(':') + 1)] = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  return sizes;
}

const redisServer = await startRedisServer();
const redis = new Redis(redisServer.url);
// Two sections each: section 1 of the small site is crawled first, unmeasured (the first crawl also
// loads the scripts and creates the queue's keys).
const sites = await Promise.all(SIZES.map((pages) => startSite(2, pages)));
const children = [];
const measured = [];
try {
  const env = { REDIS_URL: redisServer.url, WORKER_CONCURRENCY: '16' };
  const { child, base: api } = await startApi(env);
  children.push(child, await startWorker(env));
  const warmup = await postCrawl(api, { url: `${sites[0].origin}/s1/`, options: { maxPages: SIZES[0] * 2, maxDepth: 20, useSitemap: false } });
  while ((await getCrawl(api, warmup)).status === 'running') await sleep(50);
  for (const [i, size] of SIZES.entries()) {
    const before = await usedMemory(redis);
    const commands0 = await commandsOf(redis);
    let peak = before;
    const id = await postCrawl(api, { url: `${sites[i].origin}/s0/`, options: { maxPages: size * 2, maxDepth: 20, useSitemap: false } });
    let crawl;
    for (;;) {
      peak = Math.max(peak, await usedMemory(redis));
      crawl = await getCrawl(api, id);
      if (crawl.status !== 'running' && crawl.status !== 'queued') break;
      await sleep(50);
    }
    const commands = (await commandsOf(redis)) - commands0;
    const after = await usedMemory(redis);
    const keys = await keysOf(redis, id);
    const events = await redis.xlen(`cs:{${id}}:events`);
    measured.push({ size, status: crawl.status, pages: crawl.counters.processed, before, peak, after, keys, events, commands });
  }
} finally {
  await stopAll(children);
  for (const site of sites) site.child.kill();
  redis.disconnect();
  await redisServer.stop();
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const total = (m) => Object.values(m.keys).reduce((s, v) => s + v, 0);
console.log(`bench/cluster/sizing: one crawl at a time on a private redis-server ${await redisVersion()}, the API and 1 worker; pages of bench/scale's site (~1.9 KB of HTML each)`);
for (const m of measured) {
  console.log(
    `  ${m.size}-page crawl: ${m.status}, ${m.pages} pages, ${m.events} events; crawl keys ${kb(total(m))} (` +
      Object.entries(m.keys)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${kb(v)}`)
        .join(', ') +
      `); used_memory +${kb(m.after - m.before)} after, +${kb(m.peak - m.before)} at peak; ${(m.commands / m.pages).toFixed(2)} commands/page`,
  );
}
const [small, large] = measured;
const perPage = (total(large) - total(small)) / (large.pages - small.pages);
const perCrawl = total(small) - small.pages * perPage;
const perEvent = large.keys.events / large.events;
console.log(`  per page: ${(perPage / 1024).toFixed(2)} KB of crawl keys (${((large.keys.pages ?? 0) / large.pages / 1024).toFixed(2)} KB of it the stored page, ${(perEvent * (large.events / large.pages) / 1024).toFixed(2)} KB its events)`);
console.log(`  per crawl, beside its pages: ${kb(perCrawl)}`);
console.log(`  per event: ${perEvent.toFixed(0)} bytes (events stream / XLEN, ${large.events} events: ${(large.events / large.pages).toFixed(2)} per page)`);
console.log(`  used_memory per page while crawling (peak - before, ${large.size}-page crawl): ${((large.peak - large.before) / large.pages / 1024).toFixed(2)} KB`);
if (measured.some((m) => m.status !== 'completed' || m.pages !== m.size)) {
  console.log('  a crawl did not complete with its section\'s pages: figures above are not per page of a full crawl');
  process.exit(1);
}
