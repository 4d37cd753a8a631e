import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  APP_SHELL_MAX_LINKS,
  APP_SHELL_MAX_TEXT_CHARS,
  APP_SHELL_MIN_INLINE_SCRIPT_CHARS,
  looksLikeAppShell,
} from './app-shell.js';
import { extractPage } from './extract.js';

const doc = (head: string, body: string) => `<!doctype html><html lang="en"><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`;

/** Create React App's build output. */
const CRA = doc(
  '<title>React App</title><link rel="manifest" href="/manifest.json"><script defer src="/static/js/main.4f3a.js"></script><link href="/static/css/main.css" rel="stylesheet">',
  '<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>',
);
/** Vite's Vue template. */
const VITE = doc('<title>Vite + Vue</title><script type="module" crossorigin src="/assets/index-8d1c.js"></script>', '<div id="app"></div>');
/** A Next.js page exported without pre-rendered content (client-only). */
const NEXT = doc(
  '<title></title><link rel="preload" href="/_next/static/chunks/main.js" as="script">',
  `<div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}},"page":"/docs/[slug]"}</script>
<script src="/_next/static/chunks/webpack.js" defer></script><script src="/_next/static/chunks/main.js" defer></script>`,
);
/** Docusaurus built without server-side rendering. */
const DOCUSAURUS = doc(
  '<title>My Site</title><script src="/assets/js/runtime~main.js" defer></script><script src="/assets/js/main.js" defer></script>',
  '<svg xmlns="http://www.w3.org/2000/svg" style="display:none"><defs></defs></svg><div id="__docusaurus"></div>',
);
/** A mount point of no known name, with a loading text. */
const ANONYMOUS = doc('<script type="module" src="/app.js"></script>', '<div class="mount">  </div>');
/** An inline module that boots the app (no src). */
const INLINE = doc('', `<div id="root"></div><script type="module">${'const x = 1;\n'.repeat(APP_SHELL_MIN_INLINE_SCRIPT_CHARS)}</script>`);

describe('looksLikeAppShell', () => {
  it.each([
    ['Create React App', CRA],
    ['Vite', VITE],
    ['Next.js without pre-rendering', NEXT],
    ['Docusaurus without SSR', DOCUSAURUS],
    ['a single empty div and a bundle', ANONYMOUS],
    ['a large inline module', INLINE],
    ['an Angular root', doc('<script src="main.js" type="module"></script>', '<app-root></app-root>')],
  ])('is true for %s', (_name, html) => {
    expect(looksLikeAppShell(html)).toBe(true);
  });

  it.each([
    ['a static docs page', doc('<title>Intro</title>', `<nav><a href="/docs/">Home</a></nav><main><h1>Intro</h1><p>${'Words of the guide. '.repeat(30)}</p></main>`)],
    [
      'a tiny page with little text but links',
      doc('<script src="/theme.js"></script>', '<div id="root"><ul><li><a href="/a">A</a></li><li><a href="/b">B</a></li><li><a href="/c">C</a></li></ul></div>'),
    ],
    [
      'a page with a noscript analytics pixel',
      doc(
        '<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>',
        '<noscript><img height="1" width="1" style="display:none" src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"></noscript><main><h1>Changelog</h1><p>Nothing new.</p></main>',
      ),
    ],
    ['an empty root with no script', doc('', '<div id="root"></div>')],
    ['a server-rendered React page', doc('<script src="/main.js"></script>', `<div id="root"><h1>Guide</h1><p>${'Server-rendered text. '.repeat(12)}</p></div>`)],
    ['a page with a small inline script only', doc('', `<div id="app"></div><script>${'x'.repeat(APP_SHELL_MIN_INLINE_SCRIPT_CHARS - 1)}</script>`)],
    ['a bundle declared as JSON data only', doc('', '<div id="root"></div><script type="application/json">{"a":1}</script>')],
    ['no body at all', ''],
  ])('is false for %s', (_name, html) => {
    expect(looksLikeAppShell(html)).toBe(false);
  });

  it(`counts at most ${APP_SHELL_MAX_TEXT_CHARS} characters of visible text, whitespace and scripts aside`, () => {
    const shell = (chars: number) =>
      doc('<script src="/main.js"></script><style>body{color:red}</style>', `<div id="root"></div><p>${'x '.repeat(chars)}</p><template>${'t'.repeat(500)}</template>`);
    expect(looksLikeAppShell(shell(APP_SHELL_MAX_TEXT_CHARS))).toBe(true);
    expect(looksLikeAppShell(shell(APP_SHELL_MAX_TEXT_CHARS + 1))).toBe(false);
  });

  it(`allows at most ${APP_SHELL_MAX_LINKS} content links, fragments and javascript: aside`, () => {
    const shell = (links: number) =>
      doc(
        '<script src="/main.js"></script>',
        `<div id="root"></div><a href="#main">skip</a><a href="javascript:void 0">menu</a>${Array.from({ length: links }, (_, i) => `<a href="/l${i}">${i}</a>`).join('')}`,
      );
    expect(looksLikeAppShell(shell(APP_SHELL_MAX_LINKS))).toBe(true);
    expect(looksLikeAppShell(shell(APP_SHELL_MAX_LINKS + 1))).toBe(false);
  });

  it(`takes an inline script of at least ${APP_SHELL_MIN_INLINE_SCRIPT_CHARS} characters for a bundle`, () => {
    const shell = (chars: number) => doc('', `<div id="root"></div><script>${'x'.repeat(chars)}</script>`);
    expect(looksLikeAppShell(shell(APP_SHELL_MIN_INLINE_SCRIPT_CHARS))).toBe(true);
    expect(looksLikeAppShell(shell(APP_SHELL_MIN_INLINE_SCRIPT_CHARS - 1))).toBe(false);
  });

  it('needs an empty root, a single empty div or a noscript asking for JavaScript', () => {
    const body = '<div id="root"><span></span></div><div></div>';
    expect(looksLikeAppShell(doc('<script src="/main.js"></script>', body))).toBe(false);
    expect(looksLikeAppShell(doc('<script src="/main.js"></script>', `${body}<noscript>Please enable JavaScript.</noscript>`))).toBe(true);
  });

  it('is never true for the docs the project crawls in its benches and worker fixtures', async () => {
    const fixtures = fileURLToPath(new URL('../../../bench/markdown/fixtures/', import.meta.url));
    const files = readdirSync(fixtures).filter((name) => name.endsWith('.html'));
    expect(files.length).toBeGreaterThan(3);
    for (const name of files) expect(looksLikeAppShell(readFileSync(fixtures + name, 'utf8')), name).toBe(false);
    const sitePages = (await import(pathToFileURL(fileURLToPath(new URL('../../../bench/crawl/site-pages.mjs', import.meta.url))).href)) as {
      page(i: number, pages: number, size?: string): string;
    };
    for (const size of ['large', 'small']) for (const i of [0, 5, 99]) expect(looksLikeAppShell(sitePages.page(i, 100, size))).toBe(false);
  });
});

describe('extractPage with appShell', () => {
  it('reports the verdict from the same parse, in map mode too, and only when asked', () => {
    const url = 'https://app.test/';
    expect(extractPage(CRA, url, { appShell: true }).appShell).toBe(true);
    expect(extractPage(CRA, url, { appShell: true, discoverOnly: true }).appShell).toBe(true);
    expect(extractPage(CRA, url).appShell).toBeUndefined();
    const docs = doc('<script src="/x.js"></script>', `<main><h1>Docs</h1><p>${'Text. '.repeat(60)}</p></main>`);
    expect(extractPage(docs, url, { appShell: true }).appShell).toBe(false);
  });
});
