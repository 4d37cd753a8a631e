// The benchmark's documentation site, in its own process so that serving it
// costs every crawler alike: PAGES pages of one size (site-pages.mjs) under
// /docs/, a 10-ary tree with navigation links (cycles), prints its origin on
// stdout. argv: pages, size (large | small).
import { createServer } from 'node:http';
import { page } from './site-pages.mjs';

const PAGES = Number(process.argv[2] ?? 2000);
const SIZE = process.argv[3] ?? 'large';
const cache = new Map();
const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/robots.txt') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('User-agent: *\nAllow: /\n');
    return;
  }
  const m = url.pathname === '/docs/' ? [0, 0] : /^\/docs\/p(\d+)\.html$/.exec(url.pathname);
  const i = m ? Number(m[1]) : -1;
  if (i < 0 || i >= PAGES) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return;
  }
  let body = cache.get(i);
  if (!body) {
    body = page(i, PAGES, SIZE);
    cache.set(i, body);
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(body);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
