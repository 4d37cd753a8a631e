// HTML-to-markdown converters side by side on generated documentation pages:
// pages per second, and whether each keeps what docs need (headings, fenced
// code with its language, links, lists, tables). It decided the converter of
// packages/pipeline/src/extract.ts. Run: npm run bench -- markdown
// (BENCH_ROUNDS=n for more rounds, --show to print the converted sample).
// The crawlstream row is the worker's own path: the page parsed once by
// cheerio, and turndown reading that tree (no second parse). Then
// quality.mjs: the worker's extraction on pages shaped like Sphinx, DocBook,
// Docusaurus and MkDocs output and a generated site, against hand-labelled
// expectations (raw HTML left, navigation left, content kept).
import { markdownOf } from '@crawlstream/pipeline';
import * as cheerio from 'cheerio';
import { NodeHtmlMarkdown } from 'node-html-markdown';
import TurndownService from 'turndown';
import { gfm } from 'turndown-plugin-gfm';

/** A documentation page's main content of about `kb` KB, different for each `seed`. */
function docsPage(seed, kb, highlighted = true) {
  const parts = [`<h1>Guide ${seed}</h1>`];
  for (let section = 0; parts.join('').length < kb * 1024; section++) {
    parts.push(
      `<h2 id="s${section}">Section ${section} of page ${seed}<a class="headerlink" href="#s${section}" title="Permalink">¶</a></h2>`,
      `<p>The <code>configure()</code> call takes an <em>options</em> object; see <a href="/docs/api/${seed}/${section}.html">the API reference</a> and <strong>read the notes</strong> before upgrading from version ${section}.</p>`,
      '<ul><li>First point, with <a href="../intro.html">a link</a></li><li>Second point<ul><li>nested item</li></ul></li><li>Third point</li></ul>',
      `<pre><code class="language-python">def handler(event, context):\n    value = event["key_${section}"]\n    if value &lt; 10:\n        return {"ok": True}\n    return None\n</code></pre>`,
      // Pygments-style highlighting, as Sphinx and MkDocs emit it: one span per token.
      // extract.ts strips the spans before converting (highlighted = false).
      highlighted
        ? `<div class="highlight"><pre><code class="language-js"><span class="kd">const</span> <span class="nx">client</span> <span class="o">=</span> <span class="k">new</span> <span class="nx">Client</span><span class="p">({</span> <span class="nx">retries</span><span class="o">:</span> <span class="mi">${section}</span> <span class="p">});</span>\n<span class="k">await</span> <span class="nx">client</span><span class="p">.</span><span class="nx">connect</span><span class="p">();</span>\n</code></pre></div>`
        : `<pre><code class="language-js">const client = new Client({ retries: ${section} });\nawait client.connect();\n</code></pre>`,
      '<ol><li>Install the package</li><li>Import it</li><li>Call it</li></ol>',
      `<table><thead><tr><th>Option</th><th>Default</th><th>Meaning</th></tr></thead><tbody><tr><td><code>timeout</code></td><td>${section}</td><td>Seconds to wait</td></tr><tr><td><code>retries</code></td><td>3</td><td>Attempts before giving up</td></tr></tbody></table>`,
      `<blockquote><p>Note: section ${section} changed in 2.0.</p></blockquote>`,
      '<pre><code class="language-markdown">Write code as:\n```js\nrun()\n```\n</code></pre>',
      // A Sphinx API entry: definition lists and a span per signature token.
      `<dl class="py function"><dt class="sig sig-object py" id="mod.connect${section}"><span class="sig-prename descclassname"><span class="pre">mod.</span></span><span class="sig-name descname"><span class="pre">connect</span></span><span class="sig-paren">(</span><em class="sig-param"><span class="n"><span class="pre">host</span></span></em>, <em class="sig-param"><span class="n"><span class="pre">port</span></span><span class="o"><span class="pre">=</span></span><span class="default_value"><span class="pre">${section}</span></span></em><span class="sig-paren">)</span><a class="headerlink" href="#mod.connect${section}" title="Link to this definition">¶</a></dt><dd><p>Open a connection to <em>host</em>.</p><dl class="field-list simple"><dt class="field-odd">Parameters<span class="colon">:</span></dt><dd class="field-odd"><ul class="simple"><li><p><strong>host</strong> (<a class="reference internal" href="#str"><em>str</em></a>) – the server</p></li><li><p><strong>port</strong> (<a class="reference internal" href="#int"><em>int</em></a>) – the port</p></li></ul></dd></dl></dd></dl>`,
    );
  }
  return parts.join('\n');
}

