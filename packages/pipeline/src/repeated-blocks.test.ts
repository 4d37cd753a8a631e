import {
  REPEATED_BLOCK_EDGE,
  REPEATED_BLOCK_FINGERPRINTS,
  REPEATED_BLOCK_MAX_CHARS,
  REPEATED_BLOCK_MIN_WORDS,
  REPEATED_BLOCK_PAGES,
} from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { extractPage } from './extract.js';
import { contentStats } from './metadata.js';
import { DEFAULT_REPEATED_BLOCK_LIMITS, RepeatedBlocks, splitBlocks, withoutRepeatedBlocks } from './repeated-blocks.js';

const FOOTER = 'Was this page helpful? Yes No';
const page = (n: number, extra = FOOTER) => `# Page ${n}\n\nThe content of page ${n}.\n\n${extra}`;

/** Strips `pages` pages carrying `markdown(n)` and returns what each kept. */
function crawl(blocks: RepeatedBlocks, pages: number, markdown: (n: number) => string): string[] {
  return Array.from({ length: pages }, (_, n) => blocks.strip(`https://site.test/${n}`, markdown(n)));
}

describe('RepeatedBlocks', () => {
  it('drops a short block from the page that is the REPEATED_BLOCK_PAGES-th to carry it on, and only there', () => {
    const kept = crawl(new RepeatedBlocks(), REPEATED_BLOCK_PAGES + 2, (n) => page(n));
    for (let n = 0; n < kept.length; n++) {
      expect(kept[n]).toBe(n < REPEATED_BLOCK_PAGES - 1 ? page(n) : `# Page ${n}\n\nThe content of page ${n}.`);
    }
  });

  it('keeps a block seen on one page fewer than REPEATED_BLOCK_PAGES', () => {
    const kept = crawl(new RepeatedBlocks(), REPEATED_BLOCK_PAGES - 1, (n) => page(n));
    expect(kept.every((markdown) => markdown.endsWith(FOOTER))).toBe(true);
  });

  it('counts a page seen again (a retry) once', () => {
    const blocks = new RepeatedBlocks();
    for (let i = 0; i < REPEATED_BLOCK_PAGES * 2; i++) expect(blocks.strip('https://site.test/same', page(1))).toBe(page(1));
  });

  it('never drops headings, code blocks or tables, however often they repeat', () => {
    const shared = '## Install\n\n```sh\nnpm install thing\n\nnpm test\n```\n\n| a | b |\n| --- | --- |\n| 1 | 2 |';
    const kept = crawl(new RepeatedBlocks(), REPEATED_BLOCK_PAGES * 2, (n) => `Text ${n}.\n\n${shared}`);
    expect(kept).toEqual(kept.map((_, n) => `Text ${n}.\n\n${shared}`));
  });

  it('drops a block of REPEATED_BLOCK_MAX_CHARS characters, never one of one more (link targets not counted)', () => {
    const link = '[x](https://site.test/a/long/target/that/does/not/count)';
    const atLimit = `${'a'.repeat(REPEATED_BLOCK_MAX_CHARS - 6)} b ${link}`; // 194 + " b " + "[x]"
    const pastLimit = `b${atLimit}`;
    const kept = crawl(new RepeatedBlocks(), REPEATED_BLOCK_PAGES, (n) => `Own ${n}.\n\n${atLimit}\n\n${pastLimit}`);
    expect(kept.at(-1)).toBe(`Own ${REPEATED_BLOCK_PAGES - 1}.\n\n${pastLimit}`);
  });

  it('drops a block of REPEATED_BLOCK_MIN_WORDS words, never one of one fewer (a label such as "Note")', () => {
    const atLimit = Array.from({ length: REPEATED_BLOCK_MIN_WORDS }, (_, i) => `word${i}`).join(' ');
    const pastLimit = Array.from({ length: REPEATED_BLOCK_MIN_WORDS - 1 }, (_, i) => `label${i}`).join(' — ');
    const kept = crawl(new RepeatedBlocks(), REPEATED_BLOCK_PAGES, (n) => `Own ${n}.\n\n${atLimit}\n\n${pastLimit}`);
    expect(kept.at(-1)).toBe(`Own ${REPEATED_BLOCK_PAGES - 1}.\n\n${pastLimit}`);
  });

  it('holds REPEATED_BLOCK_FINGERPRINTS fingerprints; one more evicts the least recently seen', () => {
    const run = (count: number) => {
      const blocks = new RepeatedBlocks({ ...DEFAULT_REPEATED_BLOCK_LIMITS, pages: 2 });
      // Pages of 8 blocks (all of them at the page's edges): `count` blocks in all, block 0 first.
      for (let first = 0; first < count; first += 8) {
        const page = Array.from({ length: Math.min(8, count - first) }, (_, i) => `Short block ${first + i}.`);
        blocks.strip(`https://site.test/a${first}`, page.join('\n\n'));
      }
      expect(blocks.size).toBe(REPEATED_BLOCK_FINGERPRINTS);
      // Block 0 is the least recently seen: still held at the limit, evicted one past it.
      return blocks.strip('https://site.test/b', 'Short block 0.');
    };
    expect(run(REPEATED_BLOCK_FINGERPRINTS)).toBe('');
    expect(run(REPEATED_BLOCK_FINGERPRINTS + 1)).toBe('Short block 0.');
  });

  it('counts the first and last REPEATED_BLOCK_EDGE blocks of a page, never the ones between', () => {
    const own = (n: number, count: number) => Array.from({ length: count }, (_, i) => `Own block ${n}.${i}`);
    const page = (n: number, before: number) =>
      [...own(n, before), FOOTER, ...own(n, REPEATED_BLOCK_EDGE), `${FOOTER} Really.`].join('\n\n');
    // FOOTER is the last block of the first REPEATED_BLOCK_EDGE, then one past them; the last block always counts.
    const kept = (before: number) => crawl(new RepeatedBlocks(), REPEATED_BLOCK_PAGES, (n) => page(n, before)).at(-1);
    const n = REPEATED_BLOCK_PAGES - 1;
    expect(kept(REPEATED_BLOCK_EDGE - 1)).toBe([...own(n, REPEATED_BLOCK_EDGE - 1), ...own(n, REPEATED_BLOCK_EDGE)].join('\n\n'));
    expect(kept(REPEATED_BLOCK_EDGE)).toBe([...own(n, REPEATED_BLOCK_EDGE), FOOTER, ...own(n, REPEATED_BLOCK_EDGE)].join('\n\n'));
  });

  it('drops the first blocks, several in a row, without leaving a blank line first', () => {
    const kept = crawl(new RepeatedBlocks(), REPEATED_BLOCK_PAGES, (n) => `${FOOTER}\n\n${FOOTER} Again.\n\nOwn text ${n}.`);
    expect(kept.at(-1)).toBe(`Own text ${REPEATED_BLOCK_PAGES - 1}.`);
  });

  it('drops the first block with the blank lines after it, a later one with those before it', () => {
    const kept = crawl(new RepeatedBlocks(), REPEATED_BLOCK_PAGES, (n) => `${FOOTER}\n\nOwn text ${n}.\n\n${FOOTER} Again.\n\nEnd of ${n}.\n\n${FOOTER} Again.`);
    expect(kept.at(-1)).toBe(`Own text ${REPEATED_BLOCK_PAGES - 1}.\n\nEnd of ${REPEATED_BLOCK_PAGES - 1}.`);
  });

  it('keeps a repeated block that is seen again on every page whatever else passes through', () => {
    const blocks = new RepeatedBlocks({ ...DEFAULT_REPEATED_BLOCK_LIMITS, pages: 2, fingerprints: 3 });
    const kept = crawl(blocks, 4, (n) => `${FOOTER}\n\nUnique block ${n}a.\n\nUnique block ${n}b.`);
    expect(kept.slice(1)).toEqual([1, 2, 3].map((n) => `Unique block ${n}a.\n\nUnique block ${n}b.`));
  });
});

