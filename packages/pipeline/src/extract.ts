// What a crawl keeps of a page: its title, the links to follow and the main
// content as markdown. The HTML is parsed once (cheerio over htmlparser2);
// all cleanup happens on that tree, and the markdown converter reads the main
// content straight from it (markdown-dom.ts), with no second parse.
import * as cheerio from 'cheerio';
import { type ChildNode, Element, hasChildren, isTag, type ParentNode, Text } from 'domhandler';
import TurndownService from 'turndown';
import { gfm } from 'turndown-plugin-gfm';
import { MAX_HTML_DEPTH, MAX_MARKDOWN_BYTES, MAX_TITLE_LENGTH } from '@crawlstream/shared';
import { boundDepth, boundMarkdown, cutChars } from './bounds.js';
import { markdownDom } from './markdown-dom.js';
import { parseHtml } from './parse.js';
import { normalizeUrl } from './url.js';

export interface ExtractedPage {
  /** `<title>`, else the first `<h1>`, whitespace collapsed, at most MAX_TITLE_LENGTH characters; may be empty. */
  title: string;
  /** At most MAX_MARKDOWN_BYTES of UTF-8, without C0 control characters but tab and newlines. */
  markdown: string;
  /** The markdown was cut at MAX_MARKDOWN_BYTES. */
  truncated: boolean;
  /** Absolute, normalized, deduped http(s) links in document order, the page itself excluded. */
  links: string[];
}

/** Where the content of a page lives, in order of trust. */
const MAIN_CONTENT = ['main', 'article', '[role=main]'];

/**
 * Chosen by measurement (bench/markdown/compare.mjs, Node 20, this machine):
 * node-html-markdown 2 converts 15 KB docs content ~1.5x faster (about 340 vs
 * 230 pages/s) and is level at 80 KB (about 30 each), but it drops inline code
 * in table cells and cannot fence code that contains a fence, which corrupts
 * the rest of the page. turndown got every check right, so turndown it is.
 */
export const turndown = new TurndownService({
  headingStyle: 'atx',
  codeBlockStyle: 'fenced',
  bulletListMarker: '-',
  emDelimiter: '_',
});
turndown.use(gfm);

export function extractPage(html: string, pageUrl: string): ExtractedPage {
  const $ = cheerio.load(parseHtml(html, MAX_HTML_DEPTH), { xml: { xmlMode: false, decodeEntities: true } });
  return extractBounded($, pageUrl);
}

/** extractPage for a document cheerio has already loaded (it is changed: chrome is dropped, deep nesting flattened). */
export function extractFromDocument($: cheerio.CheerioAPI, pageUrl: string): ExtractedPage {
  boundTree($);
  return extractBounded($, pageUrl);
}

function extractBounded($: cheerio.CheerioAPI, pageUrl: string): ExtractedPage {
  const base = documentBase($, pageUrl);
  const title = collapse($('title').first().text()) || collapse($('h1').first().text());
  // Links come from the whole page, navigation included: that is how a site is discovered.
  const links = collectLinks($, base, normalizeUrl(pageUrl));
  const { markdown, truncated } = boundMarkdown(contentMarkdown($, base), MAX_MARKDOWN_BYTES);
  return { title: cutChars(title, MAX_TITLE_LENGTH), links, markdown, truncated };
}

/**
 * Every later step walks the tree recursively somewhere (css-select,
 * turndown, textContent): a document nested 100,000 levels deep would
 * overflow the stack. parseHtml never builds one; a document loaded
 * elsewhere is flattened below MAX_HTML_DEPTH first.
 */
function boundTree($: cheerio.CheerioAPI): void {
  const root = $.root().get(0);
  if (root) boundDepth(root, MAX_HTML_DEPTH);
}

/** `<base href>` changes what relative links mean; only an http(s) one is honoured. */
function documentBase($: cheerio.CheerioAPI, pageUrl: string): string {
  const href = $('base[href]').first().attr('href');
  if (href === undefined) return pageUrl;
  const resolved = URL.parse(href.trim(), pageUrl);
  return resolved && (resolved.protocol === 'http:' || resolved.protocol === 'https:')
    ? resolved.href
    : pageUrl;
}

function collectLinks($: cheerio.CheerioAPI, base: string, self: string | null): string[] {
  const links = new Set<string>();
  for (const anchor of $('a[href]')) {
    const href = anchor.attribs.href?.trim();
    // A bare fragment is the page itself; normalizeUrl refuses mailto:, javascript: and the like.
    if (!href || href.startsWith('#')) continue;
    const url = normalizeUrl(href, base);
    if (url && url !== self) links.add(url);
  }
  return [...links];
}

