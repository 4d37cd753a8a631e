import { describe, expect, it } from 'vitest';
import { MAX_ROWSPAN } from '@crawlstream/shared';
import { extractPage, MAX_COLSPAN } from './extract.js';

const page = 'https://docs.test/guide/intro.html';

describe('title', () => {
  it('is <title>, whitespace collapsed', () => {
    expect(extractPage('<title>\n  Intro  —\n Guide </title><h1>Other</h1>', page).title).toBe(
      'Intro — Guide',
    );
  });

  it('falls back to the first h1, then to empty', () => {
    expect(
      extractPage('<title> </title><h1>First <em>one</em></h1><h1>Second</h1>', page).title,
    ).toBe('First one');
    expect(extractPage('<p>nothing</p>', page).title).toBe('');
  });

  it('decodes entities', () => {
    expect(extractPage('<title>A &amp; B &lt;3 &eacute;</title>', page).title).toBe('A & B <3 é');
  });
});

describe('links', () => {
  it('resolves, normalizes and dedupes, in document order, from nav too', () => {
    const html = `<nav><a href="setup.html">Setup</a></nav><main>
      <a href="./setup.html#install">again</a>
      <a href="../api/">API</a>
      <a href="HTTPS://DOCS.TEST:443/api/">API again</a>
      <a href="https://other.test/x?b=1&amp;a=2">Other</a>
      <a href="//cdn.test/lib.js">cdn</a>
    </main>`;
    expect(extractPage(html, page).links).toEqual([
      'https://docs.test/guide/setup.html',
      'https://docs.test/api/',
      'https://other.test/x?b=1&a=2',
      'https://cdn.test/lib.js',
    ]);
  });

  it('skips what cannot be crawled, fragments and the page itself', () => {
    const html = `<a href="mailto:me@docs.test">m</a><a href="javascript:void(0)">j</a>
      <a href="tel:+1">t</a><a href="ftp://docs.test/f">f</a><a href="#top">top</a>
      <a href="">empty</a><a href="intro.html">self</a><a>no href</a><a href="data:text/html,x">d</a>
      <a href="next.html">next</a>`;
    expect(extractPage(html, page).links).toEqual(['https://docs.test/guide/next.html']);
  });

  it('honours <base href>', () => {
    const html =
      '<head><base href="https://docs.test/v2/"></head><a href="page.html">p</a><a href="/abs">a</a>';
    expect(extractPage(html, page).links).toEqual([
      'https://docs.test/v2/page.html',
      'https://docs.test/abs',
    ]);
  });

  it('honours a relative <base href> and ignores a non-http one', () => {
    expect(extractPage('<base href="/v3/"><a href="p">p</a>', page).links).toEqual([
      'https://docs.test/v3/p',
    ]);
    expect(extractPage('<base href="javascript:x"><a href="p">p</a>', page).links).toEqual([
      'https://docs.test/guide/p',
    ]);
  });
});

