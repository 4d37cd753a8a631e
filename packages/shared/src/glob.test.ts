import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anchorPathGlob, compileGlob, compilePathGlob, GlobSyntaxError, pathGlobProblem } from './glob.js';
import { MAX_GLOB_ALTERNATIVES, MAX_GLOB_EXPANDED_LENGTH, MAX_GLOB_LENGTH, MAX_URL_LENGTH } from './limits.js';
import { crawl, crawlOptions } from './schemas.js';

describe('glob grammar', () => {
  it.each([
    '/docs/**',
    '*.pdf',
    'docs/**',
    '**/api/*.html',
    '/a?c',
    '/[a-z]*',
    '/[!a-z]x',
    '/[^a-z]x',
    '/[]a]',
    '/[a-]',
    '/{docs,api}/**',
    '/{a,{b,c}}',
    '/{,x}y',
    '/\\(literal\\)',
    '/a\\{b\\}',
    '/a!b',
    '/a+b@c',
    '/%20*',
    '/café/**',
    '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b',
  ])('accepts %s', (pattern) => {
    expect(pathGlobProblem(pattern)).toBeUndefined();
    expect(() => compilePathGlob(pattern)).not.toThrow();
  });

  it.each([
    ['', /empty/],
    ['!/docs/**', /negated/],
    ['/@(a|b)', /extglob/],
    ['/!(a)', /extglob/],
    ['/+(a)', /extglob/],
    ['/*(a)', /extglob/],
    ['/?(a)', /extglob/],
    ['/(a|b)', /parentheses/],
    ['/a)', /parentheses/],
    ['/[[:alpha:]]', /POSIX/],
    ['/[a-z', /unclosed "\["/],
    ['/[]', /unclosed "\["/],
    ['/[z-a]', /backwards/],
    ['/[a/b]', /cannot match "\/"/],
    ['/{a,b', /unclosed "\{"/],
    ['/a}', /unbalanced "\}"/],
    ['/{a}', /at least two alternatives/],
    ['/{1..3}', /at least two alternatives/],
    ['/a\\', /end with/],
    ['/{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}', /more than 32 alternatives/],
  ])('refuses %s', (pattern, message) => {
    expect(pathGlobProblem(pattern)).toMatch(message);
    expect(() => compilePathGlob(pattern)).toThrow(GlobSyntaxError);
  });

  it(`expands braces to ${MAX_GLOB_ALTERNATIVES} alternatives, not one more`, () => {
    const alternatives = (count: number) => `/{${Array.from({ length: count }, (_, i) => `p${i}`).join(',')}}`;
    expect(pathGlobProblem(alternatives(MAX_GLOB_ALTERNATIVES))).toBeUndefined();
    expect(pathGlobProblem(alternatives(MAX_GLOB_ALTERNATIVES + 1))).toMatch(/alternatives/);
    expect(compilePathGlob(alternatives(MAX_GLOB_ALTERNATIVES)).test('/p31')).toBe(true);
  });

  it(`expands braces to ${MAX_GLOB_EXPANDED_LENGTH} tokens, not one more`, () => {
    // Three alternatives of a shared tail: 3 x (tail + 1 slash) + the alternatives' own characters.
    const atLimit = `/{a,b,cc}${'x'.repeat(339)}`; // 3 x 340 + 4 = 1024
    const past = `/{a,bb,cc}${'x'.repeat(339)}`; // 1025
    expect(compileGlob(atLimit).states).toBe(MAX_GLOB_EXPANDED_LENGTH + 3);
    expect(pathGlobProblem(atLimit)).toBeUndefined();
    expect(pathGlobProblem(past)).toMatch(/tokens/);
  });

  it('is what the crawl options schema checks, at the field path', () => {
    const result = crawlOptions.safeParse({ include: ['/ok/**', '/@(x)'], exclude: ['/[a'] });
    expect(result.success).toBe(false);
    const issues = result.error?.issues.map((issue) => [issue.path.join('.'), issue.message]);
    expect(issues).toEqual([
      ['include.1', expect.stringMatching(/^unsupported glob: extglobs/)],
      ['exclude.0', expect.stringMatching(/^unsupported glob: unclosed "\["/)],
    ]);
    const longest = `/${'*a'.repeat(MAX_GLOB_LENGTH / 2 - 1)}b`;
    expect(longest).toHaveLength(MAX_GLOB_LENGTH);
    expect(crawlOptions.safeParse({ include: [longest] }).success).toBe(true);
    expect(crawlOptions.safeParse({ include: [`${longest}c`] }).success).toBe(false);
  });

  it('is checked on the way in only: a stored crawl (responses, events) is not re-checked', () => {
    const stored = crawl.parse({
      id: 'x',
      url: 'https://x.test/',
      status: 'running',
      options: { ...crawlOptions.parse({}), include: ['/written/before/@(the grammar)'] },
      counters: { discovered: 1, processed: 0, failed: 0, skipped: 0 },
      createdAt: new Date(0).toISOString(),
    });
    expect(stored.options.include).toEqual(['/written/before/@(the grammar)']);
  });
});

