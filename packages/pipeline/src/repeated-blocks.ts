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
  REPEATED_BLOCK_EDGE,
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
  /** Blocks at either end of a page's markdown that can be boilerplate. */
  edgeBlocks: number;
}

export const DEFAULT_REPEATED_BLOCK_LIMITS: RepeatedBlockLimits = {
  pages: REPEATED_BLOCK_PAGES,
  fingerprints: REPEATED_BLOCK_FINGERPRINTS,
  maxChars: REPEATED_BLOCK_MAX_CHARS,
  minWords: REPEATED_BLOCK_MIN_WORDS,
  edgeBlocks: REPEATED_BLOCK_EDGE,
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
   * is counted, dropped or not. Candidates are among the first and last
   * `limits.edgeBlocks` blocks, where a page's boilerplate sits: this runs on
   * the worker's main thread, and a 3 MiB markdown of 300,000 short blocks
   * took a second to fingerprint whole.
   */
  strip(pageKey: string, markdown: string): string {
    // 30 bits: a small integer in V8, kept in the arrays unboxed; two pages that share one only count once.
    const page = fingerprint(pageKey) % 2 ** 30;
    const onThisPage = new Set<number>();
    const cuts: [number, number][] = [];
    for (const block of edgeBlocks(markdown, this.limits.edgeBlocks)) {
      // A list item with an indented continuation (its code, its second paragraph) is not one block.
      if (block.continued) continue;
      const key = this.candidateKey(markdown, block);
      if (key === undefined) continue;
      const repeated = onThisPage.has(key) ? this.isRepeated(key) : this.see(key, page);
      onThisPage.add(key);
      // The block goes with the blank lines before it (after it, for the first block).
      if (repeated) cuts.push(block.previousEnd >= 0 ? [block.previousEnd, block.end] : [block.start, block.nextStart]);
    }
    if (cuts.length === 0) return markdown;
    cuts.sort((a, b) => a[0] - b[0]);
    let kept = '';
    let from = 0;
    for (const [cutStart, cutEnd] of cuts) {
      if (cutStart > from) kept += markdown.slice(from, cutStart);
      from = Math.max(from, cutEnd);
    }
    // Cuts that meet at the start (the first blocks, each with what follows it) can leave a blank line first.
    return (kept + markdown.slice(from)).replace(/^(?:[ \t]*\n)+/, '');
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
  private candidateKey(markdown: string, { start, end }: Block): number | undefined {
    // As written, link targets and all: longer than this, it is not short.
    if (end - start > this.limits.maxChars * 4) return undefined;
    const block = markdown.slice(start, end);
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

/** A block of a markdown, by its offsets, and where its neighbours are. */
interface Block {
  start: number;
  /** Exclusive. */
  end: number;
  /** End of the block before; -1 for the first. */
  previousEnd: number;
  /** Start of the block after; the markdown's length for the last. */
  nextStart: number;
  /** The block after is indented: a continuation of this one (a list item's code or paragraph). */
  continued: boolean;
}

/**
 * Calls `found` with the offsets of each block of a markdown, in order: runs
 * of lines between blank lines, a fenced code block (blank lines and all)
 * one block with what surrounds it up to the next blank line. One pass,
 * without an array of the lines.
 */
function scanBlocks(markdown: string, found: (start: number, end: number) => void): void {
  let start = -1;
  let end = -1;
  let fence: string | undefined;
  let backticks = markdown.indexOf('```');
  let tildes = markdown.indexOf('~~~');
  for (let position = 0; position <= markdown.length; ) {
    let newline = markdown.indexOf('\n', position);
    if (newline === -1) newline = markdown.length;
    if (backticks !== -1 && backticks < position) backticks = markdown.indexOf('```', position);
    if (tildes !== -1 && tildes < position) tildes = markdown.indexOf('~~~', position);
    const fenceLike = (backticks !== -1 && backticks < newline) || (tildes !== -1 && tildes < newline);
    const own = fenceLike ? ownLine(markdown.slice(position, newline)) : '';
    if (fence !== undefined) {
      // Blank lines in the code (`    ` in a list item, `> ` in a quote) stay in the block.
      end = newline;
      const close = FENCE.exec(own)?.[1];
      if (close !== undefined && close[0] === fence[0] && close.length >= fence.length && own.trim() === close) fence = undefined;
    } else if (isBlank(markdown, position, newline)) {
      if (start >= 0) found(start, end);
      start = -1;
    } else {
      if (start === -1) start = position;
      end = newline;
      if (fenceLike) fence = FENCE.exec(own)?.[1];
    }
    position = newline + 1;
  }
  if (start >= 0) found(start, end);
}

/** A line without what starts it inside lists and quotes; as it is when it starts with a fence character (no regex). */
function ownLine(line: string): string {
  const lead = line.charCodeAt(0);
  return lead === 96 || lead === 126 ? line : line.replace(CONTAINER, '');
}

/** Only spaces, tabs and carriage returns between the offsets (no slice of the line). */
function isBlank(markdown: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = markdown.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** The blocks of a markdown; joined with a blank line they give it back (turndown separates blocks with exactly one). */
export function splitBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  scanBlocks(markdown, (start, end) => blocks.push(markdown.slice(start, end)));
  return blocks;
}

/** The first `edge` blocks and the last `edge` (all of them when there are no more than twice as many), in order. */
function edgeBlocks(markdown: string, edge: number): Block[] {
  const first: Block[] = [];
  /** The last `edge` blocks, a ring: its objects are reused, a block of the middle allocates nothing. */
  const last: Block[] = [];
  let count = 0;
  let previous: Block | undefined;
  scanBlocks(markdown, (start, end) => {
    const previousEnd = previous?.end ?? -1;
    if (previous) {
      previous.nextStart = start;
      const lead = markdown.charCodeAt(start);
      previous.continued = lead === 32 || lead === 9;
    }
    const slot = first.length < edge ? -1 : (count - edge) % edge;
    const reused = slot === -1 ? undefined : last[slot];
    const block = reused ?? { start, end, previousEnd, nextStart: markdown.length, continued: false };
    if (reused) {
      reused.start = start;
      reused.end = end;
      reused.previousEnd = previousEnd;
      reused.nextStart = markdown.length;
      reused.continued = false;
    }
    if (slot === -1) first.push(block);
    else last[slot] = block;
    count++;
    previous = block;
  });
  if (count <= 2 * edge) return [...first, ...last];
  const oldest = (count - edge) % edge;
  return [...first, ...last.slice(oldest), ...last.slice(0, oldest)];
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
