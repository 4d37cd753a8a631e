// /pages and /errors: at most MAX_RESPONSE_BYTES per response (fewer items,
// `nextCursor` set) and at most `limit` items; following cursors returns
// every item exactly once.
import { crawl, crawlErrorList, MAX_RESPONSE_BYTES, pageList } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { type Api, call, errorCode, START, settleStart, startApi } from '../test-support/harness.js';

const FETCHED_AT = '2026-01-01T00:00:00.000Z';

async function newCrawl(api: Api, links: string[]): Promise<string> {
  const id = crawl.parse((await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } })).json).id;
  await settleStart(api.store, id, links);
  return id;
}

/** A stored page whose markdown is `size` bytes of ASCII that JSON does not escape. */
async function settleBig(api: Api, id: string, url: string, size: number) {
  const settled = await api.store.settle(id, {
    kind: 'processed',
    url,
    title: url,
    depth: 1,
    status: 200,
    bytes: size,
    durationMs: 1,
    markdown: `${url} `.padEnd(size, 'x'),
    fetchedAt: FETCHED_AT,
  });
  expect(settled.result).toBe('settled');
}

/** Follows nextCursor from the first page; each response's body size and item urls. */
async function walk(api: Api, path: string, query = '') {
  const responses: { bytes: number; urls: string[]; nextCursor: string | null | undefined }[] = [];
  let cursor: string | null | undefined;
  do {
    const reply = await call(api.base, 'GET', `${path}?${query}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(reply.status, reply.text.slice(0, 200)).toBe(200);
    const list = (path.endsWith('/pages') ? pageList : crawlErrorList).parse(reply.json);
    responses.push({ bytes: Buffer.byteLength(reply.text), urls: list.items.map((i) => i.url), nextCursor: list.nextCursor });
    expect(Number(reply.headers['content-length'])).toBe(Buffer.byteLength(reply.text));
    cursor = list.nextCursor;
  } while (cursor);
  return responses;
}

describe('/pages within MAX_RESPONSE_BYTES', () => {
  it('30 pages of 1 MB: each response at most 8 MiB with nextCursor, every page exactly once', async () => {
    const api = await startApi(useRedis('rp'));
    const links = Array.from({ length: 29 }, (_, i) => `${START}p${i}`);
    const id = await newCrawl(api, links);
    for (const url of links) await settleBig(api, id, url, 1_000_000);

    const responses = await walk(api, `/api/crawl-v2/${id}/pages`, 'limit=100');
    expect(responses.length).toBeGreaterThan(1);
    for (const r of responses) expect(r.bytes).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    expect(responses[0]!.nextCursor).not.toBeNull();
    // Eight 1 MB pages fit in 8 MiB with the small start page; a ninth would not.
    expect(responses[0]!.urls).toHaveLength(9);
    const urls = responses.flatMap((r) => r.urls);
    expect(urls).toEqual([START, ...links]);
  });

  it('a response exactly at 8 MiB is sent whole; one byte more is split', async () => {
    const api = await startApi(useRedis('rp2'));
    /** Two pages of 3 MB and a third that brings the body of all three to `total` bytes. */
    async function crawlOf(total: number): Promise<string> {
      const links = [`${START}a`, `${START}b`, `${START}c`];
      const id = await newCrawl(api, links);
      // The start page goes first: read it, to know what the others must weigh.
      await settleBig(api, id, links[0]!, 3_000_000);
      await settleBig(api, id, links[1]!, 3_000_000);
      const sofar = (await call(api.base, 'GET', `/api/crawl-v2/${id}/pages?limit=100`)).text;
      const third = {
        url: links[2],
        title: links[2],
        depth: 1,
        status: 200,
        markdown: '',
        fetchedAt: FETCHED_AT,
      };
      // `{"items":[...]` + `,` + third + `],"nextCursor":null}`: the markdown fills the rest.
      const withoutMarkdown = Buffer.byteLength(sofar) + 1 + Buffer.byteLength(JSON.stringify(third));
      await settleBig(api, id, links[2]!, total - withoutMarkdown);
      return id;
    }

    const exact = await crawlOf(MAX_RESPONSE_BYTES);
    const whole = await walk(api, `/api/crawl-v2/${exact}/pages`, 'limit=100');
    expect(whole).toHaveLength(1);
    expect(whole[0]!.bytes).toBe(MAX_RESPONSE_BYTES);
    expect(whole[0]!.urls).toHaveLength(4);
    expect(whole[0]!.nextCursor).toBeNull();

    const over = await crawlOf(MAX_RESPONSE_BYTES + 1);
    const split = await walk(api, `/api/crawl-v2/${over}/pages`, 'limit=100');
    expect(split.map((r) => r.urls.length)).toEqual([3, 1]);
    expect(split[0]!.nextCursor).toBe('3');
    for (const r of split) expect(r.bytes).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
  });

  it('the markdown document still holds every page', async () => {
    const api = await startApi(useRedis('rp3'));
    const links = Array.from({ length: 12 }, (_, i) => `${START}m${i}`);
    const id = await newCrawl(api, links);
    for (const url of links) await settleBig(api, id, url, 1_000_000);
    const reply = await call(api.base, 'GET', `/api/crawl-v2/${id}/markdown`);
    expect(reply.status).toBe(200);
    for (const url of links) expect(reply.text).toContain(`> Source: ${url}\n`);
    expect(reply.text.split('\n---\n')).toHaveLength(13);
  });
});

describe('formats (#14) in the results', () => {
  it('/pages items carry the formats stored; /markdown and llms-full.txt give a page without markdown its title and URL only', async () => {
    const api = await startApi(useRedis('rfmt'));
    const bare = `${START}bare`;
    const id = await newCrawl(api, [bare]);
    const formats = { html: '<p>Bare</p>', rawHtml: '<html><p>Bare</p></html>', pageLinks: ['https://example.com/x'] };
    const settled = await api.store.settle(id, {
      kind: 'processed',
      url: bare,
      title: 'Bare page',
      depth: 1,
      status: 200,
      bytes: 10,
      durationMs: 1,
      markdown: 'never stored',
      withoutMarkdown: true,
      fetchedAt: FETCHED_AT,
      ...formats,
    });
    expect(settled.result).toBe('settled');
    const items = pageList.parse((await call(api.base, 'GET', `/api/crawl-v2/${id}/pages`)).json).items;
    expect(items[1]).toEqual({ url: bare, title: 'Bare page', depth: 1, status: 200, fetchedAt: FETCHED_AT, html: formats.html, rawHtml: formats.rawHtml, links: formats.pageLinks });
    const markdown = (await call(api.base, 'GET', `/api/crawl-v2/${id}/markdown`)).text;
    expect(markdown.endsWith(`\n---\n\n# Bare page\n\n> Source: ${bare}\n`)).toBe(true);
    const full = (await call(api.base, 'GET', `/api/crawl-v2/${id}/llms-full.txt`)).text;
    expect(full).toContain(`# Bare page\n\nSource: ${bare}\n`);
    expect(full).not.toContain('never stored');
  });

  it('POST accepts formats, unique and at least one; refuses the rest with validation_failed', async () => {
    const api = await startApi(useRedis('rfmt2'));
    const post = (formats: unknown) => call(api.base, 'POST', '/api/crawl-v2', { body: { url: START, options: { formats } } });
    const accepted = await post(['links', 'rawHtml', 'html', 'markdown']);
    expect(accepted.status).toBe(201);
    expect(crawl.parse(accepted.json).options.formats).toEqual(['links', 'rawHtml', 'html', 'markdown']);
    const byDefault = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } });
    expect(crawl.parse(byDefault.json).options.formats).toEqual(['markdown']);
    for (const formats of [[], ['html', 'html'], ['screenshot'], 'markdown']) {
      const refused = await post(formats);
      expect(refused.status).toBe(400);
      expect(errorCode(refused)).toBe('validation_failed');
    }
  });
});