describe('glob semantics (as the scope reads include/exclude)', () => {
  // [pattern, path, expected]; the comment says where picomatch 4 (dot: true)
  // answered otherwise, which the old scope used.
  it.each([
    // anchoring
    ['*.pdf', '/a/b/manual.pdf', true],
    ['*.pdf', '/manual.pdf', true],
    ['*.pdf', '/a/manual.html', false],
    ['docs/**', '/docs/a', true],
    ['docs/**', '/x/docs/a', false],
    ['/docs/**', '/docs', true],
    ['/docs/**', '/docs/', true],
    ['/docs/**', '/docs/a/b/c', true],
    ['/docs/**', '/docsx', false],
    ['*/docs/**', '/docs/a', true],
    ['*/docs/**', '/x/docs/a', false],
    // `*` and `?` stay within a segment; dot files are matched
    ['/docs/*', '/docs/a', true],
    ['/docs/*', '/docs/a/b', false],
    ['/docs/*', '/docs', false],
    ['/docs/*', '/docs/', false],
    ['/docs/*', '/docs/guide/', true],
    ['/a/*/b', '/a//b', true],
    ['/a*', '/a', true],
    ['/a?c', '/abc', true],
    ['/a?c', '/a/c', false],
    ['/*.html', '/a.b.html', true],
    ['/*.html', '/x.html/', false],
    ['/.x/*', '/.x/.y', true],
    ['**/*.pdf', '/.hidden/a.pdf', true],
    ['/A', '/a', false],
    // `**` is a whole segment, else a `*`
    ['/a/**/b', '/a/b', true],
    ['/a/**/b', '/a/x/y/b', true],
    ['/a/**/b', '/ab', false],
    ['/a/**/', '/a/', true],
    ['/a/**/', '/a/b/', true],
    ['/a/**/', '/a/b', false],
    ['/a/**/*.md', '/a/b.md', true],
    ['/a/**/*.md', '/a/x/y/b.md', true],
    ['/a**', '/abc', true],
    ['/a**', '/a/b', false],
    ['/a/**b', '/a/x/b', false],
    ['/***', '/a/b', false],
    ['/a/**/**/b', '/a/x/y/b', true],
    ['/**/x', '/x', true], // picomatch: false (it required a segment there)
    ['/docs/*/**', '/docs/a', true], // picomatch: false
    ['**', '/a/b', true],
    ['**', '/', true],
    // classes, braces, escapes
    ['/[a-c]x', '/bx', true],
    ['/[a-c]x', '/dx', false],
    ['/[^a]x', '/bx', true],
    ['/[!a]x', '/bx', true], // picomatch: false ([!...] did not negate)
    ['/[!a]x', '/ax', false],
    ['/[^a]x', '//x', false],
    ['/{a,b}/x', '/b/x', true],
    ['/{a,b{c,d}}', '/bd', true],
    ['/{docs,api}/**', '/api/v1', true],
    ['/{docs,api}/**', '/blog/v1', false],
    ['/a\\*b', '/a*b', true],
    ['/a\\*b', '/axb', false],
    ['/a[b', '/a[b', false], // refused by the schema; see the grammar tests
    ['/a|b', '/a|b', true],
    ['/café/**', '/café/menu', true],
    ['/%20*', '/%20x', true],
  ])('%s against %s is %s', (pattern, path, expected) => {
    if (pathGlobProblem(pattern)) {
      expect(expected).toBe(false);
      return;
    }
    expect(compilePathGlob(pattern).test(path)).toBe(expected);
  });

  it('anchors as the scope always did', () => {
    expect(anchorPathGlob('*.pdf')).toBe('**/*.pdf');
    expect(anchorPathGlob('docs/**')).toBe('/docs/**');
    expect(anchorPathGlob('/docs/**')).toBe('/docs/**');
    expect(anchorPathGlob('**/x/y')).toBe('**/x/y');
  });
});

