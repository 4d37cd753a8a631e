// A JavaScript documentation site for rendering tests and the render bench
// (#17, docs/rendering.md), served by node:http on 127.0.0.1. Every path under
// /app/ answers the same app shell (an empty root, a <noscript>, one script, no
// links); /app/bundle.js renders, after `renderDelayMs`, that path's heading,
// paragraphs and links to other /app/ paths (history routing: plain hrefs a
// click handler turns into pushState), so an app page's content and links exist
// only in the rendered DOM. A few /static/ pages are ordinary HTML linking into
// the app and back. Every request is recorded (path and headers), so a test
// tells how often the worker and the browser asked for a path. With
// `hostileTarget`, two more app pages aim at that URL (a loopback alias outside
// SSRF_ALLOW): one with fetch, XHR, WebSocket, EventSource, beacon, image and
// iframe, one by navigating there; `listenTrap` records whether anything came.
// No vitest here: the bench imports this module.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';

export interface SpaSiteOptions {
  /** App pages: /app/ and /app/page-1 ... /app/page-(pages-1), in a tree of `fanOut` children each. */
  pages: number;
  /** Static pages: /static/ and /static/page-1.html ... (default 3, at least 1). */
  staticPages?: number;
  /** How long the bundle waits before it renders a page, in ms (default 75). */
  renderDelayMs?: number;
  /** Extra latency of every response, in ms (default 0). */
  latencyMs?: number;
  /** Links from an app page to its child app pages (default 3). */
  fanOut?: number;
  /** Add /app/hostile-requests and /app/hostile-navigation, aiming at this URL (e.g. `http://127.0.0.2:PORT/`). */
  hostileTarget?: string;
  /** Serve /sitemap.xml listing every app and static page (default: no sitemap, 404), so a crawl that does not render reaches the app pages too. */
  sitemap?: boolean;
  /** Listen on this port (default: any free one) of 127.0.0.1. */
  port?: number;
}

export interface SpaRequest {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
}

