import { MAX_HTML_DEPTH, MAX_LINKS_PER_PAGE, MAX_MARKDOWN_BYTES, MAX_TITLE_LENGTH } from '@crawlstream/shared';
import * as cheerio from 'cheerio';
import { describe, expect, it } from 'vitest';
import { boundMarkdown, cutChars, keepLinks } from './bounds.js';
import { extractFromDocument, extractPage } from './extract.js';
import { parseHtml } from './parse.js';

const page = 'https://docs.test/guide/intro.html';
const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('title: at most MAX_TITLE_LENGTH characters', () => {
  it('keeps a title of exactly the limit and cuts one of the limit + 1', () => {
    const at = 't'.repeat(MAX_TITLE_LENGTH);
    expect(extractPage(`<title>${at}</title>`, page).title).toBe(at);
    expect(extractPage(`<title>${at}x</title>`, page).title).toBe(at);
  });

  it('never splits a surrogate pair', () => {
    const title = `${'t'.repeat(MAX_TITLE_LENGTH - 1)}😀`; // the emoji's halves at limit and limit + 1
    expect(cutChars(title, MAX_TITLE_LENGTH)).toBe('t'.repeat(MAX_TITLE_LENGTH - 1));
    expect(cutChars(title, MAX_TITLE_LENGTH + 1)).toBe(title);
  });

  it('a 3 MB <title> becomes a title of the limit', () => {
    const { title } = extractPage(`<title>${'word '.repeat(600_000)}</title><p>x</p>`, page);
    expect(title).toHaveLength(MAX_TITLE_LENGTH);
  });
});

describe('markdown: at most MAX_MARKDOWN_BYTES of UTF-8, no control characters', () => {
  it('keeps markdown of exactly the limit and cuts one of the limit + 1', () => {
    const at = extractPage(`<main><p>${'a'.repeat(MAX_MARKDOWN_BYTES)}</p></main>`, page);
    expect(at).toMatchObject({ truncated: false });
    expect(bytes(at.markdown)).toBe(MAX_MARKDOWN_BYTES);
    const past = extractPage(`<main><p>${'a'.repeat(MAX_MARKDOWN_BYTES + 1)}</p></main>`, page);
    expect(past).toMatchObject({ truncated: true });
    expect(bytes(past.markdown)).toBe(MAX_MARKDOWN_BYTES);
  });

  it('cuts at a character boundary', () => {
    // 'é' is 2 bytes: it would end one byte past the limit, so it goes entirely.
    const text = `${'a'.repeat(9)}é`;
    expect(boundMarkdown(text, 11)).toEqual({ markdown: text, truncated: false });
    expect(boundMarkdown(text, 10)).toEqual({ markdown: 'a'.repeat(9), truncated: true });
    // An astral character (4 bytes, 2 code units) is never halved either.
    expect(boundMarkdown('ab😀', 5)).toEqual({ markdown: 'ab', truncated: true });
  });

  it('strips C0 control characters but tab, line feed and carriage return', () => {
    const controls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('');
    expect(boundMarkdown(`a${controls}b`, 100).markdown).toBe('a\t\n\rb');
    expect(extractPage('<main><p>bell\u0007 nul\u0000 esc\u001b[31m</p></main>', page).markdown).toBe('bell nul esc\\[31m');
  });
});

describe('links: at most MAX_LINKS_PER_PAGE kept, the rest counted', () => {
  const inScope = (url: string) => url.startsWith('https://docs.test/');
  const links = (n: number) => Array.from({ length: n }, (_, i) => `https://docs.test/p${i}`);

  it('keeps MAX_LINKS_PER_PAGE links, none dropped', () => {
    const kept = keepLinks(links(MAX_LINKS_PER_PAGE), inScope, MAX_LINKS_PER_PAGE);
    expect(kept.links).toHaveLength(MAX_LINKS_PER_PAGE);
    expect(kept.dropped).toBe(0);
  });

  it('drops and counts the one past the limit, in document order', () => {
    const all = links(MAX_LINKS_PER_PAGE + 1);
    const kept = keepLinks(all, inScope, MAX_LINKS_PER_PAGE);
    expect(kept.links).toEqual(all.slice(0, MAX_LINKS_PER_PAGE));
    expect(kept.dropped).toBe(1);
  });

  it('counts only links in scope', () => {
    const all = [...links(MAX_LINKS_PER_PAGE), 'https://other.test/a', 'https://docs.test/last'];
    expect(keepLinks(all, inScope, MAX_LINKS_PER_PAGE).dropped).toBe(1);
  });

  it('150,000 links on one page: deduped, extracted without a stack overflow', () => {
    const anchors = Array.from({ length: 150_000 }, (_, i) => `<a href=/p${i % 100_000}>x</a>`).join('');
    const extracted = extractPage(`<html><body>${anchors}</body></html>`, page);
    expect(extracted.links).toHaveLength(100_000);
    expect(keepLinks(extracted.links, inScope, MAX_LINKS_PER_PAGE)).toMatchObject({ dropped: 90_000 });
  });
});

