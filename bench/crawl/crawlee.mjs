// Crawlee's CheerioCrawler on the same site, in-memory storage, same
// concurrency. Each page's main content becomes markdown through the very
// function the worker uses, on the document Crawlee has already parsed (so
// the per-page work is the same; the crawler around it is what differs), and
// links are followed with Crawlee's own enqueueLinks. Prints JSON
// {pages, seconds, rssPeakMb, crawlerCpuMs}.
import { CheerioCrawler, Configuration } from '@crawlee/cheerio';
import { markdownOf } from '@crawlstream/pipeline';

const [start, concurrency] = [process.argv[2], Number(process.argv[3])];
let pages = 0;
let rssPeak = 0;
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
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    },
  },
  config,
);
const started = performance.now();
const cpuBefore = process.cpuUsage();
await crawler.run([start]);
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const crawlerCpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(`\n${JSON.stringify({ pages, seconds, rssPeakMb: rssPeak / 1048576, crawlerCpuMs })}\n`);
