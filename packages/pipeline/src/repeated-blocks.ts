// Boilerplate that no tag, role, class or link density gives away: short
// blocks of markdown that repeat across many pages of the same crawl ("Was
// this page helpful? Yes No", a copyright line, a version banner). As
// Trafilatura's deduplication does, a bounded LRU of fingerprints counts where
// each short block was seen; unlike it, a block is dropped once it has been
// seen on REPEATED_BLOCK_PAGES distinct pages, not on any repetition, and
// only short prose is a candidate (Trafilatura dedupes long segments: a
// repeated tutorial introduction is content). Headings, code blocks and
// tables are never candidates. The markdown, not the HTML tree, is what is
// counted, so the one count serves pages extracted inline and in threads.
import { createHash } from 'node:crypto';
import {
  REPEATED_BLOCK_FINGERPRINTS,
  REPEATED_BLOCK_MAX_CHARS,
  REPEATED_BLOCK_MIN_WORDS,
  REPEATED_BLOCK_PAGES,
} from '@crawlstream/shared';
import type { ExtractedPage } from './extract.js';
import { contentStats } from './metadata.js';

export interface RepeatedBlockLimits {
  /** Distinct pages a block is seen on before it is dropped (from that page on). */
  pages: number;
  /** Fingerprints held at most; the least recently seen goes first. */
  fingerprints: number;
  /** Longest block that can be boilerplate: characters, whitespace runs as one, link targets not counted. */
  maxChars: number;
  /** Fewest words a block that can be boilerplate has (shorter: a label, "Note", a tab's name). */
  minWords: number;
}

export const DEFAULT_REPEATED_BLOCK_LIMITS: RepeatedBlockLimits = {
  pages: REPEATED_BLOCK_PAGES,
  fingerprints: REPEATED_BLOCK_FINGERPRINTS,
  maxChars: REPEATED_BLOCK_MAX_CHARS,
  minWords: REPEATED_BLOCK_MIN_WORDS,
};

/** A seen block: the pages it was seen on so far (their keys), or REPEATED once they reach `pages`. */
const REPEATED = 0;
type Seen = number[] | typeof REPEATED;

/**
 * What starts a line inside lists and block quotes (`-   `, `1.  `, `> `,
 * indentation): turndown writes a fence or a heading there too (`-   ```js`,
 * `> ## Note`), and a line of the code inside a list item is indented.
 */
const CONTAINER = /^(?:[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+|[ \t]*>[ \t]?)*[ \t]*/;
const FENCE = /^(`{3,}|~{3,})/;
const HEADING = /^#{1,6}(?:\s|$)/;
const TABLE_ROW = /^\|/;
const LINK_TARGET = /\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+"[^"]*")?\)/g;
const WORD = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * The short blocks seen on a crawl's pages, for one process: a worker keeps
 * one per crawl (crawl-context.ts) and forgets it with the crawl.
 */
export class RepeatedBlocks {
  private readonly seen = new Map<number, Seen>();

  constructor(private readonly limits: RepeatedBlockLimits = DEFAULT_REPEATED_BLOCK_LIMITS) {}

  /** Fingerprints held now. */
  get size(): number {
    return this.seen.size;
  }

  /**
   * The markdown without the candidate blocks seen on `limits.pages` distinct
   * pages, this one included (a page seen again counts once). Every candidate
   * is counted, dropped or not.
   */
  strip(pageKey: string, markdown: string): string {
    // 30 bits: a small integer in V8, kept in the arrays unboxed; two pages that share one only count once.
    const page = fingerprint(pageKey) % 2 ** 30;
    const blocks = splitBlocks(markdown);
    const onThisPage = new Set<number>();
    let dropped = false;
    const kept = blocks.filter((block, i) => {
      // A list item with an indented continuation (its code, its second paragraph) is not one block.
      if (/^[ \t]/.test(blocks[i + 1] ?? '')) return true;
      const key = this.candidateKey(block);
      if (key === undefined) return true;
      if (onThisPage.has(key)) return !this.isRepeated(key);
      onThisPage.add(key);
      if (this.see(key, page)) {
        dropped = true;
        return false;
      }
      return true;
    });
    return dropped ? kept.join('\n\n') : markdown;
  }

  private isRepeated(key: number): boolean {
    return this.seen.get(key) === REPEATED;
  }

  /** Counts `page` for the block; true when the block is (now) repeated. */
  private see(key: number, page: number): boolean {
    let seen = this.seen.get(key);
    if (seen !== undefined) this.seen.delete(key);
    if (seen === undefined) seen = [];
    if (seen !== REPEATED && !seen.includes(page)) {
      // An array of the exact length: push() and a spread reserve 17 slots (228 KB per 1,024 fingerprints, against 100).
      seen = seen.length + 1 >= this.limits.pages ? REPEATED : seen.concat(page);
    }
    this.seen.set(key, seen);
    if (this.seen.size > this.limits.fingerprints) {
      // Most recently seen last: the first is the least recently seen.
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return seen === REPEATED;
  }

  /** The block's fingerprint if it can be boilerplate: short prose of a few words at least, no heading, code or table. */
  private candidateKey(block: string): number | undefined {
    // Cheap bound first: the text without link targets is never longer than the block.
    const text = block.replace(LINK_TARGET, ']').replace(/\s+/g, ' ').trim();
    if (text.length > this.limits.maxChars || (text.match(WORD)?.length ?? 0) < this.limits.minWords) return undefined;
    for (const line of block.split('\n')) {
      const own = line.replace(CONTAINER, '');
      if (FENCE.test(own) || HEADING.test(own) || TABLE_ROW.test(own)) return undefined;
    }
    return fingerprint(text);
  }
}

/** 48 bits of SHA-1 as a number: a Map key without a string per entry; a collision among 512 keys is about 2^-31. */
function fingerprint(text: string): number {
  return Number.parseInt(createHash('sha1').update(text, 'utf8').digest('hex').slice(0, 12), 16);
}

/**
 * The blocks of a markdown: runs of lines between blank lines, a fenced code
 * block (blank lines and all) one block with what surrounds it up to the
 * next blank line. Joined with a blank line they give the markdown back
 * (turndown separates blocks with exactly one).
 */
export function splitBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  let current: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split('\n')) {
    const own = line.replace(CONTAINER, '');
    if (fence !== undefined) {
      // Blank lines in the code (`    ` in a list item, `> ` in a quote) stay in the block.
      current.push(line);
      const close = FENCE.exec(own)?.[1];
      if (close !== undefined && close[0] === fence[0] && close.length >= fence.length && own.trim() === close) fence = undefined;
      continue;
    }
    if (line.trim() === '') {
      if (current.length > 0) blocks.push(current.join('\n'));
      current = [];
      continue;
    }
    const open = FENCE.exec(own)?.[1];
    if (open !== undefined) fence = open;
    current.push(line);
  }
  if (current.length > 0) blocks.push(current.join('\n'));
  return blocks;
}

/**
 * The page without its repeated blocks, its contentHash and wordCount those
 * of the markdown kept (the same page when nothing was dropped).
 */
export function withoutRepeatedBlocks(page: ExtractedPage, pageKey: string, blocks: RepeatedBlocks): ExtractedPage {
  const markdown = blocks.strip(pageKey, page.markdown);
  if (markdown === page.markdown) return page;
  return { ...page, markdown, metadata: { ...page.metadata, ...contentStats(markdown) } };
}
