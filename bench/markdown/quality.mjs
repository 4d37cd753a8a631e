// Markdown quality on hand-written pages shaped like real documentation
// generators (fixtures/*.html: Sphinx, DocBook, Docusaurus, MkDocs) and on a
// generated site with known boilerplate, each checked against a hand-labelled
// expectation (fixtures/*.json: headings, code blocks, table cells and text
// that must be kept, navigation strings that must be gone), and on a
// generated site whose pages share short boilerplate lines (repeated-block
// removal, before and after). Run:
// node bench/markdown/quality.mjs [--show]. run.mjs prints it after the speed table.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractPage, RepeatedBlocks, withoutRepeatedBlocks } from '@crawlstream/pipeline';
import { REPEATED_BLOCK_PAGES } from '@crawlstream/shared';

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

/**
 * A generated site of SITE_PAGES pages whose content carries blocks that no
 * tag, class or link-density rule can tell from prose, the same on every page:
 * three short boilerplate lines, which repeated-block removal should drop
 * from every page after the first REPEATED_BLOCK_PAGES - 1, and content that
 * repeats too: an introduction (two paragraphs over REPEATED_BLOCK_MAX_CHARS)
 * and an admonition's "Note" label (under REPEATED_BLOCK_MIN_WORDS).
 */
const SITE_PAGES = 40;
const boilerplate = {
  'helpful?': 'Was this page helpful? Yes No',
  copyright: '© 2026 Example Corp. Content licensed under CC BY 4.0.',
  'edit (plain text)': 'Found a mistake? Edit this page on GitHub and send us a pull request.',
};
const intro = [
  'This guide belongs to the Example platform documentation. It assumes you have installed the command line tools and signed in to your account, as the getting started chapter explains, and that you have a project to try the examples on.',
  'Every example can be run as it is: copy it into a terminal at the root of your project. Where an example needs a setting of its own, the setting is named in the text before it, with the values it accepts and the default it has.',
];
function repeatedPage(seed) {
  const extra = `<p>${intro[0]}</p><p>${intro[1]}</p><div class="admonition note"><p class="admonition-title">Note</p><p>What page ${seed} notes.</p></div>`;
  const tail = Object.values(boilerplate).map((text) => `<p>${text}</p>`).join('');
  // Each page's own paragraphs (generatedPage's are the same on every page, which would make them repeated blocks).
  return generatedPage(seed)
    .replaceAll('Paragraph about topic ', `Paragraph of page ${seed} about topic `)
    .replace(`<h1>Page ${seed}</h1>`, `<h1>Page ${seed}</h1>${extra}`)
    .replace('<div class="prev-next">', `${tail}<div class="prev-next">`);
}
const blocks = new RepeatedBlocks();
const counts = Object.fromEntries(
  [...Object.keys(boilerplate), 'intro (content)', 'label "Note" (content)', 'own content intact'].map((key) => [key, { before: 0, after: 0 }]),
);
for (let seed = 1; seed <= SITE_PAGES; seed++) {
  const url = `https://site.test/p${seed}`;
  const before = extractPage(repeatedPage(seed), url);
  const after = withoutRepeatedBlocks(before, url, blocks);
  for (const [when, page] of [['before', before], ['after', after]]) {
    for (const [key, text] of Object.entries(boilerplate)) if (page.markdown.includes(text)) counts[key][when]++;
    if (intro.every((text) => page.markdown.includes(text))) counts['intro (content)'][when]++;
    if (page.markdown.includes(`\n\nNote\n\nWhat page ${seed} notes.`)) counts['label "Note" (content)'][when]++;
    const own = [`# Page ${seed}`, `## Topic ${seed}.0`, `Paragraph of page ${seed} about topic 2`, '```go\nfunc Topic0() {}\n```', '| key0 | value0 |', '| other2 | more2 |'];
    if (own.every((text) => page.markdown.includes(text))) counts['own content intact'][when]++;
  }
  if (show && seed === SITE_PAGES) console.log(`----- repeated site, page ${seed} after -----\n${after.markdown}\n`);
}
console.log(
  `Repeated blocks: pages of ${SITE_PAGES} (one process) carrying each block, before and after removal (REPEATED_BLOCK_PAGES ${REPEATED_BLOCK_PAGES})`,
);
console.table(counts);