const turndown = new TurndownService({
  headingStyle: 'atx',
  codeBlockStyle: 'fenced',
  bulletListMarker: '-',
});
turndown.use(gfm);
const nhm = new NodeHtmlMarkdown({ codeFence: '```', bulletMarker: '-' });
// node-html-markdown drops inline code marks in table cells unless told otherwise.
const nhmCells = new NodeHtmlMarkdown({ codeFence: '```', bulletMarker: '-' });
nhmCells.tableCellTranslators.set('code', nhmCells.translators.get('code'));

const converters = {
  turndown: (html) => turndown.turndown(html),
  // What the worker runs: cheerio parses (once per page, links come from the
  // same tree), code blocks are rewritten, turndown reads the tree directly.
  'crawlstream (cheerio tree + turndown)': (html) =>
    markdownOf(cheerio.load(html, { xml: { xmlMode: false, decodeEntities: true } }), 'https://docs.test/guide/'),
  'node-html-markdown': (html) => nhm.translate(html),
  'node-html-markdown + cell code': (html) => nhmCells.translate(html),
};

const checks = {
  'atx heading': (md) => /^## Section 0 of page 0/m.test(md),
  'fenced code + language': (md) => /```python\ndef handler/.test(md),
  'code entity decoded': (md) => md.includes('if value < 10'),
  link: (md) => /\[the API reference\]\((?:https:\/\/docs\.test)?\/docs\/api\//.test(md),
  'nested list': (md) => /^\s{2,4}-\s+nested item/m.test(md),
  'highlighted code kept whole': (md) => md.includes('const client = new Client({ retries: 0 });'),
  'inline code in table': (md) => /\|\s*`timeout`\s*\|/.test(md),
  'fence inside code': (md) => md.includes('````markdown\nWrite code as:\n```js\nrun()\n```\n````'),
  'ordered list': (md) => /^1\.\s+Install the package/m.test(md),
  table: (md) => /\|\s*Option\s*\|\s*Default\s*\|/.test(md) && /\|\s*-{3,}/.test(md),
  blockquote: (md) => /^> Note: section 0/m.test(md),
};

/** Pages per second of one converter over `ms` milliseconds. */
function rate(convert, pages, ms) {
  let done = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    convert(pages[done % pages.length]);
    done++;
  }
  return done / ((performance.now() - started) / 1000);
}

const median = (values) => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];

// Rounds alternate between the converters, so that a noisy neighbour on the
// machine slows both alike; the median of the rounds is reported.
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const rows = [];
for (const [input, highlighted] of [
  ['raw (highlight spans)', true],
  ['as extract.ts feeds it', false],
]) {
  for (const kb of [15, 80]) {
    const pages = Array.from({ length: 40 }, (_, seed) => docsPage(seed, kb, highlighted));
    const rates = Object.fromEntries(Object.keys(converters).map((name) => [name, []]));
    for (const convert of Object.values(converters)) for (const page of pages) convert(page);
    for (let round = 0; round < rounds; round++) {
      for (const [name, convert] of Object.entries(converters)) {
        rates[name].push(rate(convert, pages, 700));
      }
    }
    const row = { input, 'page size': `${kb} KB` };
    for (const name of Object.keys(converters)) row[`${name} pages/s`] = Math.round(median(rates[name]));
    rows.push(row);
  }
}
console.log(`Node ${process.version}, median of ${rounds} alternating rounds of 0.7 s`);
console.table(rows);

const sample = docsPage(0, 15);
const outputs = Object.fromEntries(
  Object.entries(converters).map(([name, convert]) => [name, convert(sample)]),
);
const verdict = {};
for (const [check, ok] of Object.entries(checks)) {
  verdict[check] = Object.fromEntries(
    Object.entries(outputs).map(([name, md]) => [name, ok(md) ? 'yes' : 'NO']),
  );
}
console.table(verdict);
if (process.argv.includes('--show')) {
  for (const [name, md] of Object.entries(outputs)) {
    console.log(`\n----- ${name} -----\n${md.slice(0, 2000)}`);
  }
}

await import('./quality.mjs');
