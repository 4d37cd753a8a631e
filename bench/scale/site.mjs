// bench/scale's site, in its own process: SECTIONS sections of PAGES pages
// each, section k under /s<k>/, every page the markup of bench/crawl's small
// site (site-pages.mjs: a 10-ary tree with navigation links, cycles) with its
// links inside its own section, so a crawl started at /s<k>/ (scope `prefix`)
// finds exactly PAGES pages. Prints its origin on stdout. argv: sections, pages.
import { createServer } from 'node:http';
import { page } from '../crawl/site-pages.mjs';

const SECTIONS = Number(process.argv[2] ?? 1000);
const PAGES = Number(process.argv[3] ?? 20);
const cache = new Map();
const server = createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://x');
  if (pathname === '/robots.txt') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('User-agent: *\nAllow: /\n');
    return;
  }
  const m = /^\/s(\d+)\/(?:p(\d+)\.html)?$/.exec(pathname);
  const section = m ? Number(m[1]) : -1;
  const i = m ? Number(m[2] ?? 0) : -1;
  if (section < 0 || section >= SECTIONS || i < 0 || i >= PAGES || (m[2] !== undefined && i === 0)) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return;
  }
  let body = cache.get(pathname);
  if (!body) {
    body = page(i, PAGES, 'small').replaceAll('/docs/', `/s${section}/`);
    cache.set(pathname, body);
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(body);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
