// The converter reads cheerio's tree through markdown-dom.ts instead of
// parsing serialized HTML again; what it writes must not change. Each case is
// converted both ways with the same turndown setup and compared.
import * as cheerio from 'cheerio';
import type TurndownService from 'turndown';
import { describe, expect, it } from 'vitest';
import { turndown } from './extract.js';
import { markdownDom } from './markdown-dom.js';

function bothWays(html: string): { viaDom: string; viaString: string } {
  const $ = cheerio.load(`<body><div id="content">${html}</div></body>`, {
    xml: { xmlMode: false, decodeEntities: true },
  });
  const container = $('#content').get(0)!;
  return {
    viaString: turndown.turndown($(container).html() ?? ''),
    viaDom: turndown.turndown(markdownDom(container) as unknown as TurndownService.Node),
  };
}

const CASES: Record<string, string> = {
  headings: '<h1>Title</h1><h2>Sub <em>title</em></h2><h6>Six</h6>',
  whitespace: '<p>  lots   of\n\n spaces\t here </p>  <p>next<b> bold </b>text</p> tail text  ',
  inline: '<p>A <code>call()</code>, <strong>strong</strong>, <i>it</i>, <s>gone</s>, <del>del</del> and <a href="/x" title="T">link</a>.</p>',
  'inline code with backticks': '<p><code>a `tick` b</code> and <code>`edge`</code></p>',
  entities: '<p>&lt;tag&gt; &amp; &quot;q&quot; &nbsp;nbsp&nbsp; caf&eacute; 1 &lt; 2</p>',
  escapes: '<p>* not a list</p><p>1. not ordered</p><p># not a heading</p><p>_under_ [brackets] \\ back</p>',
  lists:
    '<ul><li>one</li><li>two<ul><li>nested <b>x</b></li><li>nested 2</li></ul></li><li><p>para item</p></li></ul>' +
    '<ol start="4"><li>four</li>\n<li>five</li>\n<!-- c --><li>six</li></ol><ol><li>a</li><li>b<ol><li>c</li></ol></li></ol>',
  'task list': '<ul><li><input type="checkbox" checked> done</li><li><input type="CHECKBOX"> todo</li></ul>',
  code: '<pre><code class="language-js">const a = 1;\n\nif (a &lt; 2) {}\n</code></pre><pre>plain pre\n  kept</pre>',
  'code with fence inside': '<pre><code class="language-md">```js\nx\n```\n</code></pre>',
  'highlighted block': '<div class="highlight-text-python"><pre>print("x")</pre></div>',
  blockquote: '<blockquote><p>quoted</p><blockquote><p>deeper</p></blockquote></blockquote>',
  'table with header': '<table><thead><tr><th>A</th><th align="right">B</th></tr></thead><tbody><tr><td><code>x</code></td><td>1</td></tr></tbody></table>',
  'table, th first row in tbody': '<table><tbody><tr><th>H</th><th>I</th></tr><tr><td>1</td><td>2</td></tr></tbody></table>',
  'table kept as html': '<table class="t"><tbody><tr><td>no &amp; header</td><td>x&nbsp;y "q"</td></tr></tbody></table>',
  'table with tfoot first': '<table><tfoot><tr><td>f</td></tr></tfoot><thead><tr><th>h</th></tr></thead><tbody><tr><td>b</td></tr></tbody></table>',
  images: '<p><img src="/a.png" alt="An * image" title="t"> <img src=""> <img alt="no src"></p>',
  'breaks and rules': '<p>line<br>break<br/>again</p><hr><p>after</p>',
  'blank elements': '<p> </p><div>  <span> </span> </div><a href="/empty"></a><p><img src="/i.png"></p><div><br></div>',
  'definition list': '<dl><dt>Term</dt><dd><p>Definition <em>here</em></p></dd></dl>',
  'mixed inline blocks': '<div>text <span>in span</span><div>block</div>after</div><section><p>s</p></section>',
  'code next to text': '<p>run <code> spaced </code>now</p><pre><code>a</code><code>b</code></pre>',
  'nested inline whitespace': '<p><em> a </em><strong> b </strong> <em>c</em>\n<a href="/l"> d </a></p>',
  unicode: '<p>Ünïcödé — “quotes” 日本語 🙂</p>',
  'only text': 'just some text',
  empty: '',
};

describe('markdown from the parsed tree', () => {
  for (const [name, html] of Object.entries(CASES)) {
    it(`equals turndown's own parse: ${name}`, () => {
      const { viaDom, viaString } = bothWays(html);
      expect(viaDom).toBe(viaString);
    });
  }

  it('equals it on generated documentation pages', () => {
    for (let seed = 0; seed < 20; seed++) {
      const parts: string[] = [];
      for (let s = 0; s < 1 + (seed % 5); s++) {
        parts.push(
          `<h2 id="s${s}">Section ${s}</h2><p>The <code>configure()</code> call takes an <em>options</em> object; see <a href="/docs/${seed}/${s}.html">the notes</a>.</p>`,
          `<ul><li>First, <a href="../intro.html">a link</a></li><li>Second<ul><li>nested ${s}</li></ul></li></ul>`,
          `<pre><code class="language-python">def f(x):\n    return x &lt; ${s}\n</code></pre>`,
          `<table><thead><tr><th>Option</th><th>Default</th></tr></thead><tbody><tr><td><code>t${s}</code></td><td>${s}</td></tr></tbody></table>`,
          `<dl><dt><span class="pre">mod.</span><span>connect</span>(<em>host</em>, <em>port=${s}</em>)</dt><dd><p>Open <em>host</em>.</p></dd></dl>`,
        );
      }
      const { viaDom, viaString } = bothWays(parts.join(seed % 2 ? '\n' : ''));
      expect(viaDom).toBe(viaString);
    }
  });

  it('writes a table without a heading row that reaches the converter as its text, never as HTML', () => {
    // extract.ts gives every table a heading row first; this is the fallback.
    const { viaDom, viaString } = bothWays('<table><tr><td class="a">1 &lt; 2 &amp; 3</td><td><br>x&nbsp;<b>y</b></td></tr></table>');
    expect(viaDom).toBe(viaString);
    expect(viaDom).not.toMatch(/<[a-z]/i);
    expect(viaDom).toContain('1 < 2 & 3');
  });
});
