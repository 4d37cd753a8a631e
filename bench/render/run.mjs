// bench/render: what JavaScript rendering (#17) costs, on a generated SPA docs
// site (testkit's spaSite in its own process: BENCH_PAGES app pages, default
// 200, whose bundle renders after BENCH_RENDER_DELAY_MS, plus 3 static pages
// and a sitemap of all of them). Side by side in the same run, best of
// BENCH_ROUNDS (default 2) by pages per second:
// - crawlstream, `render: auto`: one worker and one renderer process
//   (apps/renderer, Playwright + Debian's Chromium behind its SSRF proxy) on a
//   private redis-server, RENDER_CONCURRENCY 2 and 4 (BENCH_RENDER_CONCURRENCY);
//   crawl created (as POST does) to `completed`; every app page must be stored
//   rendered with its heading;
// - the limit: a bare playwright-core loop (bare.mjs) rendering the same app
//   URLs with the same Chromium at the same concurrency, read as the renderer
//   reads a page, opening a tab per page (as the renderer did before it
//   reused tabs), with no Redis, no queue and no proxy; and the same loop
//   navigating one tab per slot from page to page, as the renderer now does
//   (the limit for it);
// - the HTTP path: the same crawl with `render: never` (the worker stores the
//   shells: the cost of not rendering);
// - variants (BENCH_VARIANTS=name=dir,...): the crawlstream side again with
//   the renderer at apps/renderer/<dir>/main.js (a build of another commit,
//   or one changed by hand), to compare renderers within one run.
// Per side: rendered pages per second (one renderer process, so also per
// renderer process); CPU per rendered page of the renderer and its Chromium
// (the whole process tree from /proc, tree.mjs: the node process, the browser,
// its zygotes and renderer processes, reaped children included), and of the
// worker + redis-server; peak memory of the renderer + Chromium tree, sampled
// every 250 ms: VmRSS summed over its processes (shared pages counted once per
// process: an upper bound) and Pss summed (shared pages split among their
// processes: what the tree holds). The site's CPU is left out (the same
// server for all).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createPageQueue, liveRenderers, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { startRedisServer } from '@crawlstream/redis-runner';
import { crawlOptionsSchema } from '@crawlstream/shared';
import { appPath } from '@crawlstream/testkit/spa-site';
import { Redis } from 'ioredis';
import { cpuMs } from '../crawl/proc.mjs';
import { sampleMemory, treeCpuMs } from './tree.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const WORKER_MAIN = join(repo, 'apps', 'worker', 'dist', 'main.js');
const RENDERER_MAIN = join(repo, 'apps', 'renderer', 'dist', 'main.js');
const PAGES = Number(process.env.BENCH_PAGES ?? 200);
const STATIC_PAGES = 3;
const DELAY_MS = Number(process.env.BENCH_RENDER_DELAY_MS ?? 75);
const CONCURRENCIES = (process.env.BENCH_RENDER_CONCURRENCY ?? '2,4').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Which sides run (all by default): ours, bare, reuse, never. */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'ours,bare,reuse,never').split(','));
/** Other renderer builds to run as crawlstream sides: `name=dir` pairs, dir under apps/renderer. */
const VARIANTS = (process.env.BENCH_VARIANTS ?? '')
  .split(',')
  .filter(Boolean)
  .map((pair) => {
    const [name, dir] = pair.split('=');
    return { name, main: join(repo, 'apps', 'renderer', dir, 'main.js') };
  });
/** Pages the crawl keeps in flight: enough to keep every render slot busy. */
const CRAWL_CONCURRENCY = 16;
/** V8 flags of the worker as `npm run start:worker` runs it. */
const NODE_FLAGS = ['--max-semi-space-size=64'];

/** A node process; resolves once `ready` matches its stdout (which is drained for its whole life). */
function launch(args, env, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const onData = (chunk) => {
      out = (out + chunk).slice(-20_000);
      if (ready.test(out)) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(child);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => {
      out = (out + chunk).slice(-20_000);
    });
    child.once('exit', (code) => reject(new Error(`${args.at(-1)} exited ${code} before it was ready: ${out.slice(-2000)}`)));
  });
}

async function stop(child, signal = 'SIGTERM') {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const late = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(late);
}

