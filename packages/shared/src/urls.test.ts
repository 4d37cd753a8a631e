import { describe, expect, it } from 'vitest';
import { normalizeUrl } from './urls.js';

describe('normalizeUrl', () => {
  it('makes /a, /a#x and HTTP://Host:80/a one URL', () => {
    const forms = ['http://host/a', 'http://host/a#x', 'HTTP://Host:80/a', 'http://host/b/../a'];
    expect(new Set(forms.map((u) => normalizeUrl(u)))).toEqual(new Set(['http://host/a']));
    expect(normalizeUrl('/a#top', 'https://Docs.Test:443/guide/')).toBe('https://docs.test/a');
    expect(normalizeUrl('b?x=1&a=2', 'https://docs.test/guide/')).toBe('https://docs.test/guide/b?x=1&a=2');
  });

  it('refuses what is never fetched', () => {
    for (const raw of ['mailto:a@b.test', 'javascript:void(0)', 'ftp://h/', 'http://u:p@h/', 'not a url']) {
      expect(normalizeUrl(raw), raw).toBeNull();
    }
  });
});
