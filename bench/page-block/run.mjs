// The longest stretch one page holds a worker's event loop, on the biggest
// page a crawl may fetch (MAX_PAGE_BYTES of HTML) in the shapes that cost the
// most: deep nesting, a sea of links, one huge text node, tables, many small
// elements. While the loop is held BullMQ cannot renew job locks, so it must
// stay well under half the lock (PAGE_LOCK_MS / 2, packages/shared/src/limits.ts).
// Columns: `extract` is the synchronous extraction (parse, links, markdown),
// which the worker runs in a thread (apps/worker/src/page-extractor.ts);
// `loop held` is the longest event-loop delay on the main thread while the
// worker's path runs (the thread's result copied back, keepLinks, the
// settle's gzip), measured with monitorEventLoopDelay. Run:
// npm run bench -- page-block (BENCH_ROUNDS=n, default 3). Needs the build.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { decodePage, encodePage } from '@crawlstream/progress';
import { extractPage, keepLinks } from '@crawlstream/pipeline';
import { MAX_LINKS_PER_PAGE, MAX_PAGE_BYTES, PAGE_LOCK_MS } from '@crawlstream/shared';
import { Piscina } from 'piscina';

const pool = new Piscina({
  filename: new URL('../../apps/worker/dist/extract-thread.cjs', import.meta.url).href,
  minThreads: 1,
  maxThreads: 1,
});

const size = MAX_PAGE_BYTES;
const fill = (unit, head = '<html><head><title>t</title></head><body><main>', tail = '</main></body></html>') =>
  head + unit.repeat(Math.floor((size - head.length - tail.length) / unit.length)) + tail;

const shapes = {
  'deep nesting (<div> x ~1.9M, open)': fill('<div>'),
  'deep nesting, closed (<div>x</div> pairs nested 10k at a time)': fill(`${'<div>'.repeat(10_000)}x${'</div>'.repeat(10_000)}`),
  'links (<a href=pN>x</a>, ~500k distinct)': (() => {
    let out = '<html><body><main>';
    for (let i = 0; out.length < size - 40; i++) out += `<a href=p${i}>x</a>`;
    return `${out}</main></body></html>`;
  })(),
  'one text node (10 MiB of words)': fill('lorem ipsum dolor sit amet '),
  'tables (<table> of 50 cells, closed)': fill(`<table><tr>${'<td>c</td>'.repeat(50)}</tr></table>`),
  'many small paragraphs': fill('<p>a <b>b</b> <i>c</i> <code>d</code></p>'),
  'list items': fill('<ul><li>item <a href="#x">x</a></li></ul>'),
};

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
console.log(`page-block: longest synchronous stretch per page of ${size} bytes (lock ${PAGE_LOCK_MS} ms, renewal must not be held off ${PAGE_LOCK_MS / 2} ms)`);
console.log('shape | extract ms, on the loop before (max of rounds) | loop held ms, now | markdown bytes | links');
let worstBefore = 0;
let worstNow = 0;
const settleOf = (page) => {
  const links = keepLinks(page.links, () => true, MAX_LINKS_PER_PAGE);
  const blob = encodePage({ url: 'http://127.0.0.1/docs/', title: page.title, markdown: page.markdown, links: links.links, status: 200, depth: 0, bytes: size, durationMs: 1, fetchedAt: new Date().toISOString() });
  decodePage(blob);
};
for (const [name, html] of Object.entries(shapes)) {
  let extractMs = 0;
  let heldMs = 0;
  let page;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    page = extractPage(html, 'http://127.0.0.1/docs/');
    extractMs = Math.max(extractMs, performance.now() - t0);
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    settleOf(await pool.run({ html, url: 'http://127.0.0.1/docs/' }));
    await new Promise((resolve) => setTimeout(resolve, 30));
    delay.disable();
    heldMs = Math.max(heldMs, delay.max / 1e6);
  }
  worstBefore = Math.max(worstBefore, extractMs);
  worstNow = Math.max(worstNow, heldMs);
  console.log(`${name} | ${extractMs.toFixed(0)} | ${heldMs.toFixed(0)} | ${Buffer.byteLength(page.markdown)} | ${page.links.length}`);
}
console.log(`longest loop hold: ${worstNow.toFixed(0)} ms (extraction on the loop: ${worstBefore.toFixed(0)} ms); half the lock: ${PAGE_LOCK_MS / 2} ms`);
await pool.destroy();