describe('main content', () => {
  const chrome = `<header class="site"><a href="/">Logo</a></header><nav><a href="/a">Nav link</a></nav>
    <aside>Sidebar</aside><footer>Footer text</footer><script>var x = 1;</script>`;

  it('prefers main, then article, then [role=main], then body', () => {
    const candidates = [
      ['<article>article</article><main>main</main>', 'main'],
      ['<div>outside</div><article>article</article>', 'article'],
      ['<div>outside</div><div role="main">role</div>', 'role'],
      ['<div>body text</div>', 'body text'],
    ];
    for (const [html, expected] of candidates) {
      expect(extractPage(`<html><body>${chrome}${html}</body></html>`, page).markdown).toBe(
        expected,
      );
    }
  });

  it('drops nav, header, footer, aside, script, style, noscript, svg and form inside the content', () => {
    const html = `<main><nav>N</nav><header>H</header><p>Keep me</p><footer>F</footer><aside>A</aside>
      <script>S()</script><style>p{}</style><noscript>NS</noscript><svg><text>SVG</text></svg>
      <form><input name="q"><button>Search</button></form></main>`;
    expect(extractPage(html, page).markdown).toBe('Keep me');
  });

  it('keeps an article header that holds the page heading', () => {
    const html = '<article><header><h1>Intro</h1></header><p>Text</p></article>';
    expect(extractPage(html, page).markdown).toBe('# Intro\n\nText');
  });

  it('converts docs markup to markdown', () => {
    const html = `<main>
      <h1>Guide<a class="headerlink" href="#guide">¶</a></h1>
      <h2>Install</h2>
      <p>Run <code>npm i</code>, see <a href="../api/">the API</a> and <strong>bold</strong> <em>em</em>.</p>
      <ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>
      <ol><li>first</li><li>second</li></ol>
      <pre><code class="language-js">const a = 1 &lt; 2;\nconsole.log(a);</code></pre>
      <table><thead><tr><th>Option</th><th>Default</th></tr></thead>
        <tbody><tr><td><code>timeout</code></td><td>15</td></tr></tbody></table>
      <p><img src="img/shot.png" alt="Screenshot"></p>
    </main>`;
    const { markdown } = extractPage(html, page);
    expect(markdown).toContain('# Guide\n\n## Install');
    expect(markdown).not.toContain('¶');
    expect(markdown).toContain(
      'Run `npm i`, see [the API](https://docs.test/api/) and **bold** _em_.',
    );
    expect(markdown).toMatch(/^- +one\n- +two\n {4}- +nested$/m);
    expect(markdown).toMatch(/^1\. +first\n2\. +second$/m);
    expect(markdown).toContain('```js\nconst a = 1 < 2;\nconsole.log(a);\n```');
    expect(markdown).toContain('| Option | Default |\n| --- | --- |\n| `timeout` | 15 |');
    expect(markdown).toContain('![Screenshot](https://docs.test/guide/img/shot.png)');
  });

  it('fences highlighted code with the language from its wrapper', () => {
    const sphinx = `<main><div class="highlight-python notranslate"><div class="highlight"><pre><span></span><span class="k">def</span> <span class="nf">f</span><span class="p">():</span>
    <span class="k">return</span> <span class="mi">1</span>
</pre></div></div></main>`;
    expect(extractPage(sphinx, page).markdown).toBe('```python\ndef f():\n    return 1\n```');
    const mkdocs =
      '<main><div class="language-bash highlight"><pre><span></span><code><span>npm</span> test\n</code></pre></div></main>';
    expect(extractPage(mkdocs, page).markdown).toBe('```bash\nnpm test\n```');
    expect(extractPage('<main><pre>plain\n  text</pre></main>', page).markdown).toBe(
      '```\nplain\n  text\n```',
    );
  });

  it('uses a longer fence when the code contains one', () => {
    const html = '<main><pre><code>```\ninner\n```</code></pre></main>';
    expect(extractPage(html, page).markdown).toBe('````\n```\ninner\n```\n````');
  });

  it('handles an empty document', () => {
    expect(extractPage('', page)).toEqual({ title: '', markdown: '', links: [], truncated: false, metadata: { contentHash: expect.stringMatching(/^[0-9a-f]{64}$/), wordCount: 0 } });
  });
});

