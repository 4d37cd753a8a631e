// A documentation site generated for the tests, served by node:http on
// 127.0.0.1: `pages` pages under /docs/ in a 10-ary tree with navigation
// links (so cycles), robots.txt, a sitemap with pages no link reaches,
// hostile routes under /docs/h/ and the hostile corpus under /docs/x/.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { socketOwner } from './socket-owner.js';

export interface Site {
  origin: string;
  /** Start URL of the generated docs. */
  start: string;
  /** Every page URL a full crawl of /docs/ must store. */
  pageUrls: string[];
  /** Requests per path (for retry and robots assertions). */
  hits: Map<string, number>;
  /** Every request, in order of arrival. */
  log: SiteRequest[];
  close(): Promise<void>;
}

/** One request the site received. */
export interface SiteRequest {
  path: string;
  /** Arrival (epoch ms). */
  at: number;
  /** The process among `SiteOptions.pids` that sent it, when known. */
  pid?: number;
  /** When the exchange ended (epoch ms), and whether the whole response was written (false: the client went away). */
  endedAt?: number;
  answered?: boolean;
}

export interface SiteOptions {
  /** Candidate client processes: each request is tagged with the one that sent it (socket-owner.ts). */
  pids?: () => readonly number[];
  pages: number;
  /** Pages only the sitemap lists. */
  orphans?: number;
  robots?: string;
  /** Extra latency per page, in ms. */
  latencyMs?: number;
  /** Address to listen on (a loopback alias such as 127.0.0.2 for a second host). */
  host?: string;
  /** Answers a request before the built-in routes when it returns true (`origin` is this site's). */
  route?: (path: string, res: ServerResponse, origin: string) => boolean;
}

/** The hostile corpus (/docs/x/): one route per case, linked from /docs/x/. */
export const CORPUS = {
  /** Pages of 1 MB of text. */
  textPages: 30,
  textBytes: 1_000_000,
  titleBytes: 3_000_000,
  /** Distinct links on /docs/x/links (3.7 MB of `<a href=links/N>x</a>`). */
  links: 150_000,
  nesting: 100_000,
  /** What the gzip bomb inflates to, from about 1 MB on the wire. */
  bombBytes: 1024 * 1024 * 1024,
  /** Path segment of the glob bait: long runs of one letter, the worst case of a backtracking matcher. */
  globBait: 'a'.repeat(1_900),
} as const;

/** The cases /docs/x/ links to, relative to it. */
export function corpusPaths(): string[] {
  return [
    `glob/${CORPUS.globBait}`,
    'title',
    'links',
    ...Array.from({ length: CORPUS.textPages }, (_, i) => `text/${i}`),
    'binary',
    'nested',
    'bomb',
    'redirect',
  ];
}

/** One gzip member of 64 MiB of zeros (about 64 KB); concatenated members are one gzip body. */
let bombMember: Buffer | undefined;