export interface SpaSite {
  origin: string;
  /** The crawl's start URL: the static home page, which links into the app. */
  start: string;
  /** The app's entry point (linked from every static page). */
  appStart: string;
  /** Every app page URL a full rendered crawl stores (hostile pages not included). */
  appUrls: string[];
  /** Every static page URL. */
  staticUrls: string[];
  /** The hostile app pages (requests, navigation); empty without `hostileTarget`. */
  hostileUrls: string[];
  /** The heading the bundle writes on an app URL (never in the shell). */
  heading(url: string): string;
  /** Every request so far, in order (a path includes its query). */
  readonly requests: readonly SpaRequest[];
  /** Requests so far for `path` (of a URL of this site or a path), optionally only those `match` accepts. */
  count(pathOrUrl: string, match?: (request: SpaRequest) => boolean): number;
  /** The node:http handler, to serve the site from another server. */
  handler(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

export const SPA_SHELL_TEXT = 'You need to enable JavaScript to run this app.';
const BUNDLE_PATH = '/app/bundle.js';
export const HOSTILE_REQUESTS_PATH = '/app/hostile-requests';
export const HOSTILE_NAVIGATION_PATH = '/app/hostile-navigation';

export function appPath(i: number): string {
  return i === 0 ? '/app/' : `/app/page-${i}`;
}

export function staticPath(i: number): string {
  return i === 0 ? '/static/' : `/static/page-${i}.html`;
}

/** The heading of app page `i`: a token no shell, static page or unrendered fetch contains. */
export function appHeading(i: number): string {
  return `Rendered app page ${i}`;
}

const SHELL = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Docs app</title></head><body>
<div id="root"></div><noscript>${SPA_SHELL_TEXT}</noscript><script src="${BUNDLE_PATH}"></script>
</body></html>`;

/**
 * The bundle: routes on location.pathname, renders after `delay`, and handles
 * clicks on its own links with pushState (history routing). Page data comes
 * from the same rules the server knows (`appHeading`, the tree), inlined.
 */
function bundle(config: { pages: number; fanOut: number; delay: number; hostileTarget: string | null }): string {
  return `(function () {
  var C = ${JSON.stringify(config)};
  var HOSTILE_REQUESTS = ${JSON.stringify(HOSTILE_REQUESTS_PATH)}, HOSTILE_NAVIGATION = ${JSON.stringify(HOSTILE_NAVIGATION_PATH)};
  function path(i) { return i === 0 ? '/app/' : '/app/page-' + i; }
  function index(p) {
    if (p === '/app/' || p === '/app') return 0;
    var m = /^\\/app\\/page-(\\d+)$/.exec(p);
    return m && Number(m[1]) < C.pages ? Number(m[1]) : -1;
  }
  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text) e.textContent = text;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  function attack(target) {
    var ws = target.replace(/^http/, 'ws');
    try { fetch(target + 'fetch').catch(function () {}); } catch (e) {}
    try { fetch(target + 'no-cors', { mode: 'no-cors' }).catch(function () {}); } catch (e) {}
    try { var x = new XMLHttpRequest(); x.open('GET', target + 'xhr'); x.send(); } catch (e) {}
    try { new WebSocket(ws + 'socket'); } catch (e) {}
    try { new EventSource(target + 'events'); } catch (e) {}
    try { navigator.sendBeacon(target + 'beacon', 'x'); } catch (e) {}
    var img = new Image(); img.src = target + 'img.png'; document.body.appendChild(img);
    document.body.appendChild(el('iframe', '', { src: target + 'frame' }));
    document.head.appendChild(el('link', '', { rel: 'stylesheet', href: target + 'style.css' }));
  }
  function render() {
    var p = location.pathname, root = document.getElementById('root');
    root.innerHTML = '';
    var main = el('main');
    if ((p === HOSTILE_REQUESTS || p === HOSTILE_NAVIGATION) && C.hostileTarget) {
      document.title = p === HOSTILE_REQUESTS ? 'Hostile requests' : 'Hostile navigation';
      main.appendChild(el('h1', document.title));
      main.appendChild(el('p', 'This page tries to reach an address the crawler must never connect to.'));
      root.appendChild(main);
      if (p === HOSTILE_REQUESTS) attack(C.hostileTarget);
      else setTimeout(function () { location.href = C.hostileTarget + 'navigation'; }, 10);
      return;
    }
    var i = index(p);
    if (i < 0) {
      document.title = 'Not found';
      main.appendChild(el('h1', 'Page not found'));
      root.appendChild(main);
      return;
    }
    var heading = 'Rendered app page ' + i;
    document.title = 'App page ' + i;
    main.appendChild(el('h1', heading));
    main.appendChild(el('p', heading + ' explains one part of the product: what it does, how to set it up, and what to check when it misbehaves.'));
    main.appendChild(el('p', 'Each section of this guide was written for readers who arrive from a search engine and need the answer on the page itself.'));
    var ul = el('ul');
    var links = [];
    for (var k = 1; k <= C.fanOut; k++) if (i * C.fanOut + k < C.pages) links.push(path(i * C.fanOut + k));
    if (i > 0) links.push(path(Math.floor((i - 1) / C.fanOut)));
    links.push('/static/');
    links.forEach(function (href) {
      var li = el('li');
      li.appendChild(el('a', href, { href: href }));
      ul.appendChild(li);
    });
    main.appendChild(ul);
    root.appendChild(main);
  }
  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a');
    if (!a || a.origin !== location.origin || a.pathname.indexOf('/app/') !== 0) return;
    e.preventDefault();
    history.pushState(null, '', a.pathname);
    setTimeout(render, C.delay);
  });
  window.addEventListener('popstate', function () { setTimeout(render, C.delay); });
  setTimeout(render, C.delay);
})();
`;
}

function staticPage(i: number, statics: number, hostile: boolean): string {
  const links = [appPath(0)];
  if (i === 0) {
    for (let k = 1; k < statics; k++) links.push(staticPath(k));
    if (hostile) links.push(HOSTILE_REQUESTS_PATH, HOSTILE_NAVIGATION_PATH);
  } else links.push(staticPath(0));
  const nav = links.map((href) => `<li><a href="${href}">${href}</a></li>`).join('');
  const title = i === 0 ? 'Static home' : `Static page ${i}`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>
<main><h1>${title}</h1><p>${title} is ordinary HTML: its text and links are in the document the server sends, no script needed.</p>
<p>The application part of these docs starts at the app's home page, linked below with the other static pages.</p>
<ul>${nav}</ul></main></body></html>`;
}

