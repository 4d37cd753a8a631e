// Glob matching on hostile input: crawlstream's linear-time matcher
// (@crawlstream/shared glob.ts) next to picomatch 4, which it replaced, on
// adversarial patterns up to MAX_GLOB_LENGTH against paths of MAX_URL_LENGTH.
// picomatch runs in a worker thread cut off after PICOMATCH_CUTOFF_MS, so the
// bench always ends. Target (issue 10): every accepted pattern matches any URL
// path up to the URL length limit in at most 1 ms. Run: npm run bench -- glob
import { Worker } from 'node:worker_threads';
import { compilePathGlob, anchorPathGlob, MAX_GLOB_LENGTH, MAX_URL_LENGTH, pathGlobProblem } from '@crawlstream/shared';

const TARGET_MS = 1;
const RUNS = Number(process.env.BENCH_RUNS ?? 300);
const PICOMATCH_CUTOFF_MS = 3000;

const fill = (unit, prefix = '', suffix = 'b') =>
  `${prefix}${unit.repeat(Math.floor((MAX_GLOB_LENGTH - prefix.length - suffix.length) / unit.length))}${suffix}`;
const patterns = {
  '10 stars (NOTES.md)': '*a*a*a*a*a*a*a*a*a*a*b',
  '22 stars': '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b',
  '*a x 255 (max length)': fill('*a'),
  '/*a x 255': fill('*a', '/'),
  '**/*a x 254': fill('*a', '**/'),
  '/*? x 255': fill('*?', '/'),
  '/[a-z]* x 85': fill('[a-z]*', '/'),
  '/**/a x 102': fill('**/a/', '/'),
  'braces, 32 alternatives': `/{${Array.from({ length: 2 }, () => '*a'.repeat(8)).join(',')}}{${Array.from({ length: 16 }, (_, i) => `${'*a'.repeat(6)}${String.fromCharCode(99 + i)}`).join(',')}}`,
};
const paths = {
  [`a x ${MAX_URL_LENGTH - 1}`]: `/${'a'.repeat(MAX_URL_LENGTH - 1)}`,
  [`a/ x ${(MAX_URL_LENGTH - 2) / 2}`]: `/${'a/'.repeat((MAX_URL_LENGTH - 2) / 2)}a`,
  [`é x ${MAX_URL_LENGTH - 1}`]: `/${'é'.repeat(MAX_URL_LENGTH - 1)}`,
};
const SHORT_PATH = `/${'a'.repeat(39)}`;

/**
 * Each (pattern, path) match does the same work every time, so its cost is
 * the median of RUNS timed matches; `worst` is the highest such median over
 * the paths. The raw p99 over every single match is shown too: on a shared
 * machine it includes the scheduler's pauses, not the matcher's work.
 */
function ours(pattern) {
  const problem = pathGlobProblem(pattern);
  if (problem) throw new Error(`${pattern}: ${problem}`);
  const matcher = compilePathGlob(pattern);
  let worst = 0;
  const all = [];
  for (const path of Object.values(paths)) {
    for (let i = 0; i < 20; i++) matcher.test(path); // warm up
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      matcher.test(path);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    worst = Math.max(worst, times[Math.floor(times.length / 2)]);
    all.push(...times);
  }
  all.sort((a, b) => a - b);
  return { worst, p99: all[Math.floor(all.length * 0.99)], states: matcher.states };
}

/** picomatch on one path, in a worker thread cut off after the limit: ms, or null when cut off. */
function picomatchMs(pattern, path) {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const picomatch = require(${JSON.stringify(import.meta.resolve('picomatch').replace('file://', ''))});
    const isMatch = picomatch(workerData.pattern, { dot: true });
    isMatch(workerData.path);
    const started = performance.now();
    isMatch(workerData.path);
    parentPort.postMessage(performance.now() - started);`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: { pattern: anchorPathGlob(pattern), path } });
    const timer = setTimeout(() => worker.terminate().then(() => resolve(null), reject), PICOMATCH_CUTOFF_MS);
    worker.once('message', (ms) => {
      clearTimeout(timer);
      worker.terminate();
      resolve(ms);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const fmt = (ms) => (ms === null ? `> ${PICOMATCH_CUTOFF_MS} (cut off)` : ms.toFixed(3));
console.log(`glob matching: ${Object.keys(paths).length} paths of ${MAX_URL_LENGTH} characters x ${RUNS} runs per pattern; ms per match`);
console.log(`picomatch 4 (dot: true) on a 40-character path (${SHORT_PATH.slice(0, 6)}...), cut off at ${PICOMATCH_CUTOFF_MS} ms\n`);
console.log(`${'pattern'.padEnd(26)} ${'chars'.padStart(5)} ${'states'.padStart(6)} ${'ours'.padStart(7)} ${'raw p99'.padStart(8)}   picomatch (40 chars)`);
let overall = 0;
// Ours first, so that no cut-off picomatch thread is still busy while we time.
const results = Object.entries(patterns).map(([name, pattern]) => [name, pattern, ours(pattern)]);
for (const [name, pattern, result] of results) {
  overall = Math.max(overall, result.worst);
  const reference = await picomatchMs(pattern, SHORT_PATH);
  console.log(
    `${name.padEnd(26)} ${String(pattern.length).padStart(5)} ${String(result.states).padStart(6)} ${result.worst.toFixed(3).padStart(7)} ${result.p99.toFixed(3).padStart(8)}   ${fmt(reference)}`,
  );
}
console.log(`\nours, worst pattern and path (median of ${RUNS} matches): ${overall.toFixed(3)} ms`);
console.log(`target: <= ${TARGET_MS} ms per match: ${overall <= TARGET_MS ? 'OK' : 'MISSED'}`);
