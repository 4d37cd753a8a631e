// Loopback fixture sites for the renderer tests: an app shell whose script
// renders each path's content after ~100 ms (what a fetch alone never sees),
// pages whose script tries to reach another loopback address, and a server on
// 127.0.0.2 that counts every connection made to it.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Spa {
  origin: string;
  /** Requests per path (query dropped). */
  hits: Map<string, number>;
  /** The request headers of the last request per path. */
  seen: Map<string, IncomingHttpHeaders>;
  /** Every request's path, in the order they arrived. */
  order: string[];
  close(): Promise<void>;
}

const listen = (server: Server, host: string) =>
  new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));
const shut = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

/** The shell every path serves; `/slow/...` pages load a bundle the server holds back for `slowMs`. */
function shell(path: string): string {
  const bundle = path.startsWith('/slow/')
    ? '/app.js?slow=1'
    : path.startsWith('/attack/')
      ? `/attack.js?case=${path.split('/')[2]}`
      : path.startsWith('/busy/')
        ? '/busy.js'
        : path.startsWith('/api/')
          ? '/api.js'
          : path.startsWith('/poll/')
            ? '/poll.js'
            : path.startsWith('/popup/')
              ? '/popup.js'
              : '/app.js';
  return `<!doctype html><html><head><title>shell</title>
<style>@font-face{font-family:Fx;src:url(/font.woff2)} body{font-family:Fx}</style></head>
<body><div id="root"></div><noscript>This app needs JavaScript.</noscript>
<img src="/logo.png" alt="logo"><script src="${bundle}"></script></body></html>`;
}

const APP_JS = `
setTimeout(function () {
  var path = location.pathname;
  var root = document.getElementById('root');
  root.innerHTML = '<h1>Heading of ' + path + '</h1><p>Rendered text for ' + path + '.</p>' +
    '<a href="' + path + '/child-a">child a</a> <a href="' + path + '/child-b">child b</a>';
  if (path.indexOf('/big') === 0) root.appendChild(document.createTextNode(new Array(4001).join('big ')));
  var sw = document.createElement('p');
  sw.id = 'sw';
  sw.textContent = 'sw: pending';
  root.appendChild(sw);
  var img = new Image(); img.src = '/late.png'; root.appendChild(img);
  if (navigator.serviceWorker) {
    navigator.serviceWorker.register('/sw.js').then(
      function () { sw.textContent = 'sw: registered'; },
      function (e) { sw.textContent = 'sw: refused ' + e.name; });
  } else sw.textContent = 'sw: unavailable';
}, 100);
`;

/** The script of /attack/<case>: reaches for `target` (http://127.0.0.2:port) in one way, then renders "attack done". */
function attackJs(kind: string, target: string): string {
  const ws = target.replace('http:', 'ws:');
  const attempts: Record<string, string> = {
    subresources: `
      fetch('${target}/fetch').catch(function () {});
      var x = new XMLHttpRequest(); x.open('GET', '${target}/xhr'); x.onerror = function () {}; x.send();
      try { new WebSocket('${ws}/ws'); } catch (e) {}
      var i = document.createElement('img'); i.src = '${target}/img.png'; document.body.appendChild(i);
      var f = document.createElement('iframe'); f.src = '${target}/frame'; document.body.appendChild(f);`,
    websocket: `try { new WebSocket('${ws}/ws'); } catch (e) {}`,
    navigate: `setTimeout(function () { location.href = '${target}/'; }, 50);`,
  };
  return `document.getElementById('root').innerHTML = '<h1>attack done</h1>';${attempts[kind] ?? ''}`;
}

/** Keeps the network busy for good (a request that never ends) and renders #ready after 200 ms. */
const BUSY_JS = `
fetch('/hang').catch(function () {});
setTimeout(function () { document.getElementById('root').innerHTML = '<h1 id="ready">busy page ready</h1>'; }, 200);
`;

