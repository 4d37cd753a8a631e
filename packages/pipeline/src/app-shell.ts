// Whether a fetched page is an app shell: HTML that only boots a JavaScript
// app (an empty root element, a bundle, no content), so its content exists
// only once a browser has run it. `render: auto` renders exactly these pages
// (docs/rendering.md, "When a page is rendered").
//
// The verdict is read from the document extraction already parsed: the
// worker asks extractPage for it (ExtractOptions.appShell) and gets it with
// the ExtractedPage, from whichever thread extracted, so a page is parsed
// once. Measured (Node 20, this 2-core machine, 500 calls each on the bench
// site's 3.5 KB page and the docusaurus and sphinx fixtures): a separate
// looksLikeAppShell(html) costs 240-300 us a page, a quarter to a third of
// the page's whole extraction (0.8-1.4 ms), and would run on the main thread
// (a MAX_PAGE_BYTES page takes seconds to parse, page-extractor.ts); asked
// of extraction, the verdict's cost was within the runs' noise. The check is
// one walk of <body> that stops as soon as the text or the links rule the
// page out; scripts and noscript are looked at only for a page that bare.
import * as cheerio from 'cheerio';
import { type AnyNode, type Element, isTag, type Text } from 'domhandler';
import { MAX_HTML_DEPTH } from '@crawlstream/shared';
import { parseHtml } from './parse.js';

/** A shell shows at most this many characters of text in its body (whitespace, scripts, styles, noscript and templates not counted). */
export const APP_SHELL_MAX_TEXT_CHARS = 200;
/** A shell has at most this many content links in its body (`<a href>` other than a fragment or javascript:). */
export const APP_SHELL_MAX_LINKS = 2;
/** An inline script of at least this many characters boots an app as a bundle's `src` would. */
export const APP_SHELL_MIN_INLINE_SCRIPT_CHARS = 1024;

/** Elements whose text is not shown (or not the page's). */
const HIDDEN = new Set(['script', 'style', 'noscript', 'template']);
/** Ids of the elements frameworks mount into. */
const ROOT_IDS = new Set(['root', 'app', '__next', '__nuxt', '___gatsby', '__docusaurus', 'svelte', 'q-app', 'main-app']);
/** Elements and attributes of framework roots without a conventional id (Angular, React 16, AngularJS). */
const ROOT_TAGS = new Set(['app-root']);
const ROOT_ATTRIBUTES = ['data-reactroot', 'ng-app', 'data-ng-app', 'ng-version', 'data-v-app'];
/** Script types that are data, not code. */
const DATA_SCRIPT = /json|template|text\/(?!javascript)/i;
/** A noscript that asks the reader to turn JavaScript on. */
const NEEDS_JAVASCRIPT = /\bjavascript\b/i;

/** Whether the HTML is an app shell (parses it: the worker gets the verdict from extraction instead). */
export function looksLikeAppShell(html: string): boolean {
  return isAppShell(cheerio.load(parseHtml(html, MAX_HTML_DEPTH), { xml: { xmlMode: false, decodeEntities: true } }));
}

/** Whether a loaded document is an app shell; the document is not changed. */
export function isAppShell($: cheerio.CheerioAPI): boolean {
  const body = $('body').get(0);
  if (!body) return false;
  let text = 0;
  let links = 0;
  let emptyRoot = false;
  const stack: AnyNode[] = [...body.children];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.type === 'text') {
      text += visibleLength((node as Text).data);
      if (text > APP_SHELL_MAX_TEXT_CHARS) return false;
      continue;
    }
    if (!isTag(node) || HIDDEN.has(node.name)) continue;
    if (node.name === 'a' && isContentLink(node.attribs.href) && ++links > APP_SHELL_MAX_LINKS) return false;
    if (isRoot(node) && isEmpty(node)) emptyRoot = true;
    for (const child of node.children) stack.push(child);
  }
  // Only a page this bare gets here (most pages are ruled out by their text early in the walk).
  // Scripts and noscript may sit in <head> as well.
  if (!$('script').toArray().some(bootsApp)) return false;
  return emptyRoot || singleEmptyDiv(body) || $('noscript').toArray().some((noscript) => NEEDS_JAVASCRIPT.test(textOf(noscript)));
}

function bootsApp(script: Element): boolean {
  const type = script.attribs.type ?? '';
  if (DATA_SCRIPT.test(type)) return false;
  if (script.attribs.src !== undefined && script.attribs.src.trim() !== '') return true;
  return textOf(script).length >= APP_SHELL_MIN_INLINE_SCRIPT_CHARS;
}

function isContentLink(href: string | undefined): boolean {
  const value = href?.trim() ?? '';
  return value !== '' && !value.startsWith('#') && !/^javascript:/i.test(value);
}

function isRoot(element: Element): boolean {
  if (ROOT_TAGS.has(element.name)) return true;
  const id = element.attribs.id;
  if (id !== undefined && ROOT_IDS.has(id)) return true;
  return ROOT_ATTRIBUTES.some((name) => element.attribs[name] !== undefined);
}

/** No element but hidden ones, no visible text: what a framework fills in. */
function isEmpty(element: Element): boolean {
  return element.children.every((child) =>
    child.type === 'text' ? visibleLength((child as Text).data) === 0 : !isTag(child) || HIDDEN.has(child.name),
  );
}

/** A body whose only shown element is one empty div (a mount point without a known name). */
function singleEmptyDiv(body: Element): boolean {
  const shown = body.children.filter((child) => isTag(child) && !HIDDEN.has(child.name) && child.name !== 'link' && child.name !== 'meta');
  return shown.length === 1 && isTag(shown[0]!) && shown[0].name === 'div' && isEmpty(shown[0]);
}

/** The element's text (its pieces in no particular order: only its length and words are read). */
function textOf(element: Element): string {
  const parts: string[] = [];
  const stack: AnyNode[] = [...element.children];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.type === 'text') parts.push((node as Text).data);
    else if (isTag(node)) for (const child of node.children) stack.push(child);
  }
  return parts.join(' ');
}

/** Characters of `text` that are not HTML whitespace (space, tab, CR, LF, FF); extraction measures blocks with it too. */
export function visibleLength(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 9 && c !== 13 && c !== 12) length++;
  }
  return length;
}