describe('discoverOnly (#14) at POST', () => {
  it('is accepted alone (stored as given) and refused with content options, naming the option', async () => {
    const api = await startApi(useRedis('rmap'));
    const post = (options: Record<string, unknown>) => call(api.base, 'POST', '/api/crawl-v2', { body: { url: START, options } });
    const accepted = await post({ discoverOnly: true, formats: ['markdown'] });
    expect(accepted.status).toBe(201);
    expect(crawl.parse(accepted.json).options).toMatchObject({ discoverOnly: true });
    expect(crawl.parse((await post({})).json).options.discoverOnly).toBe(false);
    for (const [options, path] of [
      [{ discoverOnly: true, formats: ['links'] }, 'formats'],
      [{ discoverOnly: true, formats: ['markdown', 'html'] }, 'formats'],
      [{ discoverOnly: true, includeSelectors: ['main'] }, 'includeSelectors'],
      [{ discoverOnly: true, excludeSelectors: ['nav'] }, 'excludeSelectors'],
    ] as const) {
      const refused = await post(options);
      expect(refused.status).toBe(400);
      expect(errorCode(refused)).toBe('validation_failed');
      expect(JSON.stringify(refused.json)).toContain(`discoverOnly stores no content: ${path} does not apply`);
      expect(JSON.stringify(refused.json)).toContain(`"options","${path}"`);
    }
    expect((await post({ discoverOnly: false, formats: ['links'] })).status).toBe(201);
  });
});

