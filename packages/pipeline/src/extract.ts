// What a crawl keeps of a page: its title, the links to follow and the main
// content as markdown. The HTML is parsed once (cheerio over htmlparser2);
// all cleanup happens on that tree, and the markdown converter reads the main
// content straight from it (markdown-dom.ts), with no second parse.
import * as cheerio from 'cheerio';
import { type AnyNode, type ChildNode, Element, hasChildren, isTag, type ParentNode, Text } from 'domhandler';
import TurndownService from 'turndown';
import { gfm } from 'turndown-plugin-gfm';
import { MAX_HTML_DEPTH, MAX_MARKDOWN_BYTES, MAX_ROWSPAN, MAX_TITLE_LENGTH } from '@crawlstream/shared';
import { isAppShell, visibleLength } from './app-shell.js';
import { boundDepth, boundMarkdown, cutChars } from './bounds.js';
import { markdownDom } from './markdown-dom.js';
import { contentStats, documentMetadata, type PageMetadata } from './metadata.js';
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
  /** Description, language, canonical URL, content hash and word count (metadata.ts); with `discoverOnly` only those of empty markdown. */
  metadata: PageMetadata;
  /** With the `html` option: the cleaned content HTML the markdown is made from (unbounded: the store cuts it). */
  html?: string;
  /** With the `appShell` option: whether the page is an app shell (app-shell.ts), read before any cleanup. */
  appShell?: boolean;
}

/**
 * What of a page becomes its markdown (the crawl options of the same names).
 * Title and links always come from the whole page.
 */
export interface ExtractOptions {
  /** false: the whole body, navigation and other boilerplate kept (scripts, styles and the like still dropped). Default true. */
  onlyMainContent?: boolean;
  /** When not empty: the content of the elements these CSS selectors match, in document order, instead of the main content. */
  includeSelectors?: readonly string[];
  /** Elements these CSS selectors match are removed before the markdown is made. */
  excludeSelectors?: readonly string[];
  /** Also serialize the cleaned content the markdown is made from (`html` on the result). */
  html?: boolean;
  /** Title and links only (map mode): no markdown (empty), no metadata, no content cleanup. */
  discoverOnly?: boolean;
  /** Also tell whether the page is an app shell (`appShell` on the result), from the same parse. */
  appShell?: boolean;
}

/** The cleaned content as HTML (the `html` format): the parse's mode, entities written as UTF-8. */
const SERIALIZE = { xml: { xmlMode: false, decodeEntities: true, encodeEntities: 'utf8' as const } };

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
  // No raw HTML in the markdown, ever: what a rule would keep as HTML (the GFM
  // plugin keeps tables it cannot convert) becomes its text.
  keepReplacement: (content, node) => ((node as { isBlock?: boolean }).isBlock ? `\n\n${content}\n\n` : content),
});
turndown.use(gfm);
// A cell's content on one line with its pipes escaped, or the row breaks. (A
// function filter: an array filter lowercases every node's name, rule by rule.)
turndown.addRule('tableCellInline', {
  filter: (node) => node.nodeName === 'TD' || node.nodeName === 'TH',
  replacement: (content, node) => {
    const cell = content.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
    return `${node.parentNode?.firstChild === node ? '| ' : ' '}${cell} |`;
  },
});
// Text that reads as a tag (`<div>` written in prose) is escaped, so that a
// renderer shows it instead of interpreting it.
const escapeMarkdown = turndown.escape.bind(turndown);
turndown.escape = (text: string) => escapeMarkdown(text).replace(/<(?=[A-Za-z/!?])/g, '\\<');

export function extractPage(html: string, pageUrl: string, options: ExtractOptions = {}): ExtractedPage {
  const $ = cheerio.load(parseHtml(html, MAX_HTML_DEPTH), { xml: { xmlMode: false, decodeEntities: true } });
  return extractBounded($, pageUrl, options);
}

/** extractPage for a document cheerio has already loaded (it is changed: chrome is dropped, deep nesting flattened). */
export function extractFromDocument($: cheerio.CheerioAPI, pageUrl: string, options: ExtractOptions = {}): ExtractedPage {
  boundTree($);
  return extractBounded($, pageUrl, options);
}