describe('nesting: flattened below MAX_HTML_DEPTH', () => {
  const nested = (depth: number, tag = 'div') =>
    `${`<${tag}>`.repeat(depth - 1)}<b>deep</b> <a href="/deep">link</a>${`</${tag}>`.repeat(depth - 1)}`;

  it('keeps the structure of an element at the limit', () => {
    // <b> is element number MAX_HTML_DEPTH from the root.
    const extracted = extractPage(nested(MAX_HTML_DEPTH), page);
    expect(extracted.markdown).toContain('**deep**');
    expect(extracted.markdown).toContain('[link](https://docs.test/deep)');
  });

  it('flattens an element one past the limit into its ancestor: text and links stay', () => {
    const extracted = extractPage(nested(MAX_HTML_DEPTH + 1), page);
    expect(extracted.markdown).not.toContain('**deep**');
    expect(extracted.markdown).toContain('deep');
    expect(extracted.links).toEqual(['https://docs.test/deep']);
  });

  it.each(['div', 'ul><li', 'blockquote', 'table><tr><td', 'span', 'a'])(
    'converts <%s> nested just within the limit without overflowing the stack',
    (tag) => {
      const levels = tag.split('><').length;
      const open = `<${tag}>`.repeat(Math.floor(MAX_HTML_DEPTH / levels));
      expect(() => extractPage(`<html><body>${open}<p>deep</p></body></html>`, page)).not.toThrow();
    },
  );

  it('100,000 levels of <div>: converted, the text kept, and what follows the nesting too', () => {
    const html = `<html><head><title>Deep</title></head><body>${'<div>'.repeat(100_000)}deep text${'</div>'.repeat(100_000)}<p>after</p></body></html>`;
    const extracted = extractPage(html, page);
    expect(extracted.title).toBe('Deep');
    expect(extracted.markdown).toBe('deep text\n\nafter');
  });

  it('parses with no element deeper than the limit, so 1,000,000 levels parse in linear time', () => {
    // htmlparser2 alone is quadratic in depth (2 s for 100,000 levels here): this would take minutes.
    const depthOf = (root: ReturnType<typeof parseHtml>) => {
      let deepest = 0;
      const stack: [typeof root | (typeof root)['children'][number], number][] = [[root, 0]];
      for (let item = stack.pop(); item; item = stack.pop()) {
        const [node, depth] = item;
        deepest = Math.max(deepest, depth);
        if ('children' in node) for (const child of node.children) if (child.type === 'tag') stack.push([child, depth + 1]);
      }
      return deepest;
    };
    expect(depthOf(parseHtml('<div>'.repeat(1_000_000), MAX_HTML_DEPTH))).toBe(MAX_HTML_DEPTH);
    expect(depthOf(parseHtml('<div>'.repeat(MAX_HTML_DEPTH), MAX_HTML_DEPTH))).toBe(MAX_HTML_DEPTH);
  });

  it('flattens a document loaded elsewhere (extractFromDocument) the same way', () => {
    const $ = cheerio.load(`<main>${nested(MAX_HTML_DEPTH + 1)}</main>`, { xml: { xmlMode: false, decodeEntities: true } });
    const extracted = extractFromDocument($, page);
    expect(extracted.markdown).not.toContain('**deep**');
    expect(extracted.markdown).toContain('deep');
    expect(extracted.links).toEqual(['https://docs.test/deep']);
  });
});
