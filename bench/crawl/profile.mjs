// Where a worker's CPU goes per page, from V8 CPU profiles of its threads:
//   BENCH_SITE=small BENCH_ONLY=one BENCH_ROUNDS=1 \
//     BENCH_WORKER_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/cs-prof" node bench/crawl/run.mjs
//   node bench/crawl/profile.mjs 1500 /tmp/cs-prof/CPU.*.<pid>.*.cpuprofile
// with the pid of the first worker (the timed run; the untimed run that
// counts Redis commands writes its own profiles, under a later pid).
// Each sample goes to the first category found walking up from the running
// function (so a socket write under ioredis is the Redis client's, a write
// under undici the fetch's). Start-up (module loading before the first page)
// is left out. The sampling profiler slows the worker down a little; read
// the shares, and the ms/page as an upper bound.
import { readFileSync } from 'node:fs';

const [pagesArg, ...files] = process.argv.slice(2);
const pages = Number(pagesArg);
if (!(pages > 0) || files.length === 0) {
  console.error('usage: node bench/crawl/profile.mjs <pages> <file.cpuprofile>...');
  process.exit(2);
}

/** Categories, checked against each frame's function name and script URL; the first rule that matches wins. */
const RULES = [
  // An extraction thread waiting for work (pages over 128 KiB go there; the work itself matches extraction first).
  ['idle', /piscina/],
  ['extraction (parse, extract, convert)', /turndown|htmlparser2|cheerio|domutils|domhandler|css-select|css-what|nth-check|entities|pipeline\/(src|dist)\/(extract|markdown-dom|parse|bounds|url|scope)/],
  ['fetch (undici, SSRF guard, decoding)', /undici|pipeline\/(src|dist)\/(fetch-page|ssrf|charset)|llhttp/],
  ['Redis client (ioredis, its socket I/O)', /ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback/],
  ['BullMQ (take, lock, finish jobs)', /bullmq/],
  ['settle and store (records, gzip, dispatch)', /progress\/(src|dist)|jobs\/(src|dist)/],
  ['worker logic (job steps, budgets, robots)', /worker\/(src|dist)|p-limit|yocto-queue|robots-parser/],
  ['logging (pino)', /pino|sonic-boom/],
  ['start-up (module loading)', /^node:internal\/modules|cjs-module-lexer|compileSourceTextModule|wrapSafe/],
];
const BUCKETS = new Map([
  ['(garbage collector)', 'garbage collection'],
  ['(idle)', 'idle'],
  ['(program)', 'V8 and Node internals (unattributed)'],
]);

const totals = new Map();
let busy = 0;
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const categoryOf = new Map();
  const classify = (id) => {
    if (categoryOf.has(id)) return categoryOf.get(id);
    const chain = [];
    let found;
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url } = nodes.get(at).callFrame;
      if (BUCKETS.has(functionName)) {
        found = BUCKETS.get(functionName);
        break;
      }
      const rule = RULES.find(([, pattern]) => pattern.test(url) || pattern.test(functionName));
      if (rule) {
        found = rule[0];
        break;
      }
      chain.push(at);
    }
    found ??= 'other (Node streams, timers, promises)';
    for (const at of [id, ...chain]) categoryOf.set(at, found);
    return found;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const category = classify(profile.samples[i]);
    const us = profile.timeDeltas[i] ?? 0;
    totals.set(category, (totals.get(category) ?? 0) + us);
    if (category !== 'idle' && !category.startsWith('start-up')) busy += us;
  }
}
const rows = [...totals].filter(([category]) => category !== 'idle' && !category.startsWith('start-up')).sort((a, b) => b[1] - a[1]);
console.log(`worker CPU per page by category (${files.length} profile(s), ${pages} pages; start-up and idle left out)`);
for (const [category, us] of rows) {
  console.log(`  ${category.padEnd(45)} ${(us / 1000 / pages).toFixed(3)} ms/page  ${((100 * us) / busy).toFixed(1).padStart(5)}%`);
}
console.log(`  ${'all'.padEnd(45)} ${(busy / 1000 / pages).toFixed(3)} ms/page`);
