// A documentation site for end-to-end tests (after apps/worker's fixture),
// served by node:http on 127.0.0.1: `pages` pages under /docs/ in a 10-ary
// tree with navigation links (so cycles), robots.txt and an empty sitemap.
// With `errorPages` the home page also links a missing page (a `page_failed`,
// http_4xx) and a PDF (a `page_skipped`, not_html). `latencyMs` slows every
// page down so a crawl is still running when a test acts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Site {
  origin: string;
  /** Start URL of the generated docs. */
  start: string;
  /** Every page URL a full crawl of /docs/ must store. */
  pageUrls: string[];
  /** The URL that fails (404) and the one that is skipped (not HTML). */
  missingUrl: string;
  pdfUrl: string;
  close(): Promise<void>;
}

export interface SiteOptions {
  pages: number;
  /** Extra latency per page, in ms. */
  latencyMs?: number;
  /** Link a missing page and a PDF from the home page. */
  errorPages?: boolean;
}

function page(title: string, links: string[]): string {
  const nav = links.map((href) => `<li><a href="${href}">${href}</a></li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>
<nav><ul><li><a href="/docs/">Home</a></li></ul></nav>
<main><h1>${title}</h1><p>Documentation for ${title}.</p>
<pre><code class="language-js">const x = ${JSON.stringify(title)};</code></pre>
<ul>${nav}</ul></main><footer>footer</footer></body></html>`;
}

export async function startSite(options: SiteOptions): Promise<Site> {
  const n = options.pages;
  const pagePath = (i: number) => (i === 0 ? '/docs/' : `/docs/p${i}.html`);
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/robots.txt') return send(res, 200, 'text/plain', 'User-agent: *\nAllow: /\n');
    if (path === '/sitemap.xml') {
      return send(res, 200, 'application/xml', '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>');
    }
    if (path === '/docs/manual.pdf') return send(res, 200, 'application/pdf', Buffer.from('%PDF-1.4\n%fake\n'));
    const m = path === '/docs/' ? ['', '0'] : /^\/docs\/p(\d+)\.html$/.exec(path);
    const i = m ? Number(m[1]) : -1;
    if (i < 0 || i >= n) return send(res, 404, 'text/plain', 'not found');
    const links: string[] = [];
    for (let k = 1; k <= 10; k++) if (i * 10 + k < n) links.push(pagePath(i * 10 + k));
    if (i > 0) links.push(pagePath(Math.floor((i - 1) / 10)), pagePath(i - 1));
    if (i + 1 < n) links.push(`${pagePath(i + 1)}#next`);
    if (i === 0 && options.errorPages) links.push('/docs/missing.html', '/docs/manual.pdf');
    const reply = () => send(res, 200, 'text/html; charset=utf-8', page(`Page ${i}`, links));
    if (options.latencyMs) setTimeout(reply, options.latencyMs);
    else reply();
  };
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    start: `${origin}/docs/`,
    pageUrls: Array.from({ length: n }, (_, i) => `${origin}${pagePath(i)}`),
    missingUrl: `${origin}/docs/missing.html`,
    pdfUrl: `${origin}/docs/manual.pdf`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
