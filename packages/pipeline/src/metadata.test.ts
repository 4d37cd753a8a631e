// Page metadata (#14): description, language, canonical, content hash, word
// count from the document (extractPage), and the response's Content-Language,
// ETag and Last-Modified (fetchPage, from a loopback server): present, absent,
// hostile, each bound at the limit and one past it.
import { createHash } from 'node:crypto';
import { createServer, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_DESCRIPTION_LENGTH, MAX_LANGUAGE_LENGTH, MAX_URL_LENGTH, MAX_VALIDATOR_LENGTH } from '@crawlstream/shared';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractPage } from './extract.js';
import { fetchPage } from './fetch-page.js';
import { contentStats, languageTag, validatorValue } from './metadata.js';
import { createSsrfGuard } from './ssrf.js';

const page = 'https://docs.test/guide/intro.html';
const meta = (head: string, body = '<main><p>Hello</p></main>', htmlAttrs = '') =>
  extractPage(`<!doctype html><html${htmlAttrs}><head>${head}</head><body>${body}</body></html>`, page).metadata;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('description', () => {
  it('is <meta name=description>, whitespace collapsed and entities decoded, the name in any case', () => {
    expect(meta('<meta name="description" content="  The guide,\n\tall &amp; more.  ">').description).toBe('The guide, all & more.');
    expect(meta('<meta NAME="Description" content="Upper">').description).toBe('Upper');
  });

  it('falls back to og:description (property or name), and wins over it when both are there', () => {
    expect(meta('<meta property="og:description" content="From OG">').description).toBe('From OG');
    expect(meta('<meta name="description" content=" "><meta property="og:description" content="From OG">').description).toBe('From OG');
    expect(meta('<meta property="og:description" content="OG"><meta name="description" content="Meta">').description).toBe('Meta');
  });

  it('is absent without either, or when only empty', () => {
    expect(meta('<title>t</title>')).not.toHaveProperty('description');
    expect(meta('<meta name="description" content="">')).not.toHaveProperty('description');
    expect(meta('<meta name="keywords" content="a, b">')).not.toHaveProperty('description');
  });

  it(`is cut at MAX_DESCRIPTION_LENGTH (${MAX_DESCRIPTION_LENGTH}) characters: kept whole at it, cut one past it and when huge`, () => {
    const at = 'd'.repeat(MAX_DESCRIPTION_LENGTH);
    expect(meta(`<meta name="description" content="${at}">`).description).toBe(at);
    expect(meta(`<meta name="description" content="${at}e">`).description).toBe(at);
    expect(meta(`<meta name="description" content="${'x'.repeat(1024 * 1024)}">`).description).toHaveLength(MAX_DESCRIPTION_LENGTH);
    // Never half of a surrogate pair at the cut.
    const pair = `${'d'.repeat(MAX_DESCRIPTION_LENGTH - 1)}😀`;
    expect(meta(`<meta name="description" content="${pair}">`).description).toBe('d'.repeat(MAX_DESCRIPTION_LENGTH - 1));
  });

  it('is read from the head even when extraction drops the rest (script, chrome)', () => {
    const metadata = meta('<meta name="description" content="Kept"><script>var x</script>', '<nav>n</nav><main><p>Body</p></main>');
    expect(metadata.description).toBe('Kept');
  });
});

describe('language', () => {
  it('is <html lang> when a well-formed tag; `_` read as `-`', () => {
    expect(meta('', undefined, ' lang="en"').language).toBe('en');
    expect(meta('', undefined, ' lang=" zh-Hant-TW "').language).toBe('zh-Hant-TW');
    expect(meta('', undefined, ' lang="en_US"').language).toBe('en-US');
    expect(meta('', undefined, ' lang="x-klingon"').language).toBe('x-klingon');
  });

  it('is absent without lang, and for a weird one', () => {
    expect(meta('')).not.toHaveProperty('language');
    for (const weird of ['', ' ', 'english', 'e', 'en--US', 'en-', '<script>', 'en US', 'en-toolongsubtag', '12', 'é']) {
      expect(meta('', undefined, ` lang="${weird}"`), weird).not.toHaveProperty('language');
    }
  });

  it(`is at most MAX_LANGUAGE_LENGTH (${MAX_LANGUAGE_LENGTH}) characters: kept at it, absent one past it`, () => {
    const at = `en${'-abcdefgh'.repeat(3)}-abcde`;
    expect(at).toHaveLength(MAX_LANGUAGE_LENGTH);
    expect(languageTag(at)).toBe(at);
    expect(languageTag(`${at}f`)).toBeUndefined();
    expect(meta('', undefined, ` lang="${at}f"`)).not.toHaveProperty('language');
  });

  it('a Content-Language list gives its first tag', () => {
    expect(languageTag('de-DE, en')).toBe('de-DE');
    expect(languageTag(', en')).toBeUndefined();
    expect(languageTag(undefined)).toBeUndefined();
  });
});

