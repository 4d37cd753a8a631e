// The docs site the fault scenarios crawl, served by node:http on 127.0.0.1:
// `pages` HTML pages under /docs/ in a 10-ary tree with navigation links (so
// every page is linked many times), robots.txt, and `latencyMs` per page (a
// few `slowPages` slower, to be in flight when a worker is stopped) so
// that a crawl lasts long enough for a fault to land in the middle of it and
// its duration is set by the site, not by the 2 shared cores. Several sites
// (prefixes) can share one server: `/s<k>/docs/` is the k-th copy.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Site {
  origin: string;
  /** Start URL of copy `k` (default 0) of the docs. */
  start(k?: number): string;
  /** Every page URL of copy `k`: what a full crawl of it must store, each once. */
  pageUrls(k?: number): string[];
  /** Requests per path. */
  hits: Map<string, number>;
  /** Requests for slow pages not answered yet. */
  slowInFlight(): number;
  close(): Promise<void>;
}

export interface SiteOptions {
  pages: number;
  /** Delay before each page is answered, in ms. */
  latencyMs?: number;
  /** Pages `from` to `to` - 1 (of every copy) answer after `latencyMs` instead. */
  slowPages?: { from: number; to: number; latencyMs: number };
}

function html(title: string, links: string[]): string {
  const items = links.map((href) => `<li><a href="${href}">${href}</a></li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>
<main><h1>${title}</h1><p>Documentation for ${title}.</p><ul>${items}</ul></main></body></html>`;
}

export async function startSite(options: SiteOptions): Promise<Site> {
  const n = options.pages;
  const hits = new Map<string, number>();
  let slowPending = 0;
  const pagePath = (k: number, i: number) => (i === 0 ? `/s${k}/docs/` : `/s${k}/docs/p${i}.html`);
  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/robots.txt') return send(res, 200, 'text/plain', 'User-agent: *\nAllow: /\n');
    const m = /^\/s(\d+)\/docs\/(?:p(\d+)\.html)?$/.exec(path);
    const k = m ? Number(m[1]) : -1;
    const i = m ? Number(m[2] ?? 0) : -1;
    if (!m || i >= n) return send(res, 404, 'text/plain', 'not found');
    const links: string[] = [];
    for (let c = 1; c <= 10; c++) if (i * 10 + c < n) links.push(pagePath(k, i * 10 + c));
    if (i > 0) links.push(pagePath(k, Math.floor((i - 1) / 10)), pagePath(k, i - 1));
    const slow = options.slowPages && i >= options.slowPages.from && i < options.slowPages.to ? options.slowPages : undefined;
    const reply = () => send(res, 200, 'text/html; charset=utf-8', html(`Page ${k}.${i}`, links));
    if (slow) {
      slowPending++;
      const timer = setTimeout(() => {
        slowPending--;
        reply();
      }, slow.latencyMs);
      // A request given up on (a worker's fetch aborted) stops counting.
      res.once('close', () => {
        if (!res.writableEnded) {
          clearTimeout(timer);
          slowPending--;
        }
      });
    } else if (options.latencyMs) setTimeout(reply, options.latencyMs);
    else reply();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    start: (k = 0) => `${origin}${pagePath(k, 0)}`,
    pageUrls: (k = 0) => Array.from({ length: n }, (_, i) => `${origin}${pagePath(k, i)}`),
    hits,
    slowInFlight: () => slowPending,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