function extractBounded($: cheerio.CheerioAPI, pageUrl: string, options: ExtractOptions): ExtractedPage {
  const base = documentBase($, pageUrl);
  const title = cutChars(collapse($('title').first().text()) || collapse($('h1').first().text()), MAX_TITLE_LENGTH);
  // Read before the content's cleanup changes the tree.
  const shell = options.appShell ? { appShell: isAppShell($) } : {};
  if (options.discoverOnly) {
    return { title, links: collectLinks($, base, normalizeUrl(pageUrl)), markdown: '', truncated: false, metadata: contentStats(''), ...shell };
  }
  // Read before the content's cleanup changes the tree.
  const documentMeta = documentMetadata($, base);
  // Links come from the whole page, navigation included: that is how a site is discovered.
  const links = collectLinks($, base, normalizeUrl(pageUrl));
  const content = contentOf($, base, options);
  const { markdown, truncated } = boundMarkdown(content.markdown, MAX_MARKDOWN_BYTES);
  const metadata = { ...documentMeta, ...contentStats(markdown) };
  return { title, links, markdown, truncated, metadata, ...(options.html ? { html: content.html ?? '' } : {}), ...shell };
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
export function markdownOf($: cheerio.CheerioAPI, pageUrl: string, options: ExtractOptions = {}): string {
  boundTree($);
  return boundMarkdown(contentOf($, documentBase($, pageUrl), { ...options, html: false }).markdown, MAX_MARKDOWN_BYTES).markdown;
}

/** The content's markdown, and with `options.html` the cleaned content as HTML (what turndown is given). */
function contentOf($: cheerio.CheerioAPI, base: string, options: ExtractOptions): { markdown: string; html?: string } {
  const container = cleanContent($, base, options);
  if (!container || !hasChildren(container)) return { markdown: '' };
  // Serialized before the conversion; as UTF-8 text (only & < > " ' escaped), not numeric entities for every non-ASCII character.
  const html = options.html ? $.html(container.children, SERIALIZE) : undefined;
  const markdown = turndown.turndown(markdownDom(container) as unknown as TurndownService.Node).trim();
  return html === undefined ? { markdown } : { markdown, html };
}

/** The element whose children are the page's cleaned content (main content or selected elements), or none. */
function cleanContent($: cheerio.CheerioAPI, base: string, options: ExtractOptions): AnyNode | undefined {
  const boilerplate = options.onlyMainContent !== false;
  // Selectors were checked when the crawl was accepted (shared/selector.ts), with this engine.
  if (options.excludeSelectors && options.excludeSelectors.length > 0) detach(matching($, options.excludeSelectors));
  let container: AnyNode | undefined;
  if (options.includeSelectors && options.includeSelectors.length > 0) {
    const matched = includedElements($, options.includeSelectors);
    // A selector that matches nothing gives no content, not the whole page.
    if (matched.length === 0) return undefined;
    detach(new Set(matched));
    container = new Element('div', {});
    // Each matched element is a content of its own: kept whatever it is (a
    // nav asked for is wanted), its size rules measured against itself.
    const parts = matched.map((element) => {
      const part = new Element('div', {});
      setChildren(part, [element]);
      prepareContent(part, { base, inMain: true, boilerplate, pinned: new Set([element]) });
      return part;
    });
    setChildren(container, parts);
  } else {
    const selector = boilerplate ? MAIN_CONTENT.find((candidate) => $(candidate).length > 0) : undefined;
    container = $(selector ?? 'body').get(0) ?? $.root().get(0);
    if (!container || !hasChildren(container)) return undefined;
    prepareContent(container, { base, inMain: selector !== undefined, boilerplate });
  }
  return container;
}

/**
 * The elements any of the selectors matches. find(), not $(selector): $()
 * reads a string with a tag in it (`p:contains("<b>")`) as HTML to create.
 */
function matching($: cheerio.CheerioAPI, selectors: readonly string[]): Set<Element> {
  const matched = new Set<Element>();
  for (const selector of selectors) for (const node of $.root().find(selector)) if (isTag(node)) matched.add(node);
  return matched;
}

/**
 * Takes the elements out of their parents, each parent's children filtered
 * once: cheerio's remove() splices them out one by one, which is quadratic
 * in a flat list (3 s for 30,000 links).
 */
function detach(elements: Set<Element>): void {
  const parents = new Set<ParentNode>();
  for (const element of elements) if (element.parent) parents.add(element.parent);
  for (const parent of parents) relink(parent, parent.children.filter((child) => !elements.has(child as Element)));
  for (const element of elements) {
    element.parent = null;
    element.prev = null;
    element.next = null;
  }
}

/**
 * The elements the selectors match, in document order, each once, none inside
 * another (its content is already there): one walk of the document, which
 * does not descend into a matched element.
 */
function includedElements($: cheerio.CheerioAPI, selectors: readonly string[]): Element[] {
  const matched = matching($, selectors);
  const chosen: Element[] = [];
  if (matched.size === 0) return chosen;
  const root = $.root().get(0);
  const stack: ChildNode[] = root ? [...root.children].reverse() : [];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (!isTag(node)) continue;
    if (matched.has(node)) chosen.push(node);
    else for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return chosen;
}

/** What is never prose, whatever is asked for: scripts, styles, embedded and interactive things. */
const NOT_CONTENT = new Set([
  'script',
  'style',
  'noscript',
  'svg',
  'form',
  'template',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'video',
  'audio',
  'canvas',
  'map',
  'button',
  'select',
  'textarea',
]);
/** Page chrome and things that are not prose. */
const CHROME = new Set([...NOT_CONTENT, 'nav', 'footer', 'aside', 'dialog']);
/** Landmark roles of page chrome. */
const CHROME_ROLES = new Set(['navigation', 'search', 'banner', 'contentinfo', 'complementary', 'menubar', 'toolbar']);
/** Permalink anchors next to headings (Sphinx, MkDocs, Docusaurus, DocBook, VitePress): a `¶` in markdown is noise. */
const PERMALINK_CLASS =
  /(?:^|\s)(?:headerlink|hash-link|anchor-link|id_link|header-anchor|anchorjs-link|permalink)(?:\s|$)/;
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
/**
 * Class or id tokens (lowercased) of navigation that docs generators write
 * as divs: DocBook's navheader/navfooter, breadcrumbs, skip links, edit-this-
 * page links, previous/next pagers, sidebars, navbars, footers.
 */
const NAV_TOKEN =
  /^(?:navheader|navfooter|breadcrumbs?(?:[-_].*)?|.*[-_]breadcrumbs?|skip-?to-?(?:main-?)?content.*|skip-?link|md-skip|.*edit-?this-?page|edit-?(?:link|on-?github)|prev-?next|next-?prev|pagination(?:[-_].*)?|.*[-_]pagination|pager|rst-footer-buttons|related|footer(?:[-_].*)?|.*[-_]footer(?:[-_].*)?|sidebar.*|.*[-_]sidebar(?:[-_].*)?|sphinxsidebar.*|navbar.*|.*[-_]navbar|nav|navigation|nav[-_].*|.*[-_]nav|md-nav.*|md-header.*|site-?header)$/;
/** What any of NAV_TOKEN, TOC_TOKEN and HEADER_TOKEN needs: most class lists (highlighter tokens) fail this one test. */
const NAV_HINT = /nav|bread|skip|edit|prev|next|pagina|pager|footer|sidebar|related|header|toc|contents/i;
/** Tables of contents: dropped like NAV_TOKEN, unless they are most of the content (an index page). */
const TOC_TOKEN = /^(?:toc(?!tree)[-_a-z0-9]*|.*[-_]toc(?:[-_].*)?|table-?of-?contents.*|tableofcontents.*)$/;
/** `a` elements that only serve the site: skip links, edit and source links. */
const SITE_LINK_TEXT = /^\s*(?:skip to (?:main )?content|skip navigation|edit this page|edit on github|edit|view source|show source|view page source|improve this page|back to top)\s*$/i;
/** A link that edits the page's source in a forge (GitHub, GitLab: `/edit/` and a docs source file). */
const EDIT_URL = /\/edit\/[^?#]*\.(?:md|mdx|rst|txt|adoc)(?:[?#]|$)/i;
/** Link density above which a small block of links is navigation (Readability uses 0.5 for large blocks). */
const LINK_DENSITY = 0.6;
/** A navigation-like block is kept when it holds at least this share of the content's text: it is the content (an index page). */
const MAIN_SHARE = 0.5;
/** Blocks the link-density rule looks at. */
const DENSITY_BLOCKS = new Set(['div', 'section', 'ul', 'ol', 'dl', 'table', 'p', 'menu', 'center']);
/** A site header written as a div: chrome unless it holds a heading (then it is the page's own). */
const HEADER_TOKEN = /^(?:header|(?:site|page|top|main|global|masthead)-?header)$/;

/** Text measures of an element's content, chrome excluded: characters other than whitespace. */
interface TextStats {
  text: number;
  linkText: number;
  links: number;
}

const KEEP = 0;
const DROP = 1;
/** A table of contents: dropped unless it is most of the content. */
const TOC = 2;

/** How a content is cleaned up. */
interface Cleanup {
  /** Content chosen as a page's main content: a `<header>` with a heading is its own. */
  inMain: boolean;
  /** false (onlyMainContent off): navigation and boilerplate are kept, only NOT_CONTENT dropped. */
  boilerplate: boolean;
  /** Elements an include selector matched: kept whatever they look like (NOT_CONTENT aside). */
  pinned?: Set<Element> | undefined;
}

interface Content {
  stats: Map<Element, TextStats>;
  /** Elements dropped whatever their size: chrome by tag, landmark role, class or id, site links. */
  dropped: Set<Element>;
  tocs: Set<Element>;
  /** Elements an include selector matched: never dropped by a size rule. */
  pinned?: Set<Element> | undefined;
  /** Visible characters of the content, chrome excluded. */
  total: number;
}

/**
 * One pass down to classify elements by their own markup, one pass up for
 * the text and link-text lengths of the rest, so that the size rules cost no
 * walk of their own and measure the content without its chrome.
 */
function measureContent(container: ParentNode, cleanup: Cleanup): Content {
  const stats = new Map<Element, TextStats>();
  const dropped = new Set<Element>();
  const tocs = new Set<Element>();
  const order: Element[] = [];
  const stack: ParentNode[] = [container];
  for (let parent = stack.pop(); parent; parent = stack.pop()) {
    for (const child of parent.children) {
      if (!isTag(child)) continue;
      const kind = cleanup.pinned?.has(child)
        ? NOT_CONTENT.has(child.name)
          ? DROP
          : KEEP
        : cleanup.boilerplate
          ? classify(child, cleanup.inMain)
          : classifyAll(child);
      if (kind === DROP) {
        dropped.add(child);
        continue;
      }
      if (kind === TOC) tocs.add(child);
      order.push(child);
      stack.push(child);
    }
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const element = order[i]!;
    const own: TextStats = { text: 0, linkText: 0, links: element.name === 'a' ? 1 : 0 };
    for (const child of element.children) {
      if (child.type === 'text') own.text += visibleLength((child as Text).data);
      else if (isTag(child)) {
        const below = stats.get(child);
        if (!below) continue;
        own.text += below.text;
        own.linkText += below.linkText;
        own.links += below.links;
      }
    }
    if (element.name === 'a') own.linkText = own.text;
    stats.set(element, own);
  }
  let total = 0;
  for (const child of container.children) {
    if (isTag(child)) total += stats.get(child)?.text ?? 0;
    else if (child.type === 'text') total += visibleLength((child as Text).data);
  }
  return { stats, dropped, tocs, total, pinned: cleanup.pinned };
}

/**
 * One walk over the content: drops chrome, makes links and images absolute
 * and rewrites code blocks and tables. A walk, not cheerio's find(): find()
 * sorts its results by document position, which is quadratic in a flat list
 * of thousands of links (10 s for 30,000 anchors).
 */
function prepareContent(container: ParentNode, { base, ...cleanup }: Cleanup & { base: string }): void {
  const content = measureContent(container, cleanup);
  if (!cleanup.boilerplate) {
    // No size rule either: nothing is navigation, nothing is a table of contents.
    content.tocs.clear();
    content.stats.clear();
  }
  /** Elements inside a table of contents or a list of links that is the content (an index page). */
  const index = new Set<ParentNode>();
  const stack: ParentNode[] = [container];
  for (let parent = stack.pop(); parent; parent = stack.pop()) {
    const inIndex = index.has(parent);
    const kept = parent.children.filter((child) => !(isTag(child) && isDropped(child, content, inIndex)));
    if (kept.length !== parent.children.length) relink(parent, kept);
    for (const child of kept) {
      if (!isTag(child)) continue;
      if (inIndex || ((content.tocs.has(child) || isLinkDense(child, content, true)) && isMostOfContent(child, content)))
        index.add(child);
      if (child.name === 'a') absolutize(child, 'href', base);
      // turndown knows neither as a block: a summary would run into the text after it.
      else if (child.name === 'details') child.name = 'div';
      else if (child.name === 'summary') child.name = 'p';
      else if (child.name === 'img') absolutize(child, 'src', base);
      if (child.name === 'pre') normalizeCodeBlock(child);
      else {
        if (child.name === 'table') normalizeTable(child);
        stack.push(child);
      }
    }
  }
}

function isDropped(element: Element, content: Content, inIndex: boolean): boolean {
  if (content.dropped.has(element)) return true;
  if (content.pinned?.has(element)) return false;
  // Within a table of contents or list of links kept as the content, its parts are content too.
  if (inIndex) return false;
  if (content.tocs.has(element)) return !isMostOfContent(element, content);
  return DENSITY_BLOCKS.has(element.name) && isLinkDense(element, content);
}

/** What an element is when all of the page is content: only what is never prose (and `¶` permalinks) goes. */
function classifyAll(element: Element): typeof KEEP | typeof DROP {
  if (NOT_CONTENT.has(element.name)) return DROP;
  return element.name === 'a' && PERMALINK_CLASS.test(element.attribs.class ?? '') ? DROP : KEEP;
}

/** What an element is by its own markup: chrome, a table of contents, or neither. */
function classify(element: Element, inMain: boolean): typeof KEEP | typeof DROP | typeof TOC {
  const { name, attribs } = element;
  if (CHROME.has(name)) return DROP;
  if (attribs.role !== undefined && CHROME_ROLES.has(attribs.role.trim().toLowerCase())) return DROP;
  if (name === 'a' && (PERMALINK_CLASS.test(attribs.class ?? '') || isSiteLink(element))) return DROP;
  // Inside main or article a <header> usually holds the page's own h1 (Docusaurus);
  // in a whole body it is the site header.
  if (name === 'header') return !inMain || !containsHeading(element) ? DROP : KEEP;
  if ((attribs.class === undefined && attribs.id === undefined) || !NAV_HINT.test(`${attribs.class ?? ''} ${attribs.id ?? ''}`))
    return KEEP;
  let toc = false;
  for (const token of tokens(element)) {
    if (NAV_TOKEN.test(token)) return DROP;
    if (HEADER_TOKEN.test(token) && !containsHeading(element)) return DROP;
    if (TOC_TOKEN.test(token)) toc = true;
  }
  return toc ? TOC : KEEP;
}

function tokens(element: Element): string[] {
  const { class: className, id } = element.attribs;
  const found = className ? className.toLowerCase().split(/\s+/) : [];
  if (id) found.push(id.toLowerCase());
  return found;
}

function isSiteLink(anchor: Element): boolean {
  const href = anchor.attribs.href ?? '';
  if (EDIT_URL.test(href)) return true;
  const title = anchor.attribs.title;
  if (title !== undefined && SITE_LINK_TEXT.test(title)) return true;
  const text = shortText(anchor, 32);
  return text !== undefined && SITE_LINK_TEXT.test(text);
}

/** The text of `element` if it has at most `max` characters (the walk stops there). */
function shortText(element: Element, max: number): string | undefined {
  let text = '';
  const stack: ChildNode[] = [...element.children];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.type === 'text') {
      text = (node as Text).data + text;
      if (text.length > max) return undefined;
    } else if (isTag(node)) stack.push(...node.children);
  }
  return text;
}

