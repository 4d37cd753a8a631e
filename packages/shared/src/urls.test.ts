import { describe, expect, it } from 'vitest';
import { crawlLinks, normalizeUrl, withoutQuery } from './urls.js';

describe('normalizeUrl', () => {
  it('makes /a, /a#x and HTTP://Host:80/a one URL', () => {
    const forms = ['http://host/a', 'http://host/a#x', 'HTTP://Host:80/a', 'http://HOST/b/../a'];
    expect(new Set(forms.map((form) => normalizeUrl(form)))).toEqual(new Set(['http://host/a']));
  });

  it('drops the default https port but keeps any other', () => {
    expect(normalizeUrl('https://x.test:443/p')).toBe('https://x.test/p');
    expect(normalizeUrl('https://x.test:8443/p')).toBe('https://x.test:8443/p');
    expect(normalizeUrl('http://x.test:443/p')).toBe('http://x.test:443/p');
  });

  it('resolves relative references against the base', () => {
    const base = 'https://docs.test/guide/intro.html';
    expect(normalizeUrl('setup.html', base)).toBe('https://docs.test/guide/setup.html');
    expect(normalizeUrl('../api/', base)).toBe('https://docs.test/api/');
    expect(normalizeUrl('//cdn.test/x', base)).toBe('https://cdn.test/x');
    expect(normalizeUrl('#top', base)).toBe(base);
    expect(normalizeUrl('  /trimmed  ', base)).toBe('https://docs.test/trimmed');
  });

  it('keeps the query string exactly as written', () => {
    expect(normalizeUrl('https://x.test/s?b=2&a=1#frag')).toBe('https://x.test/s?b=2&a=1');
    expect(normalizeUrl('https://x.test/s?')).toBe('https://x.test/s?');
  });

  it.each([
    'mailto:someone@x.test',
    'javascript:alert(1)',
    'ftp://x.test/file',
    'data:text/html,hi',
    'file:///etc/passwd',
    'not a url',
    '',
    'https://user:pw@x.test/',
    `https://x.test/${'a'.repeat(3000)}`,
  ])('refuses %s', (raw) => {
    expect(normalizeUrl(raw)).toBeNull();
  });

  it('refuses a relative reference without a base', () => {
    expect(normalizeUrl('/a')).toBeNull();
  });
});

describe('ignoreQueryParameters', () => {
  it('makes URLs that differ only in their query one, keeping everything else', () => {
    expect(withoutQuery('https://x.test/a?b=1&c=2')).toBe('https://x.test/a');
    expect(withoutQuery('https://x.test/a?')).toBe('https://x.test/a');
    expect(withoutQuery('https://x.test:8443/a/b.html')).toBe('https://x.test:8443/a/b.html');
    const links = ['https://x.test/a?v=1', 'https://x.test/a?v=2', 'https://x.test/b', 'https://x.test/a'];
    expect(crawlLinks(links, true)).toEqual(['https://x.test/a', 'https://x.test/b']);
    expect(crawlLinks(links, false)).toEqual(links);
  });
});