export async function spaSite(options: SpaSiteOptions): Promise<SpaSite> {
  const pages = options.pages;
  const statics = Math.max(1, options.staticPages ?? 3);
  const fanOut = options.fanOut ?? 3;
  const hostileTarget = options.hostileTarget ?? null;
  const script = bundle({ pages, fanOut, delay: options.renderDelayMs ?? 75, hostileTarget });
  const requests: SpaRequest[] = [];

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    const reply = () => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (options.latencyMs) setTimeout(reply, options.latencyMs);
    else reply();
  };
  const staticIndex = (path: string) => {
    for (let i = 0; i < statics; i++) if (staticPath(i) === path) return i;
    return -1;
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    requests.push({ path: url, method: req.method ?? 'GET', headers: req.headers });
    const path = new URL(url, 'http://x').pathname;
    if (path === '/robots.txt') return send(res, 200, 'text/plain', 'User-agent: *\nAllow: /\n');
    if (path === '/sitemap.xml' && options.sitemap) {
      const host = `http://${req.headers.host ?? '127.0.0.1'}`;
      const paths = [...Array.from({ length: statics }, (_, i) => staticPath(i)), ...Array.from({ length: pages }, (_, i) => appPath(i))];
      const urls = paths.map((p) => `<url><loc>${host}${p}</loc></url>`).join('');
      return send(res, 200, 'application/xml', `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>`);
    }
    if (path === BUNDLE_PATH) return send(res, 200, 'text/javascript; charset=utf-8', script);
    if (path.startsWith('/app/') || path === '/app') return send(res, 200, 'text/html; charset=utf-8', SHELL);
    const s = staticIndex(path);
    if (s >= 0) return send(res, 200, 'text/html; charset=utf-8', staticPage(s, statics, hostileTarget !== null));
    send(res, 404, 'text/plain', 'not found');
  };

  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const pathOf = (pathOrUrl: string) => (pathOrUrl.startsWith(origin) ? pathOrUrl.slice(origin.length) || '/' : pathOrUrl);
  return {
    origin,
    start: `${origin}${staticPath(0)}`,
    appStart: `${origin}${appPath(0)}`,
    appUrls: Array.from({ length: pages }, (_, i) => `${origin}${appPath(i)}`),
    staticUrls: Array.from({ length: statics }, (_, i) => `${origin}${staticPath(i)}`),
    hostileUrls: hostileTarget ? [`${origin}${HOSTILE_REQUESTS_PATH}`, `${origin}${HOSTILE_NAVIGATION_PATH}`] : [],
    heading(url) {
      const path = pathOf(url);
      for (let i = 0; i < pages; i++) if (appPath(i) === path) return appHeading(i);
      throw new Error(`not an app page: ${url}`);
    },
    requests,
    count(pathOrUrl, match) {
      const path = pathOf(pathOrUrl);
      return requests.filter((r) => r.path === path && (!match || match(r))).length;
    },
    handler,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Trap {
  /** `http://<host>:<port>/`, the URL hostile pages aim at. */
  url: string;
  host: string;
  port: number;
  /** TCP connections accepted so far (anything that reached the address). */
  readonly connections: number;
  /** The first line each connection sent (`GET /fetch HTTP/1.1`), for connections that sent one. */
  readonly requestLines: readonly string[];
  close(): Promise<void>;
}

/**
 * A TCP listener on an address that must stay unreachable (a loopback alias
 * outside SSRF_ALLOW, 127.0.0.2 by default), counting every connection and
 * keeping its first line; it never answers.
 */
export async function listenTrap(host = '127.0.0.2', port = 0): Promise<Trap> {
  const sockets = new Set<Socket>();
  const requestLines: string[] = [];
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections++;
    sockets.add(socket);
    let head = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n');
      if (end >= 0 || head.length > 4096) {
        requestLines.push(head.slice(0, end >= 0 ? end : 200));
        socket.destroy();
      }
    });
    socket.setTimeout(2000, () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}/`,
    host,
    port: bound,
    get connections() {
      return connections;
    },
    requestLines,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
