import { PAGE_QUEUE } from '@crawlstream/jobs';
import {
  compilePathGlob,
  crawl,
  crawlKeys,
  crawlErrorList,
  crawlList,
  MAX_GLOB_LENGTH,
  MAX_START_URLS,
  MAX_URL_LENGTH,
  pageList,
  rejectedList,
} from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, errorCode, playCrawl, START, settleStart, startApi } from '../test-support/harness.js';

const UNKNOWN = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const post = (base: string, body: unknown, headers: Record<string, string> = {}) =>
  call(base, 'POST', '/api/crawl-v2', { body, headers });

describe('POST /api/crawl-v2', () => {
  it('stores the crawl and enqueues its first job before answering 201 with Location', async () => {
    const redis = useRedis('a');
    const api = await startApi(redis);
    const created = await post(api.base, { url: 'HTTP://127.0.0.1:9/Docs/Guide/#intro', options: { maxPages: 7 } });
    expect(created.status).toBe(201);
    const body = crawl.parse(created.json);
    expect(created.headers.location).toBe(`/api/crawl-v2/${body.id}`);
    // The start URL is normalized before it is stored (the worker dedupes on normalized URLs).
    expect(body).toMatchObject({ url: 'http://127.0.0.1:9/Docs/Guide/', status: 'running' });
    expect(body.options.maxPages).toBe(7);
    expect(body.options.maxDepth).toBe(3);
    expect(body.counters.discovered).toBe(1);
    expect(body).not.toHaveProperty('streamToken');
    // The first job is there already.
    const counts = await api.app.crawlstream.queue.getJobCounts('waiting', 'delayed', 'prioritized');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
    expect(api.app.crawlstream.queue.name).toBe(PAGE_QUEUE);
  });

  it('stores options.urls normalized, without url and repeats, every start URL discovered at depth 0; bounds at 100 and 101, refuses a bad one at options.urls.N', async () => {
    const api = await startApi(useRedis('u'));
    const created = await post(api.base, {
      url: 'http://127.0.0.1:9/a/',
      options: { urls: ['HTTP://127.0.0.1:9/b/#x', 'http://127.0.0.1:9/a/#top', 'http://127.0.0.1:9/b/', 'http://127.0.0.1:9/c/'] },
    });
    expect(created.status).toBe(201);
    const body = crawl.parse(created.json);
    expect(body.url).toBe('http://127.0.0.1:9/a/');
    expect(body.options.urls).toEqual(['http://127.0.0.1:9/b/', 'http://127.0.0.1:9/c/']);
    expect(body.counters.discovered).toBe(3);
    const read = crawl.parse((await call(api.base, 'GET', `/api/crawl-v2/${body.id}`)).json);
    expect(read.options.urls).toEqual(body.options.urls);

    const many = (n: number) => Array.from({ length: n }, (_, i) => `http://127.0.0.1:9/p/${i}/`);
    const at = await post(api.base, { url: START, options: { urls: many(MAX_START_URLS), maxPages: 200 } });
    expect(at.status).toBe(201);
    expect(crawl.parse(at.json).counters.discovered).toBe(MAX_START_URLS + 1);
    const issuePaths = (reply: Awaited<ReturnType<typeof post>>) =>
      (reply.json as { error: { details: { issues: { path: string[] }[] } } }).error.details.issues.map((issue) => issue.path);
    const past = await post(api.base, { url: START, options: { urls: many(MAX_START_URLS + 1) } });
    expect([past.status, errorCode(past)]).toEqual([400, 'validation_failed']);
    expect(issuePaths(past)).toContainEqual(['options', 'urls']);
    for (const [bad, index] of [
      [['http://127.0.0.1:9/ok/', 'ftp://127.0.0.1:9/'], '1'],
      [['javascript:alert(1)'], '0'],
      [['http://127.0.0.1:9/ok/', 'http://127.0.0.1:9/ok2/', `http://127.0.0.1:9/${'a'.repeat(MAX_URL_LENGTH)}`], '2'],
      // Within the schema's bound as sent, past it once percent-encoded.
      [[`http://127.0.0.1:9/${'é'.repeat(700)}`], '0'],
    ] as const) {
      const reply = await post(api.base, { url: START, options: { urls: bad } });
      expect([reply.status, errorCode(reply)]).toEqual([400, 'validation_failed']);
      expect(issuePaths(reply)).toContainEqual(['options', 'urls', index]);
    }
    // Under MAX_OPTIONS_BYTES as sent (é is 2 bytes), over it once percent-encoded (6 bytes): refused at `options`.
    const accented = Array.from({ length: MAX_START_URLS }, (_, i) => `http://127.0.0.1:9/${i}/${'é'.repeat(120)}`);
    const grown = await post(api.base, { url: START, options: { urls: accented } });
    expect([grown.status, errorCode(grown)]).toEqual([400, 'validation_failed']);
    expect(issuePaths(grown)).toEqual([['options']]);
    expect(JSON.stringify(grown.json)).toMatch(/more than 32768/);
  });

  it('refuses bad input with 4xx and a JSON error code', async () => {
    const api = await startApi(useRedis('b'));
    const cases: [string, Parameters<typeof call>[3], number, string][] = [
      ['no body', { headers: { 'content-type': 'application/json' } }, 400, 'invalid_json'],
      ['bad JSON', { raw: '{"url":', headers: { 'content-type': 'application/json' } }, 400, 'invalid_json'],
      ['text/plain', { raw: 'https://x.test/', headers: { 'content-type': 'text/plain' } }, 415, 'unsupported_media_type'],
      ['no content type', { raw: 'x' }, 415, 'unsupported_media_type'],
      ['ftp URL', { body: { url: 'ftp://x.test/' } }, 400, 'validation_failed'],
      ['maxPages 0', { body: { url: 'https://x.test/', options: { maxPages: 0 } } }, 400, 'validation_failed'],
      ['unknown option', { body: { url: 'https://x.test/', options: { bogus: 1 } } }, 400, 'validation_failed'],
      ['array body', { body: [1, 2] }, 400, 'validation_failed'],
      ['huge body', { raw: JSON.stringify({ url: 'https://x.test/', pad: 'x'.repeat(400_000) }), headers: { 'content-type': 'application/json' } }, 413, 'payload_too_large'],
      ['bad idempotency key', { body: { url: 'https://x.test/' }, headers: { 'idempotency-key': 'x'.repeat(300) } }, 400, 'invalid_idempotency_key'],
    ];
    for (const [what, options, status, code] of cases) {
      const reply = await call(api.base, 'POST', '/api/crawl-v2', options);
      expect(reply.status, what).toBe(status);
      expect(errorCode(reply), what).toBe(code);
    }
    const detailed = await post(api.base, { url: 'https://x.test/', options: { maxPages: 0 } });
    expect(detailed.json).toMatchObject({
      error: { details: { in: 'body', issues: [{ path: ['options', 'maxPages'] }] } },
    });
    // MAX_PAGES_CAP bounds maxPages.
    const capped = await startApi(useRedis('b2'), { env: { MAX_PAGES_CAP: '50' } });
    expect((await post(capped.base, { url: 'https://x.test/', options: { maxPages: 51 } })).status).toBe(400);
    expect((await post(capped.base, { url: 'https://x.test/', options: { maxPages: 50 } })).status).toBe(201);
  });

  it('refuses globs outside the grammar at their field path; accepts a backtracking one, matched in linear time', async () => {
    const api = await startApi(useRedis('g'));
    const cases: [unknown, string[], RegExp][] = [
      [{ include: ['/docs/@(a|b)'] }, ['options', 'include', '0'], /extglobs/],
      [{ include: ['/ok/**', '!/private/**'] }, ['options', 'include', '1'], /negated/],
      [{ exclude: ['/[[:alpha:]]'] }, ['options', 'exclude', '0'], /POSIX/],
      [{ exclude: ['/{a,b'] }, ['options', 'exclude', '0'], /unclosed/],
      [{ include: [`/${'{a,b}'.repeat(6)}`] }, ['options', 'include', '0'], /alternatives/],
      [{ include: [`/${'a'.repeat(MAX_GLOB_LENGTH)}`] }, ['options', 'include', '0'], /512/],
    ];
    for (const [options, path, message] of cases) {
      const reply = await post(api.base, { url: START, options });
      expect(reply.status, JSON.stringify(options)).toBe(400);
      expect(errorCode(reply)).toBe('validation_failed');
      const issues = (reply.json as { error: { details: { issues: { path: string[]; message: string }[] } } }).error.details.issues;
      expect(issues).toContainEqual({ path, message: expect.stringMatching(message) });
    }

    // picomatch took 24 s on a 10-star version of this against a 40-character path.
    const backtracking = '*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b';
    const created = await post(api.base, { url: START, options: { include: [backtracking], exclude: [`/${'*a'.repeat(255)}b`] } });
    expect(created.status).toBe(201);
    const stored = crawl.parse(created.json).options;
    expect(stored.include).toEqual([backtracking]);
    const path = `/${'a'.repeat(MAX_URL_LENGTH - 1)}`;
    for (const pattern of [...stored.include, ...stored.exclude]) {
      const matcher = compilePathGlob(pattern);
      expect(matcher.test(path)).toBe(false);
      expect(matcher.steps).toBeLessThanOrEqual((path.length + 1) * (matcher.states + 1));
    }
  });

  it('Idempotency-Key: the same key returns the same crawl (200), also when two instances race', async () => {
    const redis = useRedis('i');
    const a = await startApi(redis);
    const b = await startApi(redis);
    const first = await post(a.base, { url: START }, { 'idempotency-key': 'k-1' });
    const again = await post(b.base, { url: START }, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(crawl.parse(again.json).id).toBe(crawl.parse(first.json).id);
    expect(again.headers.location).toBe(first.headers.location);
    // The same key with another body is refused rather than silently answered.
    const other = await post(a.base, { url: `${START}other/` }, { 'idempotency-key': 'k-1' });
    expect(other.status).toBe(422);
    expect(errorCode(other)).toBe('idempotency_key_reused');

    for (let round = 0; round < 5; round++) {
      const key = `race-${round}`;
      const replies = await Promise.all(
        Array.from({ length: 6 }, (_, i) => post(i % 2 ? a.base : b.base, { url: START }, { 'idempotency-key': key })),
      );
      const ids = new Set(replies.map((r) => crawl.parse(r.json).id));
      expect(ids.size).toBe(1);
      expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
      expect(replies.filter((r) => r.status === 200)).toHaveLength(5);
    }
    // One crawl per key: 1 + 5 in the index, no orphans.
    const listed = crawlList.parse((await call(a.base, 'GET', '/api/crawl-v2?limit=100')).json);
    expect(listed.items).toHaveLength(6);
  });
});

describe('reading crawls', () => {
  it('GET /:id on any instance right after POST; 400 malformed id and 404 unknown id on every route', async () => {
    const redis = useRedis('g');
    const a = await startApi(redis);
    const b = await startApi(redis);
    const created = crawl.parse((await post(a.base, { url: START })).json);
    const fromB = await call(b.base, 'GET', `/api/crawl-v2/${created.id}`);
    expect(fromB.status).toBe(200);
    expect(crawl.parse(fromB.json)).toEqual(created);

    const routes = ['', '/stream', '/pages', '/markdown', '/errors', '/rejected'];
    for (const suffix of routes) {
      for (const bad of ['nope', `${created.id.toUpperCase()}`, `${created.id}x`, '00000000-0000-0000-0000-000000000000']) {
        const reply = await call(a.base, 'GET', `/api/crawl-v2/${bad}${suffix}`);
        expect(reply.status, `${bad}${suffix}`).toBe(400);
        expect(errorCode(reply)).toBe('invalid_id');
      }
      const unknown = await call(a.base, 'GET', `/api/crawl-v2/${UNKNOWN}${suffix}`);
      expect(unknown.status, suffix).toBe(404);
      expect(errorCode(unknown)).toBe('not_found');
    }
    expect((await call(a.base, 'DELETE', '/api/crawl-v2/nope')).status).toBe(400);
    expect((await call(a.base, 'DELETE', `/api/crawl-v2/${UNKNOWN}`)).status).toBe(404);
    const route = await call(a.base, 'GET', '/api/nothing-here');
    expect(route.status).toBe(404);
    expect(errorCode(route)).toBe('route_not_found');
  });

  it('lists newest first, filters by status, pages with a cursor', async () => {
    const redis = useRedis('l');
    const api = await startApi(redis);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(crawl.parse((await post(api.base, { url: `${START}${i}/` })).json).id);
    await call(api.base, 'DELETE', `/api/crawl-v2/${ids[1]}`);
    await call(api.base, 'DELETE', `/api/crawl-v2/${ids[4]}`);
    // Expire one crawl's state: the listing skips it (and drops it from the index).
    await redis.connect().del(crawlKeys(ids[2]!, redis.prefix).meta);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const reply = await call(api.base, 'GET', `/api/crawl-v2?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(reply.status).toBe(200);
      const page = crawlList.parse(reply.json);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((c) => c.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    const expected = [...ids].reverse().filter((id) => id !== ids[2]);
    expect(seen).toEqual(expected);

    const cancelled = crawlList.parse((await call(api.base, 'GET', '/api/crawl-v2?status=cancelled')).json);
    expect(cancelled.items.map((c) => c.id)).toEqual([ids[4], ids[1]]);
    expect(cancelled.nextCursor).toBeNull();
    for (const query of ['status=done', 'limit=0', 'limit=101', 'limit=x', 'cursor=zzz', 'limit=1&limit=2']) {
      const reply = await call(api.base, 'GET', `/api/crawl-v2?${query}`);
      expect(reply.status, query).toBe(400);
      expect(errorCode(reply), query).toMatch(/^(validation_failed|invalid_cursor)$/);
    }
  });

  it('DELETE cancels (200, idempotent); 409 already_finished for a completed crawl', async () => {
    const redis = useRedis('d');
    const a = await startApi(redis);
    const b = await startApi(redis);
    const running = crawl.parse((await post(a.base, { url: START })).json);
    const cancelled = await call(a.base, 'DELETE', `/api/crawl-v2/${running.id}`);
    expect(cancelled.status).toBe(200);
    expect(crawl.parse(cancelled.json)).toMatchObject({ id: running.id, status: 'cancelled' });
    const again = await call(b.base, 'DELETE', `/api/crawl-v2/${running.id}`);
    expect(again.status).toBe(200);
    expect(crawl.parse(again.json).status).toBe('cancelled');

    const done = crawl.parse((await post(a.base, { url: START })).json);
    await playCrawl(a.store, done.id, 2);
    expect(crawl.parse((await call(a.base, 'GET', `/api/crawl-v2/${done.id}`)).json).status).toBe('completed');
    const refused = await call(b.base, 'DELETE', `/api/crawl-v2/${done.id}`);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ error: { code: 'already_finished', details: { status: 'completed' } } });
  });

  it('pages with a cursor, one markdown document in a stable order, errors', async () => {
    const redis = useRedis('p');
    const api = await startApi(redis);
    const created = crawl.parse((await post(api.base, { url: START })).json);
    const links = Array.from({ length: 5 }, (_, i) => `${START}p${i}`);
    await settleStart(api.store, created.id, links);
    await api.store.settle(created.id, { kind: 'processed', url: links[0]!, title: 'Zero', depth: 1, status: 200, bytes: 1, durationMs: 1, markdown: 'Zero body.' });
    await api.store.settle(created.id, { kind: 'failed', url: links[1]!, reason: 'http_5xx', message: 'HTTP 503', status: 503, attempts: 4 });
    await api.store.settle(created.id, { kind: 'skipped', url: links[2]!, reason: 'not_html' });
    await api.store.settle(created.id, { kind: 'processed', url: links[3]!, title: '', depth: 1, status: 200, bytes: 1, durationMs: 1, markdown: 'Three body.' });
    await api.store.settle(created.id, { kind: 'processed', url: links[4]!, title: 'Four', depth: 1, status: 200, bytes: 1, durationMs: 1, markdown: 'Four body.' });

    const urls: string[] = [];
    let cursor: string | null = null;
    do {
      const reply = await call(api.base, 'GET', `/api/crawl-v2/${created.id}/pages?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(reply.status).toBe(200);
      const page = pageList.parse(reply.json);
      urls.push(...page.items.map((p) => p.url));
      cursor = page.nextCursor;
    } while (cursor);
    expect(urls).toEqual([START, links[0], links[3], links[4]]);
    expect((await call(api.base, 'GET', `/api/crawl-v2/${created.id}/pages?cursor=abc`)).status).toBe(400);

    const markdown = await call(api.base, 'GET', `/api/crawl-v2/${created.id}/markdown`);
    expect(markdown.status).toBe(200);
    expect(markdown.headers['content-type']).toMatch(/^text\/markdown/);
    expect(markdown.text).toBe(
      [
        `# Start\n\n> Source: ${START}\n\n# Start\n\nHello.\n`,
        `# Zero\n\n> Source: ${links[0]}\n\nZero body.\n`,
        `# ${links[3]}\n\n> Source: ${links[3]}\n\nThree body.\n`,
        `# Four\n\n> Source: ${links[4]}\n\nFour body.\n`,
      ].join('\n---\n\n'),
    );
    expect((await call(api.base, 'GET', `/api/crawl-v2/${created.id}/markdown`)).text).toBe(markdown.text);

    const errors = crawlErrorList.parse((await call(api.base, 'GET', `/api/crawl-v2/${created.id}/errors`)).json);
    expect(errors.items).toEqual([
      { url: links[1], kind: 'failed', reason: 'http_5xx', status: 503, message: 'HTTP 503' },
      { url: links[2], kind: 'skipped', reason: 'not_html', message: 'not html' },
    ]);
  });

  it('rejected: links not taken with reason and foundOn, paginated, counted per reason on the crawl', async () => {
    const redis = useRedis('rj');
    const api = await startApi(redis);
    const created = crawl.parse((await post(api.base, { url: START, options: { maxDepth: 0 } })).json);
    const deep = Array.from({ length: 3 }, (_, i) => `${START}deep${i}`);
    await api.store.settle(created.id, {
      kind: 'processed', url: START, title: 'Start', depth: 0, status: 200, bytes: 1, durationMs: 1, markdown: 'Hello.',
      links: deep, rejected: [{ url: 'http://127.0.0.1:9/elsewhere/', reason: 'out_of_scope' }],
    });
    const items: unknown[] = [];
    let cursor: string | null = null;
    do {
      const reply = await call(api.base, 'GET', `/api/crawl-v2/${created.id}/rejected?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(reply.status).toBe(200);
      const page = rejectedList.parse(reply.json);
      expect(page.items.length).toBeLessThanOrEqual(3);
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(items).toEqual([
      ...deep.map((url) => ({ url, reason: 'max_depth', foundOn: START })),
      { url: 'http://127.0.0.1:9/elsewhere/', reason: 'out_of_scope', foundOn: START },
    ]);
    const got = crawl.parse((await call(api.base, 'GET', `/api/crawl-v2/${created.id}`)).json);
    expect(got).toMatchObject({ counters: { discovered: 1, processed: 1 }, rejected: { max_depth: 3, out_of_scope: 1 } });
    expect((await call(api.base, 'GET', `/api/crawl-v2/${created.id}/rejected?cursor=abc`)).status).toBe(400);
    expect((await call(api.base, 'GET', `/api/crawl-v2/${created.id}/rejected?limit=101`)).status).toBe(400);
    const empty = crawl.parse((await post(api.base, { url: `${START}other/` })).json);
    expect(rejectedList.parse((await call(api.base, 'GET', `/api/crawl-v2/${empty.id}/rejected`)).json)).toEqual({ items: [], nextCursor: null });
  });
});
