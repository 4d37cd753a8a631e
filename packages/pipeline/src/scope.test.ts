import { MAX_URL_LENGTH } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { makeScope, type ScopeOptions } from './scope.js';

const only = (scope: ScopeOptions['scope']): ScopeOptions => ({ scope, include: [], exclude: [] });

describe('prefix scope', () => {
  const scope = makeScope('https://x.test/docs/guide/intro.html', only('prefix'));

  it('takes the directory of the start URL', () => {
    expect(scope.inScope('https://x.test/docs/guide/intro.html')).toBe(true);
    expect(scope.inScope('https://x.test/docs/guide/')).toBe(true);
    expect(scope.inScope('https://x.test/docs/guide/deep/page?q=1')).toBe(true);
    expect(scope.inScope('https://x.test/docs/')).toBe(false);
    expect(scope.inScope('https://x.test/docs/guidebook/')).toBe(false);
    expect(scope.inScope('https://x.test/')).toBe(false);
  });

  it('requires the same origin', () => {
    expect(scope.inScope('http://x.test/docs/guide/a')).toBe(false);
    expect(scope.inScope('https://x.test:8443/docs/guide/a')).toBe(false);
    expect(scope.inScope('https://sub.x.test/docs/guide/a')).toBe(false);
  });

  it('judges the normalized URL, so dot segments cannot climb out', () => {
    expect(scope.inScope('https://X.TEST:443/docs/guide/a#frag')).toBe(true);
    expect(scope.inScope('https://x.test/docs/guide/../../admin')).toBe(false);
    expect(scope.inScope('not a url')).toBe(false);
    expect(scope.inScope('mailto:a@x.test')).toBe(false);
  });

  it('a start URL ending in a slash is its own directory', () => {
    const dir = makeScope('https://x.test/docs/', only('prefix'));
    expect(dir.inScope('https://x.test/docs/a')).toBe(true);
    expect(dir.inScope('https://x.test/docsx')).toBe(false);
  });
});

describe('origin scope', () => {
  const scope = makeScope('https://x.test/docs/guide/intro.html', only('origin'));
  it('takes any path of the same scheme, host and port', () => {
    expect(scope.inScope('https://x.test/blog/')).toBe(true);
    expect(scope.inScope('http://x.test/blog/')).toBe(false);
    expect(scope.inScope('https://www.x.test/')).toBe(false);
  });
});

describe('domain scope', () => {
  it('takes the registrable domain and its subdomains', () => {
    const scope = makeScope('https://docs.example.co.uk/start', only('domain'));
    expect(scope.inScope('https://example.co.uk/')).toBe(true);
    expect(scope.inScope('http://api.docs.example.co.uk/x')).toBe(true);
    expect(scope.inScope('https://other.co.uk/')).toBe(false);
    expect(scope.inScope('https://example.com/')).toBe(false);
  });

  it('treats hosted-site suffixes as public, so other tenants stay out', () => {
    const scope = makeScope('https://alice.github.io/project/', only('domain'));
    expect(scope.inScope('https://alice.github.io/other/')).toBe(true);
    expect(scope.inScope('https://bob.github.io/')).toBe(false);
  });

  it('matches IP hosts exactly', () => {
    const scope = makeScope('http://127.0.0.1:8080/', only('domain'));
    expect(scope.inScope('http://127.0.0.1:9090/x')).toBe(true);
    expect(scope.inScope('http://127.0.0.2:8080/x')).toBe(false);
  });
});

describe('more start URLs (options.urls): the union of their scopes', () => {
  const urls = ['https://x.test/b/page.html', 'https://other.test/c/', 'https://x.test/b/deeper/'];

  it('prefix: under the directory of any start URL, on its own origin', () => {
    const scope = makeScope('https://x.test/a/', { ...only('prefix'), urls });
    expect(scope.inScope('https://x.test/a/1')).toBe(true);
    expect(scope.inScope('https://x.test/b/2')).toBe(true);
    expect(scope.inScope('https://other.test/c/3')).toBe(true);
    expect(scope.inScope('https://x.test/c/3')).toBe(false);
    expect(scope.inScope('https://other.test/a/1')).toBe(false);
    expect(scope.inScope('https://x.test/')).toBe(false);
  });

  it('origin and domain: any start URL’s origin or site', () => {
    const origin = makeScope('https://x.test/a/', { ...only('origin'), urls });
    expect(origin.inScope('https://other.test/anything')).toBe(true);
    expect(origin.inScope('https://www.other.test/anything')).toBe(false);
    const domain = makeScope('https://x.test/a/', { ...only('domain'), urls });
    expect(domain.inScope('https://www.other.test/anything')).toBe(true);
    expect(domain.inScope('https://third.test/')).toBe(false);
  });

  it('include and exclude apply to every start URL’s area alike', () => {
    const scope = makeScope('https://x.test/a/', { scope: 'prefix', include: ['**/keep/**'], exclude: ['*.pdf'], urls });
    expect(scope.inScope('https://x.test/a/keep/1')).toBe(true);
    expect(scope.inScope('https://other.test/c/keep/2')).toBe(true);
    expect(scope.inScope('https://other.test/c/drop/2')).toBe(false);
    expect(scope.inScope('https://x.test/b/keep/x.pdf')).toBe(false);
  });

  it('is the start URL’s scope alone without urls (a crawl stored before the option), and refuses a URL that cannot be crawled', () => {
    const scope = makeScope('https://x.test/a/', { ...only('prefix'), urls: [] });
    expect(scope.inScope('https://x.test/b/')).toBe(false);
    expect(() => makeScope('https://x.test/a/', { ...only('prefix'), urls: ['ftp://x.test/'] })).toThrow(TypeError);
  });
});

