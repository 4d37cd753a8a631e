// The llms.txt files of a crawl (https://llmstxt.org): an index of the stored
// pages (`# site`, `> summary`, `## section` per first path segment under the
// start URL's path, `- [title](url): description` per page) and the whole site
// as one markdown document (llms-full.txt). Pure functions over page records;
// the routes (llms.ts) read the store in batches and stream what these build.
import type { PageResult } from '@crawlstream/shared';

/** A page's description is cut to this many characters in the index. */
export const MAX_LLMS_DESCRIPTION_LENGTH = 500;

/** What the index keeps of a page: its line, and what makes the site's title. */
export interface IndexEntry {
  section: string;
  line: string;
}

/** Whitespace (newlines included) collapsed to single spaces. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function decoded(segment: string): string {
  try {
    return oneLine(decodeURIComponent(segment));
  } catch {
    return segment;
  }
}

/** The title a page is listed under: its own, else its URL. */
export function pageTitle(page: Pick<PageResult, 'title' | 'url'>): string {
  return oneLine(page.title) || page.url;
}

/** A page record's description, when it has one (the worker stores it since #14; older records have none). */
export function pageDescription(page: PageResult): string | undefined {
  const raw = page.description;
  if (typeof raw !== 'string') return undefined;
  const text = oneLine(raw);
  if (text === '') return undefined;
  if (text.length <= MAX_LLMS_DESCRIPTION_LENGTH) return text;
  // Cut without splitting a surrogate pair, marked with an ellipsis.
  let cut = MAX_LLMS_DESCRIPTION_LENGTH - 1;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return `${text.slice(0, cut)}…`;
}

/** Link text with the characters that would end or nest the link escaped. */
function linkText(text: string): string {
  return text.replace(/[\\[\]]/g, (c) => `\\${c}`);
}

/** A URL that cannot end the link's parentheses early. */
function linkTarget(url: string): string {
  return url.replace(/[()\s<>]/g, (c) => encodeURIComponent(c).replace('(', '%28').replace(')', '%29'));
}

/** The directory of the start URL's path: what sections are counted from. */
function basePath(start: URL): string {
  return start.pathname.slice(0, start.pathname.lastIndexOf('/') + 1);
}

/** The name of the first section: the pages directly under the start URL's directory. */
export function topSectionName(startUrl: string): string {
  const start = URL.parse(startUrl);
  if (!start) return 'Pages';
  const segments = basePath(start).split('/').filter(Boolean);
  return segments.length > 0 ? decoded(segments[segments.length - 1]!) : start.host;
}

/**
 * The section a page is listed in: the first path segment under the start
 * URL's directory when the page is below it (`/docs/guide/x` under
 * `/docs/`: `guide`), the first section for pages directly in it (and the
 * start page), the host for pages of another origin, and the first segment
 * of the path for pages of the origin outside the start's directory.
 */
export function sectionOf(pageUrl: string, startUrl: string): string {
  const top = topSectionName(startUrl);
  const start = URL.parse(startUrl);
  const page = URL.parse(pageUrl);
  if (!start || !page) return top;
  if (page.origin !== start.origin) return page.host;
  const base = basePath(start);
  const relative = page.pathname.startsWith(base) ? page.pathname.slice(base.length) : page.pathname.slice(1);
  const slash = relative.indexOf('/');
  if (slash <= 0) return top;
  return decoded(relative.slice(0, slash)) || top;
}

/** The index's line for a page: `- [title](url)` and `: description` when it has one. */
export function indexEntry(page: PageResult, startUrl: string): IndexEntry {
  const description = pageDescription(page);
  const line = `- [${linkText(pageTitle(page))}](${linkTarget(page.url)})${description ? `: ${description}` : ''}`;
  return { section: sectionOf(page.url, startUrl), line };
}

/** Collects index entries by section: the first section first, then in the order sections first appear. */
export class LlmsIndex {
  private readonly sections = new Map<string, string[]>();
  private siteTitle: { title: string; exact: boolean } | undefined;
  count = 0;

  constructor(readonly startUrl: string) {
    this.sections.set(topSectionName(startUrl), []);
  }

  add(page: PageResult): void {
    const entry = indexEntry(page, this.startUrl);
    let lines = this.sections.get(entry.section);
    if (!lines) {
      lines = [];
      this.sections.set(entry.section, lines);
    }
    lines.push(entry.line);
    this.count++;
    // The start page names the site; a page at depth 0 stands in (the start after a redirect).
    const exact = page.url === this.startUrl;
    if (oneLine(page.title) !== '' && (exact ? !this.siteTitle?.exact : page.depth === 0 && !this.siteTitle)) {
      this.siteTitle = { title: oneLine(page.title), exact };
    }
  }

  /** `# title` and the `> ` summary. */
  header(running: boolean): string {
    const title = this.siteTitle?.title ?? URL.parse(this.startUrl)?.host ?? this.startUrl;
    const pages = `${this.count} ${this.count === 1 ? 'page' : 'pages'}`;
    const summary = running
      ? `Documentation crawled from ${this.startUrl}: ${pages} so far (the crawl is still running).`
      : `Documentation crawled from ${this.startUrl}: ${pages}.`;
    return `# ${title}\n\n> ${summary}\n`;
  }

  /** The document, a section at a time (a section is a run of short lines). */
  *chunks(running: boolean): Generator<string> {
    yield this.header(running);
    for (const [name, lines] of this.sections) {
      if (lines.length === 0) continue;
      yield `\n## ${name}\n\n`;
      for (let i = 0; i < lines.length; i += 1000) yield `${lines.slice(i, i + 1000).join('\n')}\n`;
    }
  }
}

/** A page in llms-full.txt: `# title`, `Source: url`, its markdown (title and URL only for a page stored without markdown: `formats`, discoverOnly). */
export function fullSection(page: PageResult): string {
  const head = `# ${pageTitle(page)}\n\nSource: ${page.url}\n`;
  return page.markdown === undefined ? head : `${head}\n${page.markdown.trim()}\n`;
}

/** Between two pages of llms-full.txt. */
export const FULL_SEPARATOR = '\n---\n\n';
