// How much two busy processes get out of this machine: the worker's
// extraction alone (no network, no Redis) on the benchmark site's pages, in a
// loop. run.mjs starts one, then two at once, and compares the per-page times:
// on two cores that are not two whole cores, two processes do not double.
// argv: pages. Prints JSON {msPerPage}.
import { extractPage } from '@crawlstream/pipeline';
import { page } from './site-pages.mjs';

const pages = Number(process.argv[2] ?? 3000);
const html = Array.from({ length: 200 }, (_, i) => page(i, 2000));
for (let i = 0; i < 300; i++) extractPage(html[i % html.length], `http://127.0.0.1:1/docs/p${i}.html`);
const started = performance.now();
for (let i = 0; i < pages; i++) extractPage(html[i % html.length], `http://127.0.0.1:1/docs/p${i}.html`);
process.stdout.write(JSON.stringify({ msPerPage: (performance.now() - started) / pages }));
