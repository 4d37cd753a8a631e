import { describe, expect, it } from 'vitest';
import { MAX_HEADERS, MAX_PAGE_BYTES, MAX_SELECTOR_LENGTH, MAX_SELECTORS, MAX_START_URLS } from '@crawlstream/shared';
import { DEFAULT_API, parseCommandLine, USAGE } from './args.js';
import { UsageError } from './exit-codes.js';

const URL_ = 'http://127.0.0.1:9/docs/';

function usage(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('turns every crawl flag into the option of the contract', () => {
    const parsed = parseCommandLine(
      [
        'crawl',
        URL_,
        '--url',
        'http://127.0.0.1:9/api/',
        '--url=http://127.0.0.1:9/blog/',
        '--max-pages=50',
        '--max-depth',
        '0',
        '--scope',
        'domain',
        '--include',
        '/docs/**',
        '--include',
        '/api/**',
        '--exclude',
        '**/old/**',
        '--concurrency',
        '4',
        '--delay-ms',
        '250',
        '--timeout-ms',
        '5000',
        '--max-bytes',
        '100000',
        '--no-robots',
        '--no-sitemap',
        '--ignore-query-parameters',
        '--idempotency-key',
        'nightly',
        '-o',
        'site.md',
      ],
      {},
    );
    expect(parsed).toEqual({
      command: 'crawl',
      common: { api: DEFAULT_API, json: false, quiet: false },
      url: URL_,
      options: {
        urls: ['http://127.0.0.1:9/api/', 'http://127.0.0.1:9/blog/'],
        maxPages: 50,
        maxDepth: 0,
        scope: 'domain',
        include: ['/docs/**', '/api/**'],
        exclude: ['**/old/**'],
        concurrency: 4,
        delayMs: 250,
        timeoutMs: 5000,
        maxBytes: 100000,
        respectRobotsTxt: false,
        useSitemap: false,
        ignoreQueryParameters: true,
      },
      output: 'site.md',
      idempotencyKey: 'nightly',
      detach: false,
    });
  });

  it('takes --max-bytes up to the ceiling its help states, and refuses one byte more', () => {
    expect(USAGE).toContain(`at most ${MAX_PAGE_BYTES}`);
    expect(parseCommandLine(['crawl', URL_, '--max-bytes', String(MAX_PAGE_BYTES)], {})).toMatchObject({
      options: { maxBytes: MAX_PAGE_BYTES },
    });
    expect(usage(['crawl', URL_, '--max-bytes', String(MAX_PAGE_BYTES + 1)])).toBe(`--max-bytes: Too big: expected number to be <=${MAX_PAGE_BYTES}`);
  });

  it('takes --url up to MAX_START_URLS times, refuses one more and a URL that cannot be crawled, naming it', () => {
    const urls = (n: number) => Array.from({ length: n }, (_, i) => ['--url', `http://127.0.0.1:9/p${i}/`]).flat();
    expect(USAGE).toContain(`repeatable, at most ${MAX_START_URLS}`);
    expect(parseCommandLine(['crawl', URL_, ...urls(MAX_START_URLS)], {})).toMatchObject({ options: { urls: expect.any(Array) } });
    expect(usage(['crawl', URL_, ...urls(MAX_START_URLS + 1)])).toBe(`--url: at most ${MAX_START_URLS} (got ${MAX_START_URLS + 1})`);
    expect(usage(['crawl', URL_, '--url', 'http://127.0.0.1:9/ok/', '--url', 'ftp://x.test/'])).toBe(
      '--url "ftp://x.test/" is not a URL that can be crawled: only http: and https: URLs can be crawled',
    );
    expect(usage(['status', 'x', '--url', URL_])).toBe('--url does not apply to status');
  });

  it('turns --all-content and the repeatable --include-selector and --exclude-selector into the content options', () => {
    const parsed = parseCommandLine(
      [
        'crawl',
        URL_,
        '--all-content',
        '--include-selector',
        'main article',
        '--include-selector=.api, .guide',
        '--exclude-selector',
        'div.ad',
      ],
      {},
    );
    expect(parsed).toMatchObject({
      options: { onlyMainContent: false, includeSelectors: ['main article', '.api, .guide'], excludeSelectors: ['div.ad'] },
    });
    expect(USAGE).toContain('--all-content');
    expect(USAGE).toContain(`repeatable (at most ${MAX_SELECTORS})`);
  });

  it.each(['include-selector', 'exclude-selector'])('takes --%s up to MAX_SELECTORS times of MAX_SELECTOR_LENGTH characters, and no more', (flag) => {
    const flags = (selectors: string[]) => selectors.flatMap((selector) => [`--${flag}`, selector]);
    const many = Array.from({ length: MAX_SELECTORS + 1 }, (_, i) => `.b${i}`);
    expect(parseCommandLine(['crawl', URL_, ...flags(many.slice(0, MAX_SELECTORS))], {})).toMatchObject({ command: 'crawl' });
    expect(usage(['crawl', URL_, ...flags(many)])).toBe(`--${flag}: Too big: expected array to have <=${MAX_SELECTORS} items`);
    const long = (length: number) => `.${'a'.repeat(length - 1)}`;
    expect(parseCommandLine(['crawl', URL_, ...flags([long(MAX_SELECTOR_LENGTH)])], {})).toMatchObject({ command: 'crawl' });
    expect(usage(['crawl', URL_, ...flags(['p', long(MAX_SELECTOR_LENGTH + 1)])])).toMatch(
      new RegExp(`^--${flag} "\\.a+" \\(number 2\\): Too big: expected string to have <=${MAX_SELECTOR_LENGTH} characters$`),
    );
  });

  it('refuses an invalid selector, naming the flag, the selector and which one it is', () => {
    expect(usage(['crawl', URL_, '--exclude-selector', 'nav', '--exclude-selector', 'div['])).toBe(
      '--exclude-selector "div[" (number 2): invalid CSS selector: Expected name, found ',
    );
    expect(usage(['crawl', URL_, '--include-selector', 'p:bogus'])).toBe(
      '--include-selector "p:bogus" (number 1): invalid CSS selector: Unknown pseudo-class :bogus',
    );
    expect(usage(['status', 'x', '--all-content'])).toBe('--all-content does not apply to status');
  });

  it('turns the repeatable --header and --header-env into the headers option, up to MAX_HEADERS', () => {
    const parsed = parseCommandLine(
      ['crawl', URL_, '--header', 'Authorization: Bearer abc:def', '--header-env', 'Cookie=DOCS_COOKIE'],
      { DOCS_COOKIE: 'session=xyz' },
    );
    expect(parsed).toMatchObject({ options: { headers: { Authorization: 'Bearer abc:def', Cookie: 'session=xyz' } } });
    const many = (n: number) => Array.from({ length: n }, (_, i) => ['--header', `X-H${i}: v`]).flat();
    expect(parseCommandLine(['crawl', URL_, ...many(MAX_HEADERS)], {})).toMatchObject({ command: 'crawl' });
    expect(usage(['crawl', URL_, ...many(MAX_HEADERS + 1)])).toBe(`--header: more than ${MAX_HEADERS} headers`);
  });

  it('refuses a bad --header without ever quoting its value', () => {
    const secret = 's3cr3t';
    for (const [argv, message] of [
      [['--header', `Bearer ${secret}`], "--header must be 'Name: value'"],
      [['--header', `Host: ${secret}`], '--header Host: host is set by the crawler and may not be given'],
      [['--header', `X-A: ${secret}`, '--header', `x-a: ${secret}`], '--header: "x-a" given twice'],
      [['--header', `X-A: ${secret}`], '--header X-A: header value may hold only visible ASCII, spaces and tabs'],
      [['--header-env', 'X-A=NOPE'], '--header-env X-A: the environment has no NOPE'],
      [['--header-env', secret], '--header-env must be Name=VARIABLE'],
    ] as const) {
      const text = usage(['crawl', URL_, ...argv]);
      expect(text).toBe(message);
      expect(usage(['status', 'x', '--header', 'A: b'])).toBe('--header does not apply to status');
    }
  });

  it('turns --dedupe into the list of modes and --no-dedupe into none; refuses an unknown mode and both flags', () => {
    expect(parseCommandLine(['crawl', URL_, '--dedupe', 'canonical,content'], {})).toMatchObject({ options: { dedupe: ['canonical', 'content'] } });
    expect(parseCommandLine(['crawl', URL_, '--dedupe=content'], {})).toMatchObject({ options: { dedupe: ['content'] } });
    expect(parseCommandLine(['crawl', URL_, '--no-dedupe'], {})).toMatchObject({ options: { dedupe: [] } });
    expect(usage(['crawl', URL_, '--dedupe', 'canonical,title'])).toBe('--dedupe must be canonical, content or both, comma-separated (got "canonical,title")');
    expect(usage(['crawl', URL_, '--dedupe', 'content,content'])).toBe('--dedupe must be canonical, content or both, comma-separated (got "content,content")');
    expect(usage(['crawl', URL_, '--dedupe', 'content', '--no-dedupe'])).toBe('--dedupe and --no-dedupe do not go together');
  });

  it('turns --format into formats, and refuses unknown or repeated formats', () => {
    expect(parseCommandLine(['crawl', URL_, '--format', 'markdown, html,rawHtml,links'], {})).toMatchObject({
      options: { formats: ['markdown', 'html', 'rawHtml', 'links'] },
    });
    for (const bad of ['pdf', 'html,html', ''])
      expect(usage(['crawl', URL_, '--format', bad])).toBe(
        `--format: a comma-separated list of markdown, html, rawHtml, links, each once (got ${JSON.stringify(bad)})`,
      );
    expect(usage(['pages', 'x', '--format', 'html'])).toBe('--format does not apply to pages');
  });

  it('turns --discover-only into discoverOnly, refused with --format or selectors', () => {
    expect(parseCommandLine(['crawl', URL_, '--discover-only'], {})).toMatchObject({ options: { discoverOnly: true } });
    expect(usage(['crawl', URL_, '--discover-only', '--format', 'links'])).toBe('--discover-only: stores no content, formats does not apply');
    expect(usage(['crawl', URL_, '--discover-only', '--include-selector', 'main'])).toBe(
      '--discover-only: stores no content, includeSelectors does not apply',
    );
  });

  it('turns --render and --wait-for into render and waitFor; refuses another mode, a bad selector, one too long, and a wait with --render never', () => {
    for (const mode of ['never', 'auto', 'always']) {
      expect(parseCommandLine(['crawl', URL_, '--render', mode], {})).toMatchObject({ options: { render: mode } });
    }
    const atLimit = `#${'a'.repeat(MAX_SELECTOR_LENGTH - 1)}`;
    expect(parseCommandLine(['crawl', URL_, '--render=always', '--wait-for', atLimit], {})).toMatchObject({
      options: { render: 'always', waitFor: atLimit },
    });
    expect(parseCommandLine(['crawl', URL_, '--wait-for', '#app main'], {})).toMatchObject({ options: { waitFor: '#app main' } });
    expect(usage(['crawl', URL_, '--render', 'sometimes'])).toBe('--render must be one of never, auto, always (got "sometimes")');
    expect(usage(['crawl', URL_, '--render', 'Always'])).toBe('--render must be one of never, auto, always (got "Always")');
    expect(usage(['crawl', URL_, '--wait-for', 'div['])).toBe('--wait-for "div[": invalid CSS selector: Expected name, found ');
    expect(usage(['crawl', URL_, '--wait-for', `${atLimit}a`])).toMatch(new RegExp(`^--wait-for "#a+": .*${MAX_SELECTOR_LENGTH}`));
    expect(usage(['crawl', URL_, '--render', 'never', '--wait-for', 'main'])).toBe(
      '--wait-for applies to rendered pages; it does not go with --render never',
    );
    expect(usage(['watch', 'x', '--render', 'always'])).toBe('--render does not apply to watch');
    expect(usage(['status', 'x', '--wait-for', 'main'])).toBe('--wait-for does not apply to status');
  });

  it('takes --include-markdown on watch only', () => {
    expect(parseCommandLine(['watch', 'abc', '--include-markdown', '--json'], {})).toMatchObject({ command: 'watch', includeMarkdown: true });
    expect(parseCommandLine(['watch', 'abc'], {})).not.toHaveProperty('includeMarkdown');
    expect(usage(['crawl', URL_, '--include-markdown'])).toBe('--include-markdown does not apply to crawl');
  });

  it('leaves out what was not given, so the server applies its defaults', () => {
    expect(parseCommandLine(['crawl', URL_], {})).toMatchObject({ options: {} });
  });

  it('takes the API and key from flags first, then CRAWLSTREAM_API and CRAWLSTREAM_API_KEY', () => {
    const env = { CRAWLSTREAM_API: 'http://api.test:8080', CRAWLSTREAM_API_KEY: 'env-key' };
    expect(parseCommandLine(['status', 'x'], env)).toMatchObject({
      common: { api: 'http://api.test:8080', apiKey: 'env-key' },
    });
    expect(parseCommandLine(['status', 'x', '--api', 'https://other.test', '--api-key', 'flag-key', '--json'], env)).toMatchObject({
      common: { api: 'https://other.test', apiKey: 'flag-key', json: true },
    });
    expect(usage(['status', 'x'], { CRAWLSTREAM_API: 'api.test' })).toContain('CRAWLSTREAM_API must be an http(s) URL');
  });

  it('parses watch with a cursor and an output file, and the id commands', () => {
    expect(parseCommandLine(['watch', 'abc', '--last-event-id', '0', '-o', 'x.md', '-q'], {})).toMatchObject({
      command: 'watch',
      id: 'abc',
      lastEventId: '0',
      output: 'x.md',
      common: { quiet: true },
    });
    for (const command of ['status', 'cancel', 'pages', 'errors', 'rejected']) {
      expect(parseCommandLine([command, 'abc'], {})).toMatchObject({ command, id: 'abc' });
    }
  });

  it('llms <id>: the index by default, --full for llms-full.txt, -o a file; no --json', () => {
    const id = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    expect(parseCommandLine(['llms', id], {})).toEqual({ command: 'llms', common: { api: DEFAULT_API, json: false, quiet: false }, id, full: false });
    expect(parseCommandLine(['llms', id, '--full', '-o', 'site.txt', '-q'], {})).toMatchObject({ command: 'llms', id, full: true, output: 'site.txt', common: { quiet: true } });
    expect(usage(['llms'])).toBe('llms needs a crawl id');
    expect(usage(['llms', id, '--json'])).toBe('--json does not apply to llms');
    expect(usage(['llms', id, '-o', ' '])).toBe('--output needs a file name');
    expect(usage(['pages', id, '--full'])).toBe('--full does not apply to pages');
    expect(USAGE).toContain('llms <id>');
  });

  it('answers help and version', () => {
    expect(parseCommandLine(['--help'], {})).toMatchObject({ command: 'help' });
    expect(parseCommandLine(['help'], {})).toMatchObject({ command: 'help' });
    expect(parseCommandLine(['crawl', '-h'], {})).toMatchObject({ command: 'help' });
    expect(parseCommandLine(['--version'], {})).toEqual({ command: 'version' });
  });

  it.each([
    [[], 'a command is required'],
    [['fly'], 'unknown command "fly"'],
    [['crawl'], 'crawl needs a URL'],
    [['status'], 'status needs a crawl id'],
    [['status', 'a', 'b'], 'takes one argument'],
    [['crawl', 'file:///etc/passwd'], 'only http: and https:'],
    [['crawl', URL_, '--max-pages', '1.5'], '--max-pages must be a whole number'],
    [['crawl', URL_, '--max-pages', '-1'], 'argument is ambiguous'],
    [['crawl', URL_, '--concurrency', '0'], '--concurrency:'],
    [['crawl', URL_, '--max-depth', '101'], '--max-depth:'],
    [['crawl', URL_, '--scope', 'site'], '--scope must be one of prefix, origin, domain'],
    [['crawl', URL_, '--colour'], "Unknown option '--colour'"],
    [['crawl', URL_, '--detach', '-o', 'x.md'], '--detach and --output'],
    [['crawl', URL_, '-o', ''], '--output needs a file name'],
    [['status', 'x', '--no-robots'], '--no-robots does not apply to status'],
    [['pages', 'x', '-o', 'x.md'], '--output does not apply to pages'],
    [['status', 'x', '--api', 'ftp://x'], '--api must be an http(s) URL'],
  ])('refuses %j', (argv, message) => {
    expect(usage(argv)).toContain(message);
  });
});