describe('/errors, paginated like /pages', () => {
  it('limit (default 20, 1 to 100) and cursors: every error exactly once, in settle order', async () => {
    const api = await startApi(useRedis('re'));
    const links = Array.from({ length: 45 }, (_, i) => `${START}e${i}`);
    const id = await newCrawl(api, links);
    for (const [i, url] of links.entries()) {
      const settled =
        i % 2 === 0
          ? await api.store.settle(id, { kind: 'failed', url, reason: 'http_5xx', message: `HTTP 500 at ${i}`, status: 500, attempts: 3 })
          : await api.store.settle(id, { kind: 'skipped', url, reason: 'not_html' });
      expect(settled.result).toBe('settled');
    }
    const path = `/api/crawl-v2/${id}/errors`;
    const byDefault = await walk(api, path);
    expect(byDefault.map((r) => r.urls.length)).toEqual([20, 20, 5]);
    expect(byDefault.map((r) => r.nextCursor)).toEqual(['20', '40', null]);
    expect(byDefault.flatMap((r) => r.urls)).toEqual(links);

    const atMax = await walk(api, path, 'limit=100');
    expect(atMax).toHaveLength(1);
    expect(atMax[0]!.urls).toEqual(links);
    const first = crawlErrorList.parse((await call(api.base, 'GET', `${path}?limit=1`)).json);
    expect(first.items[0]).toEqual({ url: links[0], kind: 'failed', reason: 'http_5xx', status: 500, message: 'HTTP 500 at 0' });
    expect(first.nextCursor).toBe('1');
    expect(crawlErrorList.parse((await call(api.base, 'GET', `${path}?cursor=45`)).json)).toEqual({ items: [], nextCursor: null });

    for (const query of ['limit=0', 'limit=101', 'limit=x']) {
      const refused = await call(api.base, 'GET', `${path}?${query}`);
      expect(refused.status, query).toBe(400);
      expect(errorCode(refused)).toBe('validation_failed');
    }
    for (const cursor of ['-1', 'x', '1234567890', '99999999999999999999', '1e3']) {
      const refused = await call(api.base, 'GET', `${path}?cursor=${cursor}`);
      expect(refused.status, cursor).toBe(400);
      expect(errorCode(refused)).toBe('invalid_cursor');
    }
  });

  it('at most the byte budget per read, counted as the body (the store\'s errorPage)', async () => {
    const api = await startApi(useRedis('re2'));
    const links = Array.from({ length: 3 }, (_, i) => `${START}b${i}`);
    const id = await newCrawl(api, links);
    for (const url of links) await api.store.settle(id, { kind: 'skipped', url, reason: 'not_html' });
    const all = await api.store.errorPage(id, 0, 100);
    const whole = Buffer.byteLength(JSON.stringify({ items: all.items, nextCursor: null }));
    const exact = await api.store.errorPage(id, 0, 100, whole);
    expect(exact.items).toHaveLength(3);
    expect(exact.next).toBeNull();
    const under = await api.store.errorPage(id, 0, 100, whole - 1);
    expect(under.items).toHaveLength(2);
    expect(under.next).toBe(2);
    expect(Buffer.byteLength(JSON.stringify({ items: under.items, nextCursor: '2' }))).toBeLessThanOrEqual(whole - 1);
  });
});
