// The limit: a bare in-process breadth-first crawl with undici and the same
// parse-extract-convert step the worker runs (cheerio + turndown), no Redis,
// no queue. Prints JSON {pages, seconds, rssPeakMb, crawlerCpuMs}: peak RSS is
// this process's VmHWM, CPU is from /proc (its children's included), as
// run.mjs reads them for crawlstream's processes (proc.mjs).
import { extractPage } from '@crawlstream/pipeline';
import { Agent, request } from 'undici';
import { cpuMs, peakRssMb } from './proc.mjs';

const [start, concurrency] = [process.argv[2], Number(process.argv[3])];
const prefix = new URL('./', start).href;
const agent = new Agent({ connections: concurrency * 2, keepAliveTimeout: 10_000 });
const seen = new Set([start]);
const queue = [start];
let active = 0;
let pages = 0;
const started = performance.now();
const cpuBefore = cpuMs();
await new Promise((resolve) => {
  const pump = () => {
    while (active < concurrency && queue.length > 0) {
      const url = queue.shift();
      active++;
      (async () => {
        const res = await request(url, { dispatcher: agent });
        const html = await res.body.text();
        if (res.statusCode === 200) {
          const page = extractPage(html, url);
          pages++;
          for (const link of page.links) {
            if (link.startsWith(prefix) && !seen.has(link)) {
              seen.add(link);
              queue.push(link);
            }
          }
        }
      })()
        .catch(() => {})
        .finally(() => {
          active--;
          if (active === 0 && queue.length === 0) resolve();
          else pump();
        });
    }
  };
  pump();
});
const seconds = (performance.now() - started) / 1000;
const crawlerCpuMs = cpuMs() - cpuBefore;
await agent.close();
process.stdout.write(JSON.stringify({ pages, seconds, rssPeakMb: peakRssMb(), crawlerCpuMs }));
