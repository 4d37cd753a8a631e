// The benchmark's documentation site, in its own process so that serving it
// costs every crawler alike: PAGES pages of ~12 KB under /docs/, a 10-ary tree
// with navigation links (cycles), prints its origin on stdout.
import { createServer } from 'node:http';

const PAGES = Number(process.argv[2] ?? 2000);
const filler = (i) =>
  Array.from(
    { length: 18 },
    (_, k) =>
      `<p>Section ${k} of page ${i}: the <code>configure()</code> call takes an <em>options</em> object; see <a href="#s${k}">the notes</a> before upgrading.</p>`,
  ).join('');
const path = (i) => (i === 0 ? '/docs/' : `/docs/p${i}.html`);
function page(i) {
  const links = [];
  for (let k = 1; k <= 10; k++) if (i * 10 + k < PAGES) links.push(path(i * 10 + k));
  if (i > 0) links.push(path(Math.floor((i - 1) / 10)), path(i - 1));
  if (i + 1 < PAGES) links.push(path(i + 1));
  const nav = links.map((href) => `<li><a href="${href}">${href}</a></li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Page ${i}</title></head><body>
<header><nav><a href="/docs/">Home</a></nav></header><main><h1>Page ${i}</h1>${filler(i)}
<pre><code class="language-js">const page = ${i};\nconsole.log(page);</code></pre><ul>${nav}</ul></main>
<footer>© docs</footer></body></html>`;
}
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
    body = page(i);
    cache.set(i, body);
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(body);
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}\n`));