function startSite() {
  const child = spawn(process.execPath, [join(here, 'site.mjs'), String(PAGES), String(DELAY_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => child.stdout.once('data', (chunk) => resolve({ origin: String(chunk).trim(), child })));
}

/** One crawlstream crawl of the site; `renderConcurrency` null: no renderer, `render: never`; `rendererMain`: the renderer to run. */
async function crawlOnce(origin, renderConcurrency, rendererMain = RENDERER_MAIN) {
  const redisServer = await startRedisServer();
  const admin = new Redis(redisServer.url);
  const env = { REDIS_URL: redisServer.url, SSRF_ALLOW: '127.0.0.1', LOG_LEVEL: 'info' };
  const children = [];
  const queue = createPageQueue(admin);
  try {
    const worker = await launch([...NODE_FLAGS, WORKER_MAIN], { ...env, WORKER_CONCURRENCY: String(CRAWL_CONCURRENCY) }, /crawlstream worker ready/);
    children.push(worker);
    let renderer;
    if (renderConcurrency) {
      renderer = await launch([rendererMain], { ...env, CHROMIUM_PATH: CHROMIUM, RENDER_CONCURRENCY: String(renderConcurrency) }, /crawlstream renderer ready/);
      children.unshift(renderer);
      while ((await liveRenderers(admin)) < 1) await sleep(50);
    }
    const store = new CrawlStore({ redis: admin, jobs: new QueuePageJobs(queue) });
    const options = crawlOptionsSchema().parse({
      maxPages: PAGES + STATIC_PAGES,
      maxDepth: 10,
      concurrency: CRAWL_CONCURRENCY,
      scope: 'origin',
      useSitemap: true,
      render: renderConcurrency ? 'auto' : 'never',
    });
    const rendererCpuBefore = renderer ? treeCpuMs(renderer.pid) : 0;
    const memory = renderer ? sampleMemory(renderer.pid) : undefined;
    const serverCpuBefore = cpuMs(worker.pid) + cpuMs(redisServer.pid);
    const started = performance.now();
    const { crawl } = await store.create({ url: `${origin}/static/`, options });
    while ((await store.status(crawl.id)) === 'running') await sleep(20);
    const seconds = (performance.now() - started) / 1000;
    const serverCpu = cpuMs(worker.pid) + cpuMs(redisServer.pid) - serverCpuBefore;
    const rendererCpu = renderer ? treeCpuMs(renderer.pid) - rendererCpuBefore : 0;
    const peak = memory ? memory.stop() : null;
    const final = await store.get(crawl.id);
    if (final.status !== 'completed' || final.counters.processed !== PAGES + STATIC_PAGES) throw new Error(`crawl ended wrongly: ${JSON.stringify(final)}`);
    let rendered = 0;
    let withHeading = 0;
    for (let offset = 0; offset !== null; ) {
      const batch = await store.pages(crawl.id, offset, 100);
      for (const page of batch.items) {
        if (page.rendered) rendered++;
        if (page.markdown?.includes('Rendered app page ')) withHeading++;
      }
      offset = batch.next;
    }
    const expected = renderConcurrency ? PAGES : 0;
    if (rendered !== expected || withHeading !== expected) throw new Error(`expected ${expected} rendered app pages, found ${rendered} rendered, ${withHeading} with their heading`);
    const perPage = renderConcurrency ? rendered : final.counters.processed;
    return {
      rate: perPage / seconds,
      seconds,
      rendererCpuMsPerPage: renderConcurrency ? rendererCpu / rendered : null,
      serverCpuMsPerPage: serverCpu / perPage,
      peak,
    };
  } finally {
    for (const child of children) await stop(child);
    await queue.close();
    admin.disconnect();
    await redisServer.stop();
  }
}

/** The bare playwright-core loop over the same app URLs. */
async function bareOnce(origin, concurrency, mode) {
  const urls = Array.from({ length: PAGES }, (_, i) => `${origin}${appPath(i)}`);
  const child = await launch([join(here, 'bare.mjs'), CHROMIUM, String(concurrency), mode, ...urls], {}, /ready/);
  try {
    const cpuBefore = treeCpuMs(child.pid);
    const memory = sampleMemory(child.pid);
    const result = new Promise((resolve) => {
      let out = '';
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line));
      });
    });
    child.stdin.write('go\n');
    const r = await result;
    const cpu = treeCpuMs(child.pid) - cpuBefore;
    const peak = memory.stop();
    if (r.withHeading !== PAGES) throw new Error(`bare loop: ${r.withHeading} of ${PAGES} pages with their heading`);
    return { rate: r.rendered / r.seconds, seconds: r.seconds, rendererCpuMsPerPage: cpu / r.rendered, serverCpuMsPerPage: null, peak };
  } finally {
    child.stdin.end();
    await stop(child);
  }
}