describe('splitBlocks', () => {
  it('keeps a fenced code block with blank lines in it as one block', () => {
    const markdown = 'Intro.\n\n```js\na();\n\n\nb();\n```\n\n- one\n- two\n\nEnd.';
    expect(splitBlocks(markdown)).toEqual(['Intro.', '```js\na();\n\n\nb();\n```', '- one\n- two', 'End.']);
    expect(splitBlocks(markdown).join('\n\n')).toBe(markdown);
  });

  it('keeps a fence in a list item or a quote whole, blank lines and all', () => {
    const markdown = '-   ```\n    a\n    \n    b\n    ```\n    \n-   x\n\n> ```\n> q\n> \n> r\n> ```\n\nEnd.';
    expect(splitBlocks(markdown)).toEqual(['-   ```\n    a\n    \n    b\n    ```', '-   x', '> ```\n> q\n> \n> r\n> ```', 'End.']);
  });
});

describe('RepeatedBlocks in lists and quotes', () => {
  it('never drops code in a list item or a quote, the item it continues, nor a heading in a quote or a list, however often they repeat', () => {
    const html = (n: number) => `<main><p>Own text of page ${n}.</p><ul><li><pre><code>npm install\n\nnpm test</code></pre></li>
      <li>Then:<pre><code>npm start</code></pre></li></ul>
      <blockquote><pre><code>x = 1\n\ny = 2</code></pre></blockquote><blockquote><h2>Note</h2></blockquote><ol><li><h3>Step</h3></li></ol></main>`;
    const blocks = new RepeatedBlocks();
    const pages = Array.from({ length: REPEATED_BLOCK_PAGES * 2 }, (_, n) => extractPage(html(n), `https://site.test/${n}`));
    for (const [n, page] of pages.entries()) expect(blocks.strip(`https://site.test/${n}`, page.markdown)).toBe(page.markdown);
  });
});

describe('withoutRepeatedBlocks', () => {
  it('gives contentHash and wordCount of the markdown kept', () => {
    const blocks = new RepeatedBlocks();
    let last = extractPage('<main><p>x</p></main>', 'https://site.test/');
    for (let n = 0; n < REPEATED_BLOCK_PAGES; n++) {
      const url = `https://site.test/${n}`;
      const html = `<main><h1>Page ${n}</h1><p>Words of page ${n}.</p><p>Copyright 2026 Example Corp, all rights reserved.</p></main>`;
      last = withoutRepeatedBlocks(extractPage(html, url), url, blocks);
    }
    expect(last.markdown).toBe(`# Page ${REPEATED_BLOCK_PAGES - 1}\n\nWords of page ${REPEATED_BLOCK_PAGES - 1}.`);
    expect(last.metadata).toMatchObject(contentStats(last.markdown));
  });
});
