import { describe, expect, it } from 'vitest';
import { extractPage } from './extract.js';

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
    expect(extractPage('', page)).toEqual({ title: '', markdown: '', links: [], truncated: false });
  });
});
