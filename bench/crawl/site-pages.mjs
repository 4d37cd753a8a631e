// The benchmark sites' pages (site.mjs serves them, extract-only.mjs converts
// them): docs markup under /docs/, a 10-ary tree with navigation links
// (cycles). Two sizes: `large` (~3.2 KB, 18 paragraphs: the site bench/crawl
// always had) and `small` (~2 KB, 10 paragraphs: short reference pages, where
// the fixed cost per page dominates).
export const PARAGRAPHS = { large: 18, small: 10 };
const filler = (i, size) =>
  Array.from(
    { length: PARAGRAPHS[size] },
    (_, k) =>
      `<p>Section ${k} of page ${i}: the <code>configure()</code> call takes an <em>options</em> object; see <a href="#s${k}">the notes</a> before upgrading.</p>`,
  ).join('');
export const path = (i) => (i === 0 ? '/docs/' : `/docs/p${i}.html`);
export function page(i, PAGES, size = 'large') {
  const links = [];
  for (let k = 1; k <= 10; k++) if (i * 10 + k < PAGES) links.push(path(i * 10 + k));
  if (i > 0) links.push(path(Math.floor((i - 1) / 10)), path(i - 1));
  if (i + 1 < PAGES) links.push(path(i + 1));
  const nav = links.map((href) => `<li><a href="${href}">${href}</a></li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Page ${i}</title></head><body>
<header><nav><a href="/docs/">Home</a></nav></header><main><h1>Page ${i}</h1>${filler(i, size)}
<pre><code class="language-js">const page = ${i};\nconsole.log(page);</code></pre><ul>${nav}</ul></main>
<footer>© docs</footer></body></html>`;
}