function isMostOfContent(element: Element, content: Content): boolean {
  const text = content.stats.get(element)?.text ?? 0;
  return content.total > 0 && text >= content.total * MAIN_SHARE;
}

/**
 * Readability-style: a block whose text is mostly link text, with two links
 * or more, is navigation, unless it is most of the content (an index page)
 * or a list introduced by a heading ("See also", a section of an index).
 */
function isLinkDense(element: Element, content: Content, whateverSize = false): boolean {
  const stats = content.stats.get(element);
  if (!stats || stats.links < 2 || stats.text === 0) return false;
  if (stats.linkText / stats.text < LINK_DENSITY) return false;
  if (whateverSize) return true;
  if (isMostOfContent(element, content)) return false;
  if (element.name !== 'div' && element.name !== 'table' && followsIntroduction(element)) return false;
  return true;
}

function followsIntroduction(element: Element): boolean {
  let previous = element.prev;
  while (previous && !isTag(previous)) previous = previous.prev;
  return previous !== null && isTag(previous) && (HEADINGS.has(previous.name) || previous.name === 'p');
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
 * Blank lines at either end of the code are dropped (Sphinx starts its
 * blocks with one).
 */
function normalizeCodeBlock(pre: Element): void {
  const language = codeLanguage(pre);
  const code = new Element('code', language ? { class: `language-${language}` } : {});
  const text = new Text(codeText(pre).replace(/^(?:[ \t\r\f]*\n)+/, '').trimEnd());
  code.children = [text];
  text.parent = code;
  code.parent = pre;
  pre.children = [code];
}

/** The text of a code block, `<br>` as a line break (Docusaurus ends each line with one). */
function codeText(pre: Element): string {
  let text = '';
  const stack: ChildNode[] = [...pre.children].reverse();
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.type === 'text') text += (node as Text).data;
    else if (isTag(node)) {
      if (node.name === 'br') text += '\n';
      else for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
    }
  }
  return text;
}

