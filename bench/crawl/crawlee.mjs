// Crawlee's CheerioCrawler on the same site, in-memory storage, same
// concurrency. Each page's main content becomes markdown through the very
// function the worker uses, on the document Crawlee has already parsed (so
// the per-page work is the same; the crawler around it is what differs), and
// links are followed with Crawlee's own enqueueLinks. Prints JSON
// {pages, seconds, rssPeakMb, crawlerCpuMs}: peak RSS is this process's
// VmHWM, CPU is from /proc with its children's (Crawlee runs `ps` for its
// memory snapshots), as run.mjs reads them for crawlstream's (proc.mjs).
import { CheerioCrawler, Configuration } from '@crawlee/cheerio';
import { markdownOf } from '@crawlstream/pipeline';
import { cpuMs, peakRssMb } from './proc.mjs';

const [start, concurrency] = [process.argv[2], Number(process.argv[3])];
let pages = 0;
const config = new Configuration({ persistStorage: false, purgeOnStart: true, logLevel: 0 });
const crawler = new CheerioCrawler(
  {
    minConcurrency: concurrency,
    maxConcurrency: concurrency,
    maxRequestRetries: 0,
    maxRequestsPerMinute: 1_000_000,
    requestHandler: async ({ $, request, enqueueLinks }) => {
      // Links first: the conversion drops the page's chrome (nav, footer …) from $.
      await enqueueLinks({ globs: [`${new URL('./', start).href}**`] });
      markdownOf($, request.loadedUrl ?? request.url);
      pages++;
    },
  },
  config,
);
const started = performance.now();
const cpuBefore = cpuMs();
await crawler.run([start]);
const seconds = (performance.now() - started) / 1000;
const crawlerCpuMs = cpuMs() - cpuBefore;
process.stdout.write(`\n${JSON.stringify({ pages, seconds, rssPeakMb: peakRssMb(), crawlerCpuMs })}\n`);
