// Markdown quality on hand-written pages shaped like real documentation
// generators (fixtures/*.html: Sphinx, DocBook, Docusaurus, MkDocs) and on a
// generated site with known boilerplate, each checked against a hand-labelled
// expectation (fixtures/*.json: headings, code blocks, table cells and text
// that must be kept, navigation strings that must be gone). Run:
// node bench/markdown/quality.mjs [--show]. run.mjs prints it after the speed table.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractPage } from '@crawlstream/pipeline';

const here = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A generated docs site page: chrome made of divs with navigation-like classes, no <main>. */
export function generatedPage(seed) {
  const sections = [];
  for (let s = 0; s < 3; s++) {
    sections.push(
      `<h2>Topic ${seed}.${s}</h2><p>Paragraph about topic ${s}, with <a href="/ref/${s}">a reference</a> inside a long enough sentence to be prose.</p>`,
      `<pre class="lang-go"><code>\n\nfunc Topic${s}() {}\n\n</code></pre>`,
      `<table><tr><td>key${s}</td><td>value${s}</td></tr><tr><td>other${s}</td><td>more${s}</td></tr></table>`,
    );
  }
  return `<html><head><title>Page ${seed}</title></head><body>
<div class="site-header"><a href="/">Site</a> <a href="/docs">Docs</a></div>
<div class="breadcrumbs"><a href="/">Home</a> › <a href="/docs">Docs</a> › Page ${seed}</div>
<div id="sidebar"><ul><li><a href="/a">Sidebar A</a></li><li><a href="/b">Sidebar B</a></li></ul></div>
<div class="content"><h1>Page ${seed}</h1>${sections.join('\n')}
<div class="prev-next"><a href="/p${seed - 1}">« Previous page</a> <a href="/p${seed + 1}">Next page »</a></div></div>
<table class="links"><tr><td><a href="/x">Terms</a></td><td><a href="/y">Privacy</a></td><td><a href="/z">Status</a></td></tr></table>
<div class="footer-row">© 2026 Example Corp</div>
</body></html>`;
}

const generatedExpectation = {
  headings: ['# Page 1', '## Topic 1.0', '## Topic 1.2'],
  code: ['```go\nfunc Topic0() {}\n```', '```go\nfunc Topic2() {}\n```'],
  cells: ['key0', 'value0', 'other2', 'more2'],
  text: ['Paragraph about topic 1, with [a reference](https://site.test/ref/1)'],
  gone: ['Sidebar A', 'Previous page', 'Next page', 'Terms', 'Privacy', 'Example Corp', 'Home'],
};

/** `<tag`, `</tag` or `<!` outside fenced code and inline code spans. */
export function rawHtmlCount(markdown) {
  const prose = markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1`*$/gm, '').replace(/(`+)[^`]*?\1/g, '');
  return (prose.match(/(?<!\\)<\/?[A-Za-z!]/g) ?? []).length;
}

function cellsOf(markdown) {
  const cells = new Set();
  for (const line of markdown.split('\n')) {
    if (!/^\|.*\|$/.test(line)) continue;
    for (const cell of line.slice(1, -1).split(/(?<!\\)\|/)) cells.add(cell.trim());
  }
  return cells;
}

function score(markdown, expected) {
  const has = (s) => markdown.includes(s);
  const lines = new Set(markdown.split('\n'));
  const cells = cellsOf(markdown);
  const count = (list, test) => `${list.filter(test).length}/${list.length}`;
  return {
    'raw HTML': rawHtmlCount(markdown),
    'nav left': `${expected.gone.filter(has).length}/${expected.gone.length}`,
    headings: count(expected.headings, (h) => lines.has(h)),
    'code blocks': count(expected.code, has),
    'table cells': count(expected.cells, (c) => cells.has(c)),
    text: count(expected.text, has),
    'leftover nav': expected.gone.filter(has).join(', '),
  };
}

const rows = {};
const show = process.argv.includes('--show');
for (const file of readdirSync(here).filter((f) => f.endsWith('.html')).sort()) {
  const name = file.replace(/\.html$/, '');
  const expected = JSON.parse(readFileSync(join(here, `${name}.json`), 'utf8'));
  const { markdown } = extractPage(readFileSync(join(here, file), 'utf8'), `https://docs.test/${name}/page.html`);
  rows[name] = score(markdown, expected);
  if (show) console.log(`----- ${name} -----\n${markdown}\n`);
}
const generated = extractPage(generatedPage(1), 'https://site.test/p1');
rows['generated site'] = score(generated.markdown, generatedExpectation);
if (show) console.log(`----- generated -----\n${generated.markdown}\n`);
console.log('Markdown quality (raw HTML: count, lower is better; nav left: navigation strings still present; others: kept/expected)');
console.table(rows);
