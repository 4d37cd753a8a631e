// Crawlee's CheerioCrawler on the same site, in-memory storage, same
// concurrency, converting each page's main content with the same turndown
// setup. Prints JSON {pages, seconds, rssPeakMb}.
import { CheerioCrawler, Configuration } from '@crawlee/cheerio';
import TurndownService from 'turndown';
import { gfm } from 'turndown-plugin-gfm';

const [start, concurrency] = [process.argv[2], Number(process.argv[3])];
const turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced' }).use(gfm);
let pages = 0;
let rssPeak = 0;
const config = new Configuration({ persistStorage: false, purgeOnStart: true, logLevel: 0 });
const crawler = new CheerioCrawler(
  {
    minConcurrency: concurrency,
    maxConcurrency: concurrency,
    maxRequestRetries: 0,
    maxRequestsPerMinute: 1_000_000,
    requestHandler: async ({ $, enqueueLinks }) => {
      $('nav, header, footer, aside, script, style').remove();
      turndown.turndown($('main').html() ?? '');
      pages++;
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      await enqueueLinks({ globs: [`${new URL('./', start).href}**`] });
    },
  },
  config,
);
const started = performance.now();
await crawler.run([start]);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`\n${JSON.stringify({ pages, seconds, rssPeakMb: rssPeak / 1048576 })}\n`);