/** `<tag`, `</tag` or `<!` outside fenced code and inline code. */
function rawHtml(markdown: string): string[] {
  const prose = markdown
    .replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1`*$/gm, '')
    .replace(/(`+)[^`]*?\1/g, '');
  return prose.match(/(?<!\\)<\/?[A-Za-z!][^\s>]*/g) ?? [];
}

describe('no raw HTML', () => {
  it('survives a page of hostile shapes', () => {
    const html = `<main><h1>Hostile</h1>
      <table><tr><td>outer<table><tr><td>inner a</td><td>inner b</td></tr></table></td><td>side</td></tr></table>
      <table><tr><td colspan="2">wide</td></tr><tr><td>l</td><td>r</td></tr></table>
      <ul><li>item<table><tr><td>in list</td><td>x</td></tr></table></li></ul>
      <table><tr><td><p>para one</p><p>para two</p></td><td><ul><li>cell list</li></ul></td></tr></table>
      <table></table><table><tr></tr></table>
      <table><caption>Cap</caption><tr><td>c1</td><td>c2</td></tr><tr><td>c3</td><td>c4</td></tr></table>
      <custom-widget data-x="1">widget text</custom-widget><blink>old</blink><x-y><z>deep</z></x-y>
      <details><summary>More</summary><p>hidden text</p></details>
      <iframe src="https://evil.test/">frame text</iframe><object data="x">obj</object><embed src="y">
      <svg><text>svg text</text></svg><math><mi>x</mi></math><video>video text</video>
      <p>Prose mentioning &lt;div&gt; and &lt;/span&gt; and a &lt;!-- comment and 1 &lt; 2.</p>
      <p><code>&lt;b&gt;</code> in code</p><pre><code>&lt;html&gt;</code></pre>
      <textarea>typed</textarea><select><option>opt</option></select><button>Click</button>
    </main>`;
    const { markdown } = extractPage(html, page);
    expect(rawHtml(markdown)).toEqual([]);
    for (const kept of ['inner a', 'side', 'wide', 'in list', 'para one', 'cell list', 'c4', 'widget text', 'old', 'deep', 'More', 'hidden text', 'x'])
      expect(markdown).toContain(kept);
    for (const gone of ['frame text', 'obj', 'svg text', 'video text', 'typed', 'opt', 'Click'])
      expect(markdown).not.toContain(gone);
    expect(markdown).toContain('\\<div> and \\</span> and a \\<!-- comment and 1 < 2.');
    expect(markdown).toContain('`<b>` in code');
    expect(markdown).toContain('```\n<html>\n```');
  });

  it('promotes the first row of a header-less table, pads short rows and escapes pipes', () => {
    const html = '<main><table><tr><td>Prev</td><td><p>Up</p></td></tr><tr><td>a | b</td></tr><tr><td>line<br>two</td><td>z</td></tr></table></main>';
    expect(extractPage(html, page).markdown).toBe(
      '| Prev | Up |\n| --- | --- |\n| a \\| b |  |\n| line two | z |',
    );
  });

  it('gives a one-row table an empty header row', () => {
    expect(extractPage('<main><table><tr><td>only</td><td>row</td></tr></table></main>', page).markdown).toBe(
      '|  |  |\n| --- | --- |\n| only | row |',
    );
  });

  it('turns a table with block cells into a list of rows, a nested table into a nested list', () => {
    const html = '<main><table><tr><td>outer</td><td><table><tr><td>in</td><td><pre>x</pre></td></tr></table></td></tr></table></main>';
    const { markdown } = extractPage(html, page);
    expect(markdown).toMatch(/^- +outer\n\s+- +in\n\s+```\n +x\n +```$/);
  });

  it('an empty table is nothing (it crashed the GFM plugin)', () => {
    expect(extractPage('<main><table></table><table><tr><td></td></tr></table><p>x</p></main>', page).markdown).toBe('x');
  });

  it(`spans at most MAX_COLSPAN (${MAX_COLSPAN}) columns`, () => {
    const columns = (span: number) => {
      const html = `<main><table><tr><th colspan="${span}">h</th></tr><tr><td>v</td></tr></table></main>`;
      return extractPage(html, page).markdown.split('\n')[1]!.split('---').length - 1;
    };
    expect(columns(MAX_COLSPAN - 1)).toBe(MAX_COLSPAN - 1);
    expect(columns(MAX_COLSPAN)).toBe(MAX_COLSPAN);
    expect(columns(MAX_COLSPAN + 1)).toBe(MAX_COLSPAN);
    expect(columns(0)).toBe(1);
  });

  it('gives a table of one header row an empty header, not a second separator line', () => {
    const html = '<main><table><thead><tr><th>a</th><th>b</th></tr></thead></table></main>';
    expect(extractPage(html, page).markdown).toBe('|  |  |\n| --- | --- |\n| a | b |');
  });

  it('keeps the columns of the rows below a rowspan in line', () => {
    const html = `<main><table><tr><th>Name</th><th>Kind</th><th>Note</th></tr>
      <tr><td rowspan="2">alpha</td><td>one</td><td>first</td></tr><tr><td>two</td><td>second</td></tr>
      <tr><td>beta</td><td colspan="2" rowspan="2">wide</td></tr><tr><td>gamma</td></tr></table></main>`;
    expect(extractPage(html, page).markdown).toBe(
      [
        '| Name | Kind | Note |',
        '| --- | --- | --- |',
        '| alpha | one | first |',
        '|  | two | second |',
        '| beta | wide |  |',
        '| gamma |  |  |',
      ].join('\n'),
    );
  });

  it(`spans at most MAX_ROWSPAN (${MAX_ROWSPAN}) rows; 0 reaches to the end of the table, bounded the same`, () => {
    /** Rows, of 100 below the spanning cell, whose first cell is the empty one it left. */
    const spanned = (span: string) => {
      const below = '<tr><td>x</td></tr>'.repeat(100);
      const html = `<main><table><tr><th>h</th><th>i</th></tr><tr><td rowspan="${span}">s</td><td>t</td></tr>${below}</table></main>`;
      return extractPage(html, page).markdown.split('\n').filter((line) => line.startsWith('|  | x |')).length;
    };
    expect(spanned(String(MAX_ROWSPAN))).toBe(MAX_ROWSPAN - 1);
    expect(spanned(String(MAX_ROWSPAN + 1))).toBe(MAX_ROWSPAN - 1);
    expect(spanned('0')).toBe(MAX_ROWSPAN - 1);
    expect(spanned('junk')).toBe(0);
  });

  it('adds at most MAX_COLSPAN more empty cells than the table has cells', () => {
    const empties = (cells: number) => {
      const row = '<td colspan="64">c</td>'.repeat(cells);
      const md = extractPage(`<main><table><tr><th>h</th></tr><tr>${row}</tr></table></main>`, page).markdown;
      const rows = md.split('\n').filter((line) => !line.includes('---'));
      return rows.flatMap((line) => line.split('|').slice(1, -1)).filter((cell) => cell.trim() === '').length;
    };
    // 1 + n real cells: the budget is n + 1 + MAX_COLSPAN empties, the spans want 63 n, the header row the rest.
    expect(empties(1)).toBe(2 + MAX_COLSPAN);
    expect(empties(100)).toBe(101 + MAX_COLSPAN);
  });
});

describe('boilerplate', () => {
  const prose = '<p>This is the real content of the page, long enough to be the bulk of what it says about the topic at hand, and then some more words.</p>';

  it('drops role=navigation and navigation-like classes and ids', () => {
    const html = `<body><div role="navigation"><a href="/a">A</a></div>
      <div class="navheader"><table><tr><td><a href="p">Prev</a></td><td>Chapter 5</td></tr></table></div>
      <div class="breadcrumbs">Home › Docs</div><div id="sidebar">Side</div><div class="md-sidebar">Side2</div>
      <div class="site-header">Logo</div><div class="page-header"><h2>Kept heading</h2></div><div class="card-header">Card title</div>
      ${prose}
      <div class="prev-next">Older · Newer</div><div class="pagination-nav">Pager</div>
      <div class="navfooter">NF</div><div class="footer-row">© Corp</div><div class="theme-doc-footer">Meta</div></body>`;
    expect(extractPage(html, page).markdown).toBe(`## Kept heading\n\nCard title\n\n${prose.slice(3, -4)}`);
  });

  it('drops skip links, edit links and back-to-top links, keeps other links', () => {
    const html = `<main><a href="#content">Skip to content</a><a href="https://github.com/o/r/edit/main/docs/x.md">Edit</a>
      <a href="https://github.com/o/r/blob/main/docs/x.rst">View source</a><a title="Edit this page" href="/e">✎</a>
      ${prose}<p><a href="/guide">The guide</a>, <a href="https://github.com/o/r/blob/main/README.md">the README</a></p><a href="#top">Back to top</a></main>`;
    expect(extractPage(html, page).markdown).toBe(
      `${prose.slice(3, -4)}\n\n[The guide](https://docs.test/guide), [the README](https://github.com/o/r/blob/main/README.md)`,
    );
  });

  it('drops a small table of links and a link-dense block, keeps a list introduced by a heading', () => {
    const html = `<main>${prose}
      <table><tr><td><a href="/x">Terms</a></td><td><a href="/y">Privacy</a></td></tr></table>
      <div><a href="/p">« Previous</a> | <a href="/n">Next »</a></div>
      <ul><li><a href="/1">One</a></li><li><a href="/2">Two</a></li></ul>
      <h2>See also</h2><ul><li><a href="/s1">Related one</a></li><li><a href="/s2">Related two</a></li></ul>
      <p>Read <a href="/a">this</a> and <a href="/b">that</a> before you start with the rest of the setup.</p></main>`;
    const { markdown } = extractPage(html, page);
    for (const gone of ['Terms', 'Privacy', 'Previous', 'Next', 'One', 'Two']) expect(markdown).not.toContain(gone);
    for (const kept of ['## See also', 'Related one', 'Related two', 'Read [this]']) expect(markdown).toContain(kept);
  });

  it('keeps a table of contents or a list of links that is most of the content (an index page)', () => {
    const links = Array.from({ length: 8 }, (_, i) => `<li><a href="/c${i}">Chapter ${i}: a chapter title</a></li>`).join('');
    const nested = '<li><a href="/n">Nested</a><ul><li><a href="/n1">Sub one</a></li><li><a href="/n2">Sub two</a></li></ul></li>';
    const index = `<body><div class="navheader"><a href="/p">Prev</a> <a href="/n">Next</a> Part II. The Language</div>
      <h1>Manual</h1><div class="toc"><ul>${links}${nested}</ul></div><p>A short introduction.</p></body>`;
    const markdown = extractPage(index, page).markdown;
    for (const kept of ['Chapter 7: a chapter title', 'Sub one', 'Sub two', 'A short introduction.']) expect(markdown).toContain(kept);
    expect(markdown).not.toContain('Part II');
    const list = `<main><h1>Manual</h1><ul>${links}</ul></main>`;
    expect(extractPage(list, page).markdown).toContain('Chapter 7: a chapter title');
    const local = `<main><div class="toc"><ul><li><a href="#a">A</a></li><li><a href="#b">B</a></li></ul></div>${prose}</main>`;
    expect(extractPage(local, page).markdown).toBe(prose.slice(3, -4));
  });
});

describe('code fences', () => {
  it('drops blank lines at either end and keeps the language', () => {
    const cases: [string, string][] = [
      ['<pre><code class="language-rust">\n\n  fn main() {}\n\n\n</code></pre>', '```rust\n  fn main() {}\n```'],
      ['<pre class="lang-go">\n\nx := 1\n</pre>', '```go\nx := 1\n```'],
      ['<div class="highlight-python notranslate"><div class="highlight"><pre><span></span>\nimport os\n\n</pre></div></div>', '```python\nimport os\n```'],
      ['<div class="highlight-source-ruby"><pre>puts 1</pre></div>', '```ruby\nputs 1\n```'],
      ['<pre class="prism-code language-bash"><code><span>a</span><br><span>b</span><br></code></pre>', '```bash\na\nb\n```'],
      ['<pre><code class="language-text">\n\n</code></pre><p>after</p>', 'after'],
    ];
    for (const [html, expected] of cases) expect(extractPage(`<main>${html}</main>`, page).markdown).toBe(expected);
  });
});