describe('--webhook', () => {
  it('sends `webhook` with the URL and the repeated --webhook-event types; nothing without the flag', () => {
    const parsed = parseCommandLine(['crawl', URL_, '--webhook', 'https://hooks.example.com/x', '--webhook-event', 'page', '--webhook-event', 'completed'], {});
    expect(parsed).toMatchObject({ command: 'crawl', webhook: { url: 'https://hooks.example.com/x', events: ['page', 'completed'] } });
    expect(parseCommandLine(['crawl', URL_, '--webhook', 'https://hooks.example.com/x'], {})).toMatchObject({ webhook: { url: 'https://hooks.example.com/x' } });
    expect(parseCommandLine(['crawl', URL_], {})).not.toHaveProperty('webhook');
  });

  it.each([
    [['crawl', URL_, '--webhook-event', 'page'], '--webhook-event needs --webhook'],
    [['crawl', URL_, '--webhook', 'ftp://x/'], '--webhook: only http: and https: URLs'],
    [['crawl', URL_, '--webhook', 'https://h.example/', '--webhook-event', 'snapshot'], '--webhook-event'],
    [['watch', 'x', '--webhook', 'https://h.example/'], '--webhook'],
  ])('refuses %j', (argv, message) => {
    expect(usage(argv)).toContain(message);
  });
});