/** Just the markdown of a loaded document's main content (the document is changed). */
export function markdownOf($: cheerio.CheerioAPI, pageUrl: string): string {
  boundTree($);
  return boundMarkdown(contentMarkdown($, documentBase($, pageUrl)), MAX_MARKDOWN_BYTES).markdown;
}

function contentMarkdown($: cheerio.CheerioAPI, base: string): string {
  const selector = MAIN_CONTENT.find((candidate) => $(candidate).length > 0);
  const container = $(selector ?? 'body').get(0) ?? $.root().get(0);
  if (!container || !hasChildren(container)) return '';
  prepareContent($, container, { base, inMain: selector !== undefined });
  return turndown.turndown(markdownDom(container) as unknown as TurndownService.Node).trim();
}

/** Page chrome and things that are not prose. */
const CHROME = new Set([
  'nav',
  'footer',
  'aside',
  'script',
  'style',
  'noscript',
  'svg',
  'form',
  'template',
]);
/** Permalink anchors next to headings (Sphinx, MkDocs, Docusaurus): a `¶` in markdown is noise. */
const PERMALINK_CLASS = /(?:^|\s)(?:headerlink|hash-link|anchor-link)(?:\s|$)/;
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);

/**
 * One walk over the content: drops chrome, makes links and images absolute
 * and rewrites code blocks. A walk, not cheerio's find(): find() sorts its
 * results by document position, which is quadratic in a flat list of
 * thousands of links (10 s for 30,000 anchors).
 */
function prepareContent(
  $: cheerio.CheerioAPI,
  container: ParentNode,
  { base, inMain }: { base: string; inMain: boolean },
): void {
  const stack: ParentNode[] = [container];
  for (let parent = stack.pop(); parent; parent = stack.pop()) {
    const kept = parent.children.filter((child) => !(isTag(child) && isDropped(child, inMain)));
    if (kept.length !== parent.children.length) relink(parent, kept);
    for (const child of kept) {
      if (!isTag(child)) continue;
      if (child.name === 'a') absolutize(child, 'href', base);
      else if (child.name === 'img') absolutize(child, 'src', base);
      if (child.name === 'pre') normalizeCodeBlock($, child);
      else stack.push(child);
    }
  }
}

function isDropped(element: Element, inMain: boolean): boolean {
  if (CHROME.has(element.name)) return true;
  if (element.name === 'a' && PERMALINK_CLASS.test(element.attribs.class ?? '')) return true;
  // Inside main or article a <header> usually holds the page's own h1 (Docusaurus);
  // in a whole body it is the site header.
  if (element.name === 'header') return !inMain || !containsHeading(element);
  return false;
}

function containsHeading(element: Element): boolean {
  return element.children.some(
    (child) => isTag(child) && (HEADINGS.has(child.name) || containsHeading(child)),
  );
}

function relink(parent: ParentNode, children: ChildNode[]): void {
  parent.children = children;
  children.forEach((child, index) => {
    child.prev = children[index - 1] ?? null;
    child.next = children[index + 1] ?? null;
  });
}

/** Relative links in stored markdown would point nowhere once it leaves the site. */
function absolutize(element: Element, attribute: string, base: string): void {
  const value = element.attribs[attribute]?.trim();
  if (!value || value.startsWith('#')) return;
  const url = URL.parse(value, base);
  if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
    element.attribs[attribute] = url.href;
  }
}

/**
 * Highlighters wrap code in one span per token and put the language on an
 * ancestor (`<div class="highlight-python"><pre>`, `<div class="language-js">`).
 * Rewriting each block as `<pre><code class="language-x">text</code></pre>`
 * lets the converter fence it with its language, and spares it the spans.
 */
function normalizeCodeBlock($: cheerio.CheerioAPI, pre: Element): void {
  const language = codeLanguage(pre);
  const code = new Element('code', language ? { class: `language-${language}` } : {});
  const text = new Text($(pre).text());
  code.children = [text];
  text.parent = code;
  code.parent = pre;
  pre.children = [code];
}

const LANGUAGE_CLASS = /(?:^|\s)(?:language|lang|highlight-source|highlight)-([\w+#.-]+)/;
const NOT_A_LANGUAGE = new Set(['default', 'none', 'text', 'plain', 'plaintext', 'notranslate']);

function codeLanguage(pre: Element): string | undefined {
  const candidates: Element[] = [];
  for (const child of pre.children)
    if (isTag(child) && child.name === 'code') candidates.push(child);
  for (let node: ParentNode | null = pre, depth = 0; node && isTag(node) && depth < 3; depth++) {
    candidates.push(node);
    node = node.parent;
  }
  for (const element of candidates) {
    const language = LANGUAGE_CLASS.exec(element.attribs.class ?? '')?.[1]?.toLowerCase();
    if (language && !NOT_A_LANGUAGE.has(language)) return language;
  }
  return undefined;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