/** Renders its heading, then asks for /poll-ping every 50 ms for as long as the document lives. */
const POLL_JS = `
document.getElementById('root').innerHTML = '<h1 id="polling">polling page</h1>';
setInterval(function () { fetch('/poll-ping').catch(function () {}); }, 50);
`;

/** Opens popups (window.open, a target=_blank link clicked, noopener) at /popup-target, then renders "popups tried". */
const POPUP_JS = `
try { window.open('/popup-target?via=open'); } catch (e) {}
try { window.open('/popup-target?via=noopener', '_blank', 'noopener'); } catch (e) {}
var a = document.createElement('a'); a.href = '/popup-target?via=link'; a.target = '_blank'; document.body.appendChild(a); a.click();
setTimeout(function () { document.getElementById('root').innerHTML = '<h1>popups tried</h1>'; }, 300);
`;

/** Calls the page's own API (one path robots.txt disallows) and a third-party origin, then renders "api done". */
function apiJs(thirdParty: string): string {
  return `
Promise.all(['/private-api/data', '/public-api/data', '${thirdParty}/third'].map(function (u) {
  return fetch(u).then(function (r) { return r.text(); }, function () { return 'refused'; });
})).then(function (texts) {
  document.getElementById('root').innerHTML = '<h1>api done</h1><p id="answers">' + texts.join(' | ') + '</p>';
});`;
}

/** `heldMs`: how long the documents under /held/ are held back (default 1 s). */
export async function startSpa(options: { target?: string; slowMs?: number; thirdParty?: string; heldMs?: number } = {}): Promise<Spa> {
  const hits = new Map<string, number>();
  const seen = new Map<string, IncomingHttpHeaders>();
  const order: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    seen.set(url.pathname, req.headers);
    order.push(url.pathname);
    if (url.pathname === '/hang') return; // never answered
    if (url.pathname.startsWith('/held/')) {
      setTimeout(() => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(shell(url.pathname)), options.heldMs ?? 1_000);
    } else if (url.pathname === '/popup.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(POPUP_JS);
    } else if (url.pathname === '/poll.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(POLL_JS);
    } else if (url.pathname === '/poll-ping') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('pong');
    } else if (url.pathname === '/busy.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(BUSY_JS);
    } else if (url.pathname === '/api.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(apiJs(options.thirdParty ?? ''));
    } else if (url.pathname.endsWith('-api/data') || url.pathname === '/third') {
      res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' }).end(`answer of ${url.pathname}`);
    } else if (url.pathname === '/app.js') {
      const send = () => res.writeHead(200, { 'content-type': 'text/javascript' }).end(APP_JS);
      if (url.searchParams.has('slow')) setTimeout(send, options.slowMs ?? 3_000);
      else send();
    } else if (url.pathname === '/attack.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(attackJs(url.searchParams.get('case') ?? '', options.target ?? ''));
    } else if (url.pathname === '/sw.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end('self.addEventListener("fetch", function () {});');
    } else if (url.pathname === '/robots.txt') {
      res.writeHead(404).end();
    } else if (/\.(png|woff2)$/.test(url.pathname)) {
      res.writeHead(200, { 'content-type': url.pathname.endsWith('.png') ? 'image/png' : 'font/woff2' }).end('x');
    } else if (url.pathname.startsWith('/status/')) {
      res.writeHead(Number(url.pathname.slice(8)), { 'content-type': 'text/html' }).end('<p>status page</p>');
    } else {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(shell(url.pathname));
    }
  });
  const port = await listen(server, '127.0.0.1');
  return { origin: `http://127.0.0.1:${port}`, hits, seen, order, close: () => shut(server) };
}

export interface Counter {
  origin: string;
  /** TCP connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A server on 127.0.0.2 that counts connections (a private address the renderer must not reach). */
export async function startCounter(): Promise<Counter> {
  let connections = 0;
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>private</h1>'));
  server.on('connection', () => connections++);
  server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  const port = await listen(server, '127.0.0.2');
  return {
    origin: `http://127.0.0.2:${port}`,
    get connections() {
      return connections;
    },
    close: () => shut(server),
  };
}
