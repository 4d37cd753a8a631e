import type { PageResult } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { fullSection, indexEntry, LlmsIndex, MAX_LLMS_DESCRIPTION_LENGTH, pageDescription, sectionOf, topSectionName } from './llms-format.js';

const START = 'https://example.test/docs/';

function page(url: string, title: string, extra: Record<string, unknown> = {}): PageResult {
  return { url, title, depth: 1, status: 200, markdown: 'body', fetchedAt: '2026-01-01T00:00:00.000Z', ...extra } as PageResult;
}

describe('sections', () => {
  it('the first path segment under the start URL\'s directory; pages directly in it in the first section', () => {
    expect(topSectionName(START)).toBe('docs');
    expect(topSectionName('https://example.test/')).toBe('example.test');
    expect(topSectionName('https://example.test/docs/index.html')).toBe('docs');
    expect(sectionOf(START, START)).toBe('docs');
    expect(sectionOf(`${START}intro`, START)).toBe('docs');
    expect(sectionOf(`${START}guide/`, START)).toBe('guide');
    expect(sectionOf(`${START}guide/a/b`, START)).toBe('guide');
    expect(sectionOf(`${START}getting%20started/x`, START)).toBe('getting started');
    expect(sectionOf(`${START}bad%E0%A4%A/x`, START)).toBe('bad%E0%A4%A');
    // Outside the start's directory: the segment from the root; another origin: its host.
    expect(sectionOf('https://example.test/blog/post', START)).toBe('blog');
    expect(sectionOf('https://example.test/about', START)).toBe('docs');
    expect(sectionOf('https://api.example.test/docs/x', START)).toBe('api.example.test');
    expect(sectionOf('https://example.test/x/y', 'https://example.test/start.html')).toBe('x');
  });
});

describe('index lines', () => {
  it('- [title](url), link text and target escaped, the URL when there is no title', () => {
    expect(indexEntry(page(`${START}a`, ' A \n title '), START).line).toBe(`- [A title](${START}a)`);
    expect(indexEntry(page(`${START}b`, 'x [y] \\ z'), START).line).toBe(`- [x \\[y\\] \\\\ z](${START}b)`);
    expect(indexEntry(page(`${START}c_(d)`, ''), START).line).toBe(`- [${START}c_(d)](${START}c_%28d%29)`);
  });

  it('`: description` once the page record has one, on one line, cut at MAX_LLMS_DESCRIPTION_LENGTH', () => {
    expect(indexEntry(page(`${START}a`, 'A', { description: ' What\nA is. ' }), START).line).toBe(`- [A](${START}a): What A is.`);
    expect(indexEntry(page(`${START}a`, 'A', { description: '  ' }), START).line).toBe(`- [A](${START}a)`);
    expect(indexEntry(page(`${START}a`, 'A', { description: 7 }), START).line).toBe(`- [A](${START}a)`);
    const atLimit = 'd'.repeat(MAX_LLMS_DESCRIPTION_LENGTH);
    expect(pageDescription(page(START, 'A', { description: atLimit }))).toBe(atLimit);
    const over = pageDescription(page(START, 'A', { description: `${atLimit}e` }))!;
    expect(over).toHaveLength(MAX_LLMS_DESCRIPTION_LENGTH);
    expect(over.endsWith('d…')).toBe(true);
    // A cut never splits a surrogate pair.
    const emoji = `${'d'.repeat(MAX_LLMS_DESCRIPTION_LENGTH - 2)}😀😀`;
    expect(pageDescription(page(START, 'A', { description: emoji }))).toBe(`${'d'.repeat(MAX_LLMS_DESCRIPTION_LENGTH - 2)}…`);
  });
});

describe('LlmsIndex', () => {
  it('titles the site after the start page, else a depth-0 page, else the host', () => {
    const index = new LlmsIndex(START);
    expect(index.header(false)).toBe(`# example.test\n\n> Documentation crawled from ${START}: 0 pages.\n`);
    index.add(page(`${START}a`, 'Not the start'));
    index.add({ ...page('https://example.test/docs/redirected', 'Seed'), depth: 0 });
    expect(index.header(false)).toMatch(/^# Seed\n/);
    index.add({ ...page(START, 'The Docs'), depth: 0 });
    index.add({ ...page(`${START}b`, 'Other seed'), depth: 0 });
    expect(index.header(false)).toBe(`# The Docs\n\n> Documentation crawled from ${START}: 4 pages.\n`);
    expect(index.header(true)).toContain(': 4 pages so far (the crawl is still running).');
  });

  it('puts the first section first, then sections as they first appear, pages in the order added', () => {
    const index = new LlmsIndex(START);
    index.add(page(`${START}b/1`, 'B1'));
    index.add(page(`${START}a/1`, 'A1'));
    index.add(page(`${START}top`, 'Top'));
    index.add(page(`${START}b/2`, 'B2'));
    const text = [...index.chunks(false)].join('');
    expect(text.slice(text.indexOf('\n## '))).toBe(
      `\n## docs\n\n- [Top](${START}top)\n\n## b\n\n- [B1](${START}b/1)\n- [B2](${START}b/2)\n\n## a\n\n- [A1](${START}a/1)\n`,
    );
  });
});

describe('llms-full sections', () => {
  it('# title, Source: url, the markdown trimmed', () => {
    expect(fullSection(page(`${START}a`, 'A', { markdown: '\n\nText.\n\n' }))).toBe(`# A\n\nSource: ${START}a\n\nText.\n`);
  });
});