describe('canonical', () => {
  it('is <link rel=canonical> resolved against the page URL and normalized', () => {
    expect(meta('<link rel="canonical" href="../guide/intro.html#top">').canonical).toBe('https://docs.test/guide/intro.html');
    expect(meta('<link rel="canonical" href="HTTPS://Docs.TEST:443/a/./b">').canonical).toBe('https://docs.test/a/b');
    expect(meta('<link rel="Canonical alternate" href="/c">').canonical).toBe('https://docs.test/c');
  });

  it('honours <base href>, as links do', () => {
    expect(meta('<base href="https://cdn.test/v2/"><link rel="canonical" href="intro">').canonical).toBe('https://cdn.test/v2/intro');
  });

  it('the first canonical link counts; absent when missing or not a usable http(s) URL', () => {
    expect(meta('<link rel="canonical" href="/first"><link rel="canonical" href="/second">').canonical).toBe('https://docs.test/first');
    expect(meta('<link rel="alternate" href="/other">')).not.toHaveProperty('canonical');
    for (const href of ['', ' ', 'javascript:alert(1)', 'mailto:a@b.test', 'http://[::1', 'ftp://docs.test/x', 'http://']) {
      expect(meta(`<link rel="canonical" href="${href}">`), href).not.toHaveProperty('canonical');
    }
    expect(meta('<link rel="canonical" href="javascript:x"><link rel="canonical" href="/later">')).not.toHaveProperty('canonical');
  });

  it(`is absent past MAX_URL_LENGTH (${MAX_URL_LENGTH}) characters, kept at it`, () => {
    const prefix = 'https://docs.test/';
    const at = `${prefix}${'a'.repeat(MAX_URL_LENGTH - prefix.length)}`;
    expect(meta(`<link rel="canonical" href="${at}">`).canonical).toBe(at);
    expect(meta(`<link rel="canonical" href="${at}a">`)).not.toHaveProperty('canonical');
  });
});

describe('contentHash and wordCount', () => {
  it('hash the markdown with whitespace collapsed: same text, same hash, whatever the spacing', () => {
    expect(contentStats('a  b\n\n c \t').contentHash).toBe(sha256('a b c'));
    expect(contentStats('a b c').contentHash).toBe(contentStats('\na\n\nb   c').contentHash);
    expect(contentStats('a b c').contentHash).not.toBe(contentStats('a b d').contentHash);
    expect(contentStats('')).toEqual({ contentHash: sha256(''), wordCount: 0 });
    // Every kind of whitespace JavaScript's \s knows, alone and in runs, counts as one space.
    const spaces = '\t\n\v\f\r \u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';
    for (const space of spaces) {
      expect(contentStats(`a${space}b`).contentHash, space.charCodeAt(0).toString(16)).toBe(sha256('a b'));
      expect(contentStats(`${space}a ${space}${space}b${space}`).contentHash).toBe(sha256('a b'));
    }
  });

  it('count words, not markdown syntax or link targets', () => {
    expect(contentStats("# Hello, world!\n\n- It's [a link](https://x.test/long/path \"t\") 42 ![](/img.png)").wordCount).toBe(6);
    expect(contentStats('| a | b |\n| --- | --- |\n| café | naïve |').wordCount).toBe(4);
    expect(contentStats('*** --- ```').wordCount).toBe(0);
  });

  it('are on every extracted page, of its markdown', () => {
    const extracted = extractPage('<main><h1>Title</h1><p>Two words</p></main>', page);
    expect(extracted.metadata.contentHash).toBe(sha256(extracted.markdown.replace(/\s+/g, ' ').trim()));
    expect(extracted.metadata.wordCount).toBe(3);
    expect(extractPage('', page).metadata).toEqual({ contentHash: sha256(''), wordCount: 0 });
  });
});

describe('response headers (fetchPage)', () => {
  let server: Server;
  let agent: Agent;
  let base = '';
  const pages: Record<string, OutgoingHttpHeaders> = {
    '/with': { 'content-language': 'de-DE, en', etag: 'W/"abc-123"', 'last-modified': 'Tue, 01 Dec 2026 08:00:00 GMT' },
    '/without': {},
    '/at': { etag: `"${'e'.repeat(MAX_VALIDATOR_LENGTH - 2)}"`, 'last-modified': 'l'.repeat(MAX_VALIDATOR_LENGTH) },
    '/past': { etag: `"${'e'.repeat(MAX_VALIDATOR_LENGTH - 1)}"`, 'last-modified': 'l'.repeat(MAX_VALIDATOR_LENGTH + 1) },
    '/weird': { 'content-language': '<script>', etag: '"caf\xe9"', 'last-modified': '   ' },
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', ...pages[req.url ?? ''] });
      res.end('<title>t</title><p>x</p>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    agent = createSsrfGuard(['127.0.0.1/32']).createAgent();
  });
  afterAll(async () => {
    await agent.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const fetched = (path: string) => fetchPage(`${base}${path}`, { timeoutMs: 15_000, maxBytes: 1024 * 1024, dispatcher: agent });

  it('carries Content-Language (first tag), ETag and Last-Modified as sent', async () => {
    expect(await fetched('/with')).toMatchObject({
      kind: 'html',
      contentLanguage: 'de-DE',
      etag: 'W/"abc-123"',
      lastModified: 'Tue, 01 Dec 2026 08:00:00 GMT',
    });
  });

  it('leaves out what was not sent', async () => {
    const result = await fetched('/without');
    expect(result.kind).toBe('html');
    for (const key of ['contentLanguage', 'etag', 'lastModified']) expect(result).not.toHaveProperty(key);
  });

  it(`keeps a validator of MAX_VALIDATOR_LENGTH (${MAX_VALIDATOR_LENGTH}) characters, leaves one past it out (never cut)`, async () => {
    const at = await fetched('/at');
    expect(at).toMatchObject({ etag: `"${'e'.repeat(MAX_VALIDATOR_LENGTH - 2)}"`, lastModified: 'l'.repeat(MAX_VALIDATOR_LENGTH) });
    const past = await fetched('/past');
    expect(past.kind).toBe('html');
    expect(past).not.toHaveProperty('etag');
    expect(past).not.toHaveProperty('lastModified');
  });

  it('leaves out a malformed language, a non-ASCII validator and a blank one', async () => {
    const result = await fetched('/weird');
    expect(result.kind).toBe('html');
    for (const key of ['contentLanguage', 'etag', 'lastModified']) expect(result).not.toHaveProperty(key);
    expect(validatorValue('"a\u0000b"')).toBeUndefined();
  });
});