/** Bound on the columns one `colspan` stands for (the empty cells after it: at most MAX_COLSPAN - 1). */
export const MAX_COLSPAN = 64;
/** Cell content that a one-line GFM cell cannot hold. */
const BLOCK_IN_CELL = new Set(['table', 'ul', 'ol', 'dl', 'pre', 'blockquote', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
const PARAGRAPHS = new Set(['p', 'div', 'section']);

/**
 * Every table leaves as a GFM table or as a list, never as HTML: rows are
 * gathered from thead, tbody and tfoot, the first row is the header (an
 * empty one for a table of one row), a cell spanning n columns is followed
 * by n - 1 empty ones, one spanning n rows has an empty cell in its column
 * in the n - 1 rows below, short rows are padded. A table whose cells hold
 * blocks (lists, code, nested tables, several paragraphs) becomes a list of
 * rows, each cell a paragraph of its item.
 */
function normalizeTable(table: Element): void {
  const rows: Element[] = [];
  const before: Element[] = [];
  for (const child of table.children) {
    if (!isTag(child)) continue;
    if (child.name === 'tr') rows.push(child);
    else if (child.name === 'thead' || child.name === 'tbody' || child.name === 'tfoot') {
      for (const row of child.children) if (isTag(row) && row.name === 'tr') rows.push(row);
    } else if (child.name === 'caption') before.push(child);
  }
  const cellsOf = (row: Element) =>
    row.children.filter((cell): cell is Element => isTag(cell) && (cell.name === 'td' || cell.name === 'th'));
  for (const caption of before) caption.name = 'p';
  if (rows.length === 0 || rows.every((row) => !cellsOf(row).some((cell) => cell.children.length > 0))) {
    table.name = 'div';
    setChildren(table, before);
    return;
  }
  if (rows.some((row) => cellsOf(row).some(holdsBlocks))) {
    table.name = 'div';
    const list = new Element('ul', {});
    setChildren(
      list,
      rows.map((row) => {
        row.name = 'li';
        const cells = cellsOf(row);
        for (const cell of cells) cell.name = 'div';
        setChildren(row, cells);
        return row;
      }),
    );
    setChildren(table, [...before, list]);
    return;
  }
  // Empty cells added (column and row spans, short rows) are at most the table's own cells
  // plus MAX_COLSPAN: a page of `<td colspan=64>` does not grow 64-fold.
  let budget = MAX_COLSPAN + rows.reduce((sum, row) => sum + cellsOf(row).length, 0);
  /** Per column: rows below still covered by a rowspan from above (an empty cell each). */
  const covered: number[] = [];
  const grid = rows.map((row) => {
    const cells: Element[] = [];
    let column = 0;
    const skipCovered = () => {
      for (; (covered[column] ?? 0) > 0; column++) {
        covered[column]!--;
        if (budget > 0) {
          budget--;
          cells.push(new Element('td', {}));
        }
      }
    };
    for (const cell of cellsOf(row)) {
      skipCovered();
      unwrapParagraph(cell);
      cells.push(cell);
      const span = Math.min(Math.max(Number.parseInt(cell.attribs.colspan ?? '1', 10) || 1, 1), MAX_COLSPAN);
      for (let extra = 1; extra < span && budget > 0; extra++, budget--) cells.push(new Element('td', {}));
      const down = rowSpan(cell);
      if (down > 1) for (let c = 0; c < span; c++) covered[column + c] = down - 1;
      column += span;
    }
    skipCovered();
    return cells;
  });
  const width = Math.max(...grid.map((cells) => cells.length));
  for (const cells of grid) while (cells.length < width && budget > 0 && budget--) cells.push(new Element('td', {}));
  let header: Element[];
  if (grid.length === 1) header = Array.from({ length: width }, () => new Element('th', {}));
  else header = grid.shift()!;
  for (const cell of header) cell.name = 'th';
  // A body row of <th> is a second header row to the GFM plugin: a second `| --- |` line.
  for (const cells of grid) for (const cell of cells) cell.name = 'td';
  const head = new Element('thead', {});
  setChildren(head, [row(header)]);
  const body = new Element('tbody', {});
  setChildren(body, grid.map(row));
  setChildren(table, [head, body]);
  if (before.length > 0) {
    // The caption goes before the table, as a paragraph of its own.
    const wrapper = new Element('table', table.attribs);
    setChildren(wrapper, [head, body]);
    table.name = 'div';
    setChildren(table, [...before, wrapper]);
  }
}

/** Rows a cell spans, MAX_ROWSPAN at most; `0` (to the end of the table) as MAX_ROWSPAN, junk as 1. */
function rowSpan(cell: Element): number {
  const span = Number.parseInt(cell.attribs.rowspan ?? '1', 10);
  if (span === 0) return MAX_ROWSPAN;
  return Math.min(Math.max(span || 1, 1), MAX_ROWSPAN);
}

function row(cells: Element[]): Element {
  const tr = new Element('tr', {});
  setChildren(tr, cells);
  return tr;
}

function holdsBlocks(cell: Element): boolean {
  let paragraphs = 0;
  for (const child of cell.children) {
    if (!isTag(child)) continue;
    if (BLOCK_IN_CELL.has(child.name)) return true;
    if (PARAGRAPHS.has(child.name) && ++paragraphs > 1) return true;
    if (containsBlock(child)) return true;
  }
  return false;
}

function containsBlock(element: Element): boolean {
  const stack: Element[] = [element];
  for (let node = stack.pop(); node; node = stack.pop()) {
    for (const child of node.children) {
      if (!isTag(child)) continue;
      if (BLOCK_IN_CELL.has(child.name)) return true;
      stack.push(child);
    }
  }
  return false;
}

/** Sphinx wraps each cell's text in a `<p>`: one paragraph in a cell is just its text. */
function unwrapParagraph(cell: Element): void {
  for (const child of cell.children) if (isTag(child) && PARAGRAPHS.has(child.name)) child.name = 'span';
}

function setChildren(parent: Element, children: ChildNode[]): void {
  for (const child of children) child.parent = parent;
  relink(parent, children);
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
