// The crawl options that choose what of a page becomes its markdown:
// onlyMainContent, includeSelectors, excludeSelectors (issue #14).
import { describe, expect, it } from 'vitest';
import { extractPage } from './extract.js';

const page = 'https://docs.test/guide/intro.html';

const site = `<!doctype html><html><head><title>Intro</title><style>.x{color:red}</style>
<script>var tracking = 1;</script></head><body>
<header class="site-header"><a href="/">Docs home</a></header>
<nav><ul><li><a href="/a">Nav A</a></li><li><a href="/b">Nav B</a></li></ul></nav>
<main>
  <h1>Intro</h1>
  <div class="note"><p>Note block text.</p></div>
  <p>Main paragraph.</p>
  <div class="ad"><p>Buy now!</p></div>
  <section class="api"><h2>API</h2><p>API block text.</p><div class="note"><p>Inner note.</p></div></section>
  <script>document.write("injected")</script>
</main>
<aside><p>Aside text.</p></aside>
<footer><p>Footer text &copy; 2026.</p><noscript>Enable JS</noscript></footer>
<script>alert("x")</script>
</body></html>`;

describe('includeSelectors', () => {
  it('picks only the matched blocks, in document order, whatever order the selectors are in', () => {
    const { markdown } = extractPage(site, page, { includeSelectors: ['.api', '.note'] });
    expect(markdown).toBe('Note block text.\n\n## API\n\nAPI block text.\n\nInner note.');
    expect(markdown).not.toContain('Main paragraph');
    expect(markdown).not.toContain('Intro');
  });

  it('gives each element once when selectors overlap or one match is inside another', () => {
    const { markdown } = extractPage(site, page, { includeSelectors: ['section', '.api', 'section p'] });
    expect(markdown).toBe('## API\n\nAPI block text.\n\nInner note.');
  });

  it('keeps a matched element that the main-content cleanup would drop (a nav, a footer), never a script', () => {
    const { markdown } = extractPage(site, page, { includeSelectors: ['nav', 'footer', 'script'] });
    expect(markdown).toBe('-   [Nav A](https://docs.test/a)\n-   [Nav B](https://docs.test/b)\n\nFooter text © 2026.');
  });

  it('gives empty markdown when nothing matches, not the whole page', () => {
    const extracted = extractPage(site, page, { includeSelectors: ['.does-not-exist'] });
    expect(extracted.markdown).toBe('');
    expect(extracted.truncated).toBe(false);
    // Title and links still come from the whole page.
    expect(extracted.title).toBe('Intro');
    expect(extracted.links).toEqual(['https://docs.test/', 'https://docs.test/a', 'https://docs.test/b']);
  });

  it('reads a selector with a tag in it as a selector, never as HTML to create', () => {
    const html = '<main><p>plain</p><p>has <b>bold</b></p></main>';
    expect(extractPage(html, page, { includeSelectors: ['p:contains("<b>")'] }).markdown).toBe('');
    expect(extractPage(html, page, { includeSelectors: ['p:has(b)'] }).markdown).toBe('has **bold**');
  });

  it('runs cheerio\'s own selector extensions (:first, :eq)', () => {
    expect(extractPage(site, page, { includeSelectors: ['main p:first'] }).markdown).toBe('Note block text.');
    expect(extractPage(site, page, { includeSelectors: ['.note:eq(1)'] }).markdown).toBe('Inner note.');
  });
});

describe('excludeSelectors', () => {
  it('removes the matched elements before conversion', () => {
    const { markdown } = extractPage(site, page, { excludeSelectors: ['.ad', '.note'] });
    expect(markdown).toBe('# Intro\n\nMain paragraph.\n\n## API\n\nAPI block text.');
  });

  it('keeps the links of what it removes (links are for discovery)', () => {
    const html = '<main><p>Text</p><div class="more"><a href="/next">Next</a></div></main>';
    const extracted = extractPage(html, page, { excludeSelectors: ['.more'] });
    expect(extracted.markdown).toBe('Text');
    expect(extracted.links).toEqual(['https://docs.test/next']);
  });

  it('can remove the main element: the content is then chosen from what is left', () => {
    const html = '<body><main><p>Main</p></main><article><p>Article</p></article></body>';
    expect(extractPage(html, page, { excludeSelectors: ['main'] }).markdown).toBe('Article');
  });
});

describe('includeSelectors and excludeSelectors together', () => {
  it('takes the included blocks without what is excluded, even inside them', () => {
    const { markdown } = extractPage(site, page, { includeSelectors: ['.api', '.ad'], excludeSelectors: ['.note', 'h2'] });
    expect(markdown).toBe('Buy now!\n\nAPI block text.');
  });

  it('gives empty markdown when everything included is excluded', () => {
    expect(extractPage(site, page, { includeSelectors: ['.api'], excludeSelectors: ['section'] }).markdown).toBe('');
  });
});

describe('onlyMainContent', () => {
  it('is true by default: the main element, without nav, header, footer or aside', () => {
    const markdown = extractPage(site, page).markdown;
    expect(markdown).toBe(extractPage(site, page, { onlyMainContent: true }).markdown);
    expect(markdown).toBe(extractPage(site, page, { onlyMainContent: true, includeSelectors: [], excludeSelectors: [] }).markdown);
    expect(markdown).toContain('Main paragraph.');
    for (const chrome of ['Nav A', 'Docs home', 'Footer text', 'Aside text']) expect(markdown).not.toContain(chrome);
  });

  it('false converts the whole body: navigation, header, footer and aside kept, never scripts, styles or noscript', () => {
    const { markdown } = extractPage(site, page, { onlyMainContent: false });
    expect(markdown).toBe(
      [
        '[Docs home](https://docs.test/)',
        '-   [Nav A](https://docs.test/a)\n-   [Nav B](https://docs.test/b)',
        '# Intro',
        'Note block text.',
        'Main paragraph.',
        'Buy now!',
        '## API',
        'API block text.',
        'Inner note.',
        'Aside text.',
        'Footer text © 2026.',
      ].join('\n\n'),
    );
    for (const never of ['tracking', 'color', 'injected', 'alert', 'Enable JS']) expect(markdown).not.toContain(never);
  });

  it('false keeps link-dense blocks and tables of contents that the main-content rules drop', () => {
    const html = `<body><p>Some text of the page, long enough to be the content.</p>
      <div class="toc"><a href="#a">A</a> <a href="#b">B</a></div>
      <div><a href="/x">X</a> <a href="/y">Y</a></div></body>`;
    expect(extractPage(html, page).markdown).toBe('Some text of the page, long enough to be the content.');
    expect(extractPage(html, page, { onlyMainContent: false }).markdown).toBe(
      'Some text of the page, long enough to be the content.\n\n[A](#a) [B](#b)\n\n[X](https://docs.test/x) [Y](https://docs.test/y)',
    );
  });

  it('false with excludeSelectors: the whole body without what is excluded', () => {
    const { markdown } = extractPage(site, page, { onlyMainContent: false, excludeSelectors: ['nav', 'main', 'footer'] });
    expect(markdown).toBe('[Docs home](https://docs.test/)\n\nAside text.');
  });

  it('false with includeSelectors: the included blocks with all of their content', () => {
    const html = '<body><div id="links"><p>Intro</p><ul><li><a href="/a">A</a></li><li><a href="/b">B</a></li></ul><nav>In nav</nav></div></body>';
    expect(extractPage(html, page, { onlyMainContent: false, includeSelectors: ['#links'] }).markdown).toBe(
      'Intro\n\n-   [A](https://docs.test/a)\n-   [B](https://docs.test/b)\n\nIn nav',
    );
  });
});
