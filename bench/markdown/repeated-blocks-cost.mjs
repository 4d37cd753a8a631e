// What repeated-block removal costs the worker's main thread on a 3 MiB
// markdown (MAX_MARKDOWN_BYTES) of the shapes that cost it most: one scan of
// every line, fingerprints only for the REPEATED_BLOCK_EDGE blocks at either
// end. Run: node bench/markdown/repeated-blocks-cost.mjs
import { RepeatedBlocks } from '@crawlstream/pipeline';
const MB3 = 3 * 1024 * 1024;
const shapes = {
  'distinct short blocks': (() => { let s = ''; for (let i = 0; s.length < MB3; i++) s += `w${i} x y\n\n`; return s; })(),
  'one-line blocks of 1 word': 'a\n\n'.repeat(MB3 / 3),
  'lines of one char': 'a\n'.repeat(MB3 / 2),
  'fence lines': '```\n'.repeat(MB3 / 4),
};
for (const [name, md] of Object.entries(shapes)) {
  const times = [];
  for (let i = 0; i < 7; i++) { const b = new RepeatedBlocks(); const t = performance.now(); b.strip(`https://a/${i}`, md); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  console.log(name.padEnd(28), `min ${times[0].toFixed(0)} ms, median ${times[3].toFixed(0)} ms`);
}