describe('glob cost is linear', () => {
  const longPath = `/${'a'.repeat(MAX_URL_LENGTH - 1)}`;
  const segmented = `/${'a/'.repeat((MAX_URL_LENGTH - 2) / 2)}a`;
  const fill = (unit: string, prefix = '', suffix = 'b') =>
    `${prefix}${unit.repeat(Math.floor((MAX_GLOB_LENGTH - prefix.length - suffix.length) / unit.length))}${suffix}`;
  const adversarial = [
    '*a*a*a*a*a*a*a*a*a*a*b',
    '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b',
    fill('*a'),
    fill('*a', '/'),
    fill('*a', '**/'),
    fill('*?', '/'),
    fill('[a-z]*', '/'),
    fill('**/a/', '/'),
    fill('a*/', '/', '**'),
    fill('?', '/'),
    `/{${Array.from({ length: 2 }, () => '*a'.repeat(8)).join(',')}}{${Array.from({ length: 16 }, (_, i) => `${'*a'.repeat(6)}${String.fromCharCode(99 + i)}`).join(',')}}`,
    `/{a,b,cc}*${'a*'.repeat(168)}`,
  ];

  it.each(adversarial.map((pattern) => [pattern.length, pattern]))(
    'a %i-character adversarial pattern costs at most (path + 1) x (states + 1) steps on 2048-character paths',
    (_length, pattern) => {
      expect(pattern.length).toBeLessThanOrEqual(MAX_GLOB_LENGTH);
      expect(pathGlobProblem(pattern)).toBeUndefined();
      const matcher = compilePathGlob(pattern);
      expect(matcher.skips).toBeLessThanOrEqual(2);
      expect(matcher.stepsPerChar).toBeLessThanOrEqual(matcher.states + 1);
      for (const path of [longPath, segmented, `${longPath.slice(0, -1)}b`]) {
        expect(path).toHaveLength(MAX_URL_LENGTH);
        matcher.steps = 0;
        matcher.test(path);
        expect(matcher.steps).toBeLessThanOrEqual((path.length + 1) * matcher.stepsPerChar);
        expect(matcher.steps).toBeLessThanOrEqual((path.length + 1) * (matcher.states + 1));
      }
    },
  );

  it('still answers right on them', () => {
    const stars = compilePathGlob('*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b');
    expect(stars.test(longPath)).toBe(false);
    expect(stars.test(`${longPath.slice(0, -1)}b`)).toBe(true);
    expect(stars.test(`${longPath.slice(0, -1)}b/`)).toBe(false);
  });

  it('holds for any accepted pattern (property)', () => {
    const pieces = fc.constantFrom('a', 'b', '/', '*', '**', '?', '[a-c]', '[!a]', '{a,b}', '{x,*a}', '\\*', '.', '%2F');
    fc.assert(
      fc.property(
        fc.array(pieces, { minLength: 1, maxLength: 40 }).map((parts) => parts.join('')),
        fc.array(fc.constantFrom('a', 'b', '/', '.', 'c', '*'), { maxLength: 300 }).map((parts) => `/${parts.join('')}`),
        (pattern, path) => {
          if (pathGlobProblem(pattern)) return;
          const matcher = compilePathGlob(pattern);
          matcher.test(path);
          expect(matcher.skips).toBeLessThanOrEqual(2);
          expect(matcher.steps).toBeLessThanOrEqual((path.length + 1) * matcher.stepsPerChar);
          expect(matcher.stepsPerChar).toBeLessThanOrEqual(matcher.states + 1);
        },
      ),
      { numRuns: 500 },
    );
  });
});