function corpus(route: string, res: ServerResponse, count: number, send: (status: number, type: string, body: string | Buffer) => void): boolean {
  if (route === '') {
    send(200, 'text/html', page('Hostile corpus', corpusPaths()));
  } else if (route.startsWith('glob/')) {
    send(200, 'text/html', page('Glob bait', []));
  } else if (route === 'title') {
    send(200, 'text/html', `<html><head><title>${'T'.repeat(CORPUS.titleBytes)}</title></head><body><p>big title</p></body></html>`);
  } else if (route === 'links') {
    const anchors = Array.from({ length: CORPUS.links }, (_, i) => `<a href=links/${i}>x</a>`).join('');
    send(200, 'text/html', `<html><head><title>Links</title></head><body>${anchors}</body></html>`);
  } else if (/^links\/\d+$/.test(route)) {
    send(200, 'text/html', page(`Link ${route}`, []));
  } else if (/^text\/\d+$/.test(route)) {
    const words = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(CORPUS.textBytes / 27)).slice(0, CORPUS.textBytes);
    send(200, 'text/html', `<html><head><title>Text ${route}</title></head><body><main><p>${words}</p></main></body></html>`);
  } else if (route === 'binary') {
    // A PNG signature and header, then bytes of every value, labelled as HTML.
    const bytes = Buffer.concat([
      Buffer.from('89504e470d0a1a0a0000000d494844520000001000000010', 'hex'),
      Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
    ]);
    send(200, 'text/html', bytes);
  } else if (route === 'nested') {
    send(200, 'text/html', `<html><head><title>Nested</title></head><body>${'<div>'.repeat(CORPUS.nesting)}deep text${'</div>'.repeat(CORPUS.nesting)}</body></html>`);
  } else if (route === 'bomb') {
    bombMember ??= gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
    let members = CORPUS.bombBytes / (64 * 1024 * 1024);
    const pump = () => {
      while (members > 0) {
        members--;
        if (!res.write(bombMember)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('error', () => {});
    pump();
  } else if (route === 'redirect') {
    res.writeHead(302, { location: '/docs/x/redirected' });
    res.end();
  } else if (route === 'redirected') {
    // The first attempt follows the redirect and fails here; the retry follows it again.
    if (count === 1) send(503, 'text/plain', 'try again');
    else send(200, 'text/html', page('Redirected', []));
  } else return false;
  return true;
}

function page(title: string, links: string[], body = ''): string {
  const nav = links.map((href) => `<li><a href="${href}">${href}</a></li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>
<nav><ul><li><a href="/docs/">Home</a></li></ul></nav>
<main><h1>${title}</h1><p>Documentation for ${title}. ${body}</p>
<pre><code class="language-js">const x = ${JSON.stringify(title)};</code></pre>
<ul>${nav}</ul></main><footer>footer</footer></body></html>`;
}

export async function startSite(options: SiteOptions): Promise<Site> {
  const hits = new Map<string, number>();
  const log: SiteRequest[] = [];
  const owners = new WeakMap<Socket, number | undefined>();
  const n = options.pages;
  const orphans = options.orphans ?? 0;
  const pagePath = (i: number) => (i === 0 ? '/docs/' : `/docs/p${i}.html`);
  let origin = '';

  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, headers = {}) => {
    res.writeHead(status, { 'content-type': type, ...headers });
    res.end(body);
  };

  const hostile = (path: string, res: ServerResponse, count: number): boolean => {
    const m = /^\/docs\/h\/(.*)$/.exec(path);
    if (!m) return false;
    const route = m[1]!;
    const redirect = (to: string) => {
      res.writeHead(302, { location: to });
      res.end();
    };
    if (route === '') {
      const links = ['loop-a', 'r0', 'out', 'drip', 'big', 'png', 'malformed', 'flaky', 'busy', 'many', 'missing', 'private/secret'];
      send(res, 200, 'text/html', page('Hostile', links.map((l) => `/docs/h/${l}`)));
    } else if (route === 'loop-a') redirect('/docs/h/loop-b');
    else if (route === 'loop-b') redirect('/docs/h/loop-a');
    else if (/^r\d+$/.test(route)) redirect(`/docs/h/r${Number(route.slice(1)) + 1}`);
    else if (route === 'out') redirect('/outside/');
    else if (route === 'drip') {
      res.writeHead(200, { 'content-type': 'text/html' });
      const timer = setInterval(() => res.write('<p>drip</p>'), 100);
      res.on('close', () => clearInterval(timer));
    } else if (route === 'big') send(res, 200, 'text/html', `<html><body>${'x'.repeat(2_000_000)}</body></html>`);
    else if (route === 'png') send(res, 200, 'image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]));
    else if (route === 'malformed') send(res, 200, 'text/html', '<html><title>Broken</title><body><p>unclosed <b>bold <div><a href="/docs/p1.html">p1');
    else if (route === 'flaky') {
      if (count === 1) send(res, 500, 'text/plain', 'oops');
      else send(res, 200, 'text/html', page('Flaky but fine', []));
    } else if (route === 'busy') {
      if (count === 1) send(res, 429, 'text/plain', 'slow down', { 'retry-after': '1' });
      else send(res, 200, 'text/html', page('Busy but fine', []));
    } else if (route === 'many') {
      const links = Array.from({ length: 10_000 }, (_, i) => `/docs/h/many/${i}`);
      send(res, 200, 'text/html', page('Many links', links));
    } else if (route.startsWith('many/')) send(res, 200, 'text/html', page(`Many ${route}`, []));
    else if (route === 'private/secret') send(res, 200, 'text/html', page('Secret', []));
    else send(res, 404, 'text/plain', 'not found');
    return true;
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const entry: SiteRequest = { path, at: Date.now() };
    if (options.pids) {
      const socket = req.socket;
      if (!owners.has(socket) || owners.get(socket) === undefined) {
        owners.set(socket, socketOwner(socket.remotePort!, socket.localPort!, options.pids()));
      }
      const pid = owners.get(socket);
      if (pid !== undefined) entry.pid = pid;
    }
    log.push(entry);
    res.on('close', () => {
      entry.endedAt = Date.now();
      entry.answered = res.writableFinished;
    });
    const count = (hits.get(path) ?? 0) + 1;
    hits.set(path, count);
    if (options.route?.(path, res, origin)) return;
    const corpusRoute = /^\/docs\/x\/(.*)$/.exec(path)?.[1];
    if (corpusRoute !== undefined && corpus(corpusRoute, res, count, (status, type, body) => send(res, status, type, body))) return;
    if (path === '/robots.txt') {
      send(res, 200, 'text/plain', options.robots ?? `User-agent: *\nDisallow: /docs/h/private/\nSitemap: ${origin}/sitemap.xml\n`);
      return;
    }
    if (path === '/sitemap.xml') {
      const urls = Array.from({ length: orphans }, (_, i) => `<url><loc>${origin}/docs/orphan${i}.html</loc></url>`);
      send(res, 200, 'application/xml', `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls.join('')}</urlset>`);
      return;
    }
    if (hostile(path, res, count)) return;
    const orphan = /^\/docs\/orphan(\d+)\.html$/.exec(path);
    if (orphan && Number(orphan[1]) < orphans) {
      send(res, 200, 'text/html', page(`Orphan ${orphan[1]}`, ['/docs/']));
      return;
    }
    const m = path === '/docs/' ? ['', '0'] : /^\/docs\/p(\d+)\.html$/.exec(path);
    const i = m ? Number(m[1]) : -1;
    if (i < 0 || i >= n) {
      send(res, 404, 'text/plain', 'not found');
      return;
    }
    const links: string[] = [];
    for (let k = 1; k <= 10; k++) if (i * 10 + k < n) links.push(pagePath(i * 10 + k));
    if (i > 0) links.push(pagePath(Math.floor((i - 1) / 10)), pagePath(i - 1)); // up and back: cycles
    if (i + 1 < n) links.push(`${pagePath(i + 1)}#next`);
    const reply = () => send(res, 200, 'text/html; charset=utf-8', page(`Page ${i}`, links));
    if (options.latencyMs) setTimeout(reply, options.latencyMs);
    else reply();
  };

  const server = createServer(handler);
  server.keepAliveTimeout = 10_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  const pageUrls = [
    ...Array.from({ length: n }, (_, i) => `${origin}${pagePath(i)}`),
    ...Array.from({ length: orphans }, (_, i) => `${origin}/docs/orphan${i}.html`),
  ];
  return {
    origin,
    start: `${origin}/docs/`,
    pageUrls,
    hits,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