const chromiumVersion = await new Promise((resolve) => {
  const child = spawn(CHROMIUM, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.once('exit', () => resolve(/[\d.]+/.exec(out)?.[0] ?? 'unknown'));
});
const site = await startSite();
try {
  console.log(
    `bench/render: generated SPA docs site (${PAGES} app pages rendered ${DELAY_MS} ms after load, ${STATIC_PAGES} static), 1 renderer process, Chromium ${chromiumVersion}, best of ${ROUNDS}, ${process.version}`,
  );
  const sides = [
    ...CONCURRENCIES.flatMap((c) => [
      { key: `ours${c}`, name: 'crawlstream, 1 renderer', concurrency: c, run: () => crawlOnce(site.origin, c) },
      { key: `bare${c}`, name: 'bare playwright-core (limit)', concurrency: c, run: () => bareOnce(site.origin, c, 'tab-per-page') },
      { key: `reuse${c}`, name: 'bare, one tab per slot reused', concurrency: c, run: () => bareOnce(site.origin, c, 'tab-reused') },
    ]),
    ...VARIANTS.flatMap((variant) =>
      CONCURRENCIES.map((c) => ({ key: `variant-${variant.name}-${c}`, name: `variant ${variant.name}`, concurrency: c, run: () => crawlOnce(site.origin, c, variant.main) })),
    ),
    { key: 'never', name: 'HTTP path, render: never', concurrency: null, run: () => crawlOnce(site.origin, null) },
  ].filter((side) => side.key.startsWith('variant-') || ONLY.has(side.key.replace(/\d+$/, '')));
  const best = {};
  for (let round = 1; round <= ROUNDS; round++) {
    const line = [];
    for (const side of sides) {
      const r = await side.run();
      line.push(`${side.name}${side.concurrency ? ` x${side.concurrency}` : ''} ${r.rate.toFixed(r.rate < 10 ? 2 : 0)}/s`);
      if (!best[side.key] || r.rate > best[side.key].rate) best[side.key] = r;
    }
    console.log(`  round ${round}: ${line.join(', ')}`);
  }
  const fmt = (value, digits = 1) => (value === null ? '-' : value.toFixed(digits));
  console.log(
    '                                 render concurrency  pages/s  vs bare  CPU ms/page: renderer + Chromium  worker + redis  peak memory renderer + Chromium: RSS summed (PSS)',
  );
  for (const side of sides) {
    const r = best[side.key];
    const bare = side.concurrency ? (best[`bare${side.concurrency}`] ?? null) : null;
    console.log(
      `  ${side.name.padEnd(31)}${String(side.concurrency ?? '-').padEnd(20)}${fmt(r.rate, r.rate < 10 ? 2 : 0).padStart(7)}  ${(bare ? `${(r.rate / bare.rate).toFixed(2)}x` : '-').padEnd(7)}  ${fmt(r.rendererCpuMsPerPage, 0).padStart(30)}  ${fmt(r.serverCpuMsPerPage, 2).padStart(14)}  ${r.peak ? `${r.peak.rssMb.toFixed(0)} MB (${r.peak.pssMb.toFixed(0)} MB)` : '-'}`,
    );
  }
  const never = best.never;
  for (const c of ONLY.has('ours') && ONLY.has('bare') && never ? CONCURRENCIES : []) {
    const ours = best[`ours${c}`];
    const bare = best[`bare${c}`];
    console.log(
      `  RENDER_CONCURRENCY ${c}: ${(ours.rate / bare.rate).toFixed(2)}x the bare loop's pages/s, ${(ours.rendererCpuMsPerPage / bare.rendererCpuMsPerPage).toFixed(2)}x its CPU per page; ` +
        `a rendered page costs ${(ours.rendererCpuMsPerPage + ours.serverCpuMsPerPage).toFixed(0)} ms CPU against ${never.serverCpuMsPerPage.toFixed(2)} ms on the HTTP path (${((ours.rendererCpuMsPerPage + ours.serverCpuMsPerPage) / never.serverCpuMsPerPage).toFixed(0)}x), ${(never.rate / ours.rate).toFixed(0)}x fewer pages/s`,
    );
  }
} finally {
  site.child.kill('SIGTERM');
}