describe('include and exclude', () => {
  const start = 'https://x.test/';

  it('empty include takes everything; include narrows to matching paths', () => {
    const all = makeScope(start, only('origin'));
    expect(all.inScope('https://x.test/anything/at/all')).toBe(true);
    const some = makeScope(start, { scope: 'origin', include: ['/docs/**'], exclude: [] });
    expect(some.inScope('https://x.test/docs/a/b')).toBe(true);
    expect(some.inScope('https://x.test/blog/a')).toBe(false);
  });

  it('exclude wins over include', () => {
    const scope = makeScope(start, {
      scope: 'origin',
      include: ['/docs/**'],
      exclude: ['/docs/old/**'],
    });
    expect(scope.inScope('https://x.test/docs/new/a')).toBe(true);
    expect(scope.inScope('https://x.test/docs/old/a')).toBe(false);
  });

  it('a slash-less pattern matches the last segment anywhere', () => {
    const scope = makeScope(start, { scope: 'origin', include: [], exclude: ['*.pdf'] });
    expect(scope.inScope('https://x.test/a/b/manual.pdf')).toBe(false);
    expect(scope.inScope('https://x.test/a/b/manual.html')).toBe(true);
  });

  it('a pattern without a leading slash is anchored at the root', () => {
    const scope = makeScope(start, { scope: 'origin', include: ['docs/**'], exclude: [] });
    expect(scope.inScope('https://x.test/docs/a')).toBe(true);
    expect(scope.inScope('https://x.test/x/docs/a')).toBe(false);
  });

  it('matches globs on the path only, not the query', () => {
    const scope = makeScope(start, { scope: 'origin', include: [], exclude: ['/search'] });
    expect(scope.inScope('https://x.test/search?q=docs')).toBe(false);
    expect(scope.inScope('https://x.test/page?from=/search')).toBe(true);
  });

  it('matches the decoded path too', () => {
    const scope = makeScope(start, { scope: 'origin', include: ['/café/**'], exclude: [] });
    expect(scope.inScope('https://x.test/caf%C3%A9/menu')).toBe(true);
  });
});

it('refuses a start URL that cannot be crawled', () => {
  expect(() => makeScope('ftp://x.test/', only('prefix'))).toThrow(TypeError);
});

describe('include and exclude globs are linear-time', () => {
  const start = 'https://x.test/';
  // picomatch took 24 s on this pattern against a 40-character path (NOTES.md).
  const backtracking = '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b';

  it('answers a backtracking pattern on a URL at the length limit', () => {
    const scope = makeScope(start, { scope: 'origin', include: [backtracking], exclude: [] });
    const path = 'a'.repeat(MAX_URL_LENGTH - start.length);
    expect(scope.inScope(`${start}${path}`)).toBe(false);
    expect(scope.inScope(`${start}${path.slice(1)}b`)).toBe(true);
    expect(scope.inScope(`${start}x/${path.slice(3)}b`)).toBe(true);
  });

  it('keeps the trailing slash after a final star and the braces users write', () => {
    const scope = makeScope(start, { scope: 'origin', include: ['/docs/*', '/{api,ref}/**'], exclude: [] });
    expect(scope.inScope('https://x.test/docs/guide/')).toBe(true);
    expect(scope.inScope('https://x.test/docs/guide/deeper')).toBe(false);
    expect(scope.inScope('https://x.test/ref/v1/x')).toBe(true);
    expect(scope.inScope('https://x.test/blog/')).toBe(false);
  });

  it('refuses a pattern outside the grammar rather than guessing', () => {
    expect(() => makeScope(start, { scope: 'origin', include: ['/@(a|b)'], exclude: [] })).toThrow(/extglob/);
  });
});

describe('why a URL is out of scope (rejected links)', () => {
  it('tells the area, an exclude glob and a missing include glob apart; null when in scope', () => {
    const scope = makeScope('https://x.test/docs/', { scope: 'prefix', include: ['/docs/api/**', '/docs/guide/**'], exclude: ['**/old/**'] });
    expect(scope.whyOut('https://x.test/docs/api/a')).toBeNull();
    expect(scope.whyOut('https://x.test/blog/')).toBe('out_of_scope');
    expect(scope.whyOut('https://elsewhere.test/docs/api/a')).toBe('out_of_scope');
    expect(scope.whyOut('not a url')).toBe('out_of_scope');
    expect(scope.whyOut('https://x.test/docs/api/old/a')).toBe('excluded');
    expect(scope.whyOut('https://x.test/docs/misc')).toBe('not_included');
    for (const url of ['https://x.test/docs/api/a', 'https://x.test/blog/', 'https://x.test/docs/api/old/a', 'https://x.test/docs/misc']) {
      expect(scope.inScope(url)).toBe(scope.whyOut(url) === null);
    }
  });
});
