// The worker's extraction alone (no network, no Redis, no queue) on the
// benchmark site's pages, in a loop, in one process: what a page costs to
// parse, extract and convert. run.mjs subtracts it from each crawler's CPU per
// page (the rest is the fixed cost per page), and starts two at once to see
// what a second busy process adds on this machine (two cores that are not two
// whole cores do not double). argv: iterations, size (large | small), site
// pages. Prints JSON {msPerPage, bytesPerPage}.
import { extractPage } from '@crawlstream/pipeline';
import { page, path } from './site-pages.mjs';

const iterations = Number(process.argv[2] ?? 3000);
const size = process.argv[3] ?? 'large';
const sitePages = Number(process.argv[4] ?? 2000);
// Pages spread over the whole site (leaves have fewer links than inner pages).
const ids = Array.from({ length: 200 }, (_, k) => Math.floor((k * sitePages) / 200));
const html = ids.map((i) => page(i, sitePages, size));
const url = (k) => `http://127.0.0.1:1${path(ids[k % ids.length])}`;
for (let k = 0; k < 300; k++) extractPage(html[k % html.length], url(k));
const started = performance.now();
for (let k = 0; k < iterations; k++) extractPage(html[k % html.length], url(k));
const msPerPage = (performance.now() - started) / iterations;
const bytesPerPage = html.reduce((sum, h) => sum + Buffer.byteLength(h), 0) / html.length;
process.stdout.write(JSON.stringify({ msPerPage, bytesPerPage }));
