import { describe, expect, it } from 'vitest';
import { CrawlstreamClient } from './client.js';
import { DEFAULT_RENDER, RENDER_MODES, type RenderMode } from './index.js';
import { apiErrorResponse, CRAWL_ID, crawlObject, FakeApi, json } from './test-support/fake-api.js';
import { failure } from './test-support/failure.js';

const page = (n: number) => ({
  url: `http://127.0.0.1:9/docs/p${n}`,
  title: `Page ${n}`,
  depth: 1,
  status: 200,
  markdown: `Body ${n}`,
  fetchedAt: '2026-11-23T10:00:01.000Z',
});

describe('CrawlstreamClient', () => {
  it('starts a crawl with options, an idempotency key and the API key, and returns the stream token', async () => {
    const api = new FakeApi([() => json(201, { ...crawlObject({ status: 'queued' }), streamToken: '123.abc' })]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9/', apiKey: 'secret-key-0123456789', fetch: api.fetch });
    const created = await client.createCrawl('http://127.0.0.1:9/docs/', { maxPages: 5, scope: 'origin' }, { idempotencyKey: 'run-1' });
    expect(created).toMatchObject({ id: CRAWL_ID, status: 'queued', streamToken: '123.abc' });
    const [request] = api.requests;
    expect(request).toMatchObject({ url: 'http://127.0.0.1:9/api/crawl-v2', method: 'POST' });
    expect(JSON.parse(request!.body!)).toEqual({ url: 'http://127.0.0.1:9/docs/', options: { maxPages: 5, scope: 'origin' } });
    expect(request!.headers).toMatchObject({
      'idempotency-key': 'run-1',
      authorization: 'Bearer secret-key-0123456789',
      'content-type': 'application/json',
    });
  });

  it('passes options.urls (more start URLs) through, and reads them back typed; [] from a server that predates them', async () => {
    const urls = ['http://127.0.0.1:9/api/', 'http://127.0.0.1:9/blog/'];
    const plain = crawlObject();
    const older = { ...plain, options: Object.fromEntries(Object.entries(plain.options).filter(([key]) => key !== 'urls')) };
    const api = new FakeApi([() => json(201, crawlObject({ options: { ...plain.options, urls } })), () => json(200, older)]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9/', fetch: api.fetch });
    const created = await client.createCrawl('http://127.0.0.1:9/docs/', { urls });
    expect(JSON.parse(api.requests[0]!.body!)).toEqual({ url: 'http://127.0.0.1:9/docs/', options: { urls } });
    const stored: string[] = created.options.urls;
    expect(stored).toEqual(urls);
    expect((await client.getCrawl(CRAWL_ID)).options.urls).toEqual([]);
  });

  it('passes render and waitFor through, reads them and each page\'s rendered flag back typed; auto from a server that predates them', async () => {
    const plain = crawlObject();
    const older = { ...plain, options: Object.fromEntries(Object.entries(plain.options).filter(([key]) => key !== 'render')) };
    const api = new FakeApi([
      () => json(201, crawlObject({ options: { ...plain.options, render: 'always', waitFor: '#app main' } })),
      () => json(200, older),
      () => json(200, { items: [{ ...page(0), rendered: true }, { ...page(1), rendered: false }, page(2)], nextCursor: null }),
    ]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9/', fetch: api.fetch });
    const render: RenderMode = 'always';
    const created = await client.createCrawl('http://127.0.0.1:9/docs/', { render, waitFor: '#app main' });
    expect(JSON.parse(api.requests[0]!.body!)).toEqual({ url: 'http://127.0.0.1:9/docs/', options: { render: 'always', waitFor: '#app main' } });
    const stored: RenderMode = created.options.render;
    expect(stored).toBe('always');
    expect(created.options.waitFor).toBe('#app main');
    expect((await client.getCrawl(CRAWL_ID)).options.render).toBe(DEFAULT_RENDER);
    const rendered: (boolean | undefined)[] = [];
    for await (const p of client.pages(CRAWL_ID)) rendered.push(p.rendered);
    expect(rendered).toEqual([true, false, undefined]);
    expect(RENDER_MODES).toEqual(['never', 'auto', 'always']);
  });

  it('keeps a path prefix of the base URL and builds every route from the shared builders', async () => {
    const api = new FakeApi([
      () => json(200, crawlObject()),
      () => json(200, { items: [crawlObject()], nextCursor: 'abc' }),
      () => json(200, crawlObject({ status: 'cancelled' })),
      () => json(200, { items: [{ url: 'u', kind: 'failed', reason: 'timeout', message: 'slow' }] }),
      () => new Response('# A\n', { headers: { 'content-type': 'text/markdown; charset=utf-8' } }),
    ]);
    const client = new CrawlstreamClient({ baseUrl: 'https://example.test/crawlstream/', fetch: api.fetch });
    expect((await client.getCrawl(CRAWL_ID)).status).toBe('running');
    expect((await client.listCrawls({ status: 'running', limit: 5 })).nextCursor).toBe('abc');
    expect((await client.cancelCrawl(CRAWL_ID)).status).toBe('cancelled');
    expect(await client.errors(CRAWL_ID)).toEqual([{ url: 'u', kind: 'failed', reason: 'timeout', message: 'slow' }]);
    expect(await client.markdown(CRAWL_ID)).toBe('# A\n');
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET https://example.test/crawlstream/api/crawl-v2/${CRAWL_ID}`,
      'GET https://example.test/crawlstream/api/crawl-v2?status=running&limit=5',
      `DELETE https://example.test/crawlstream/api/crawl-v2/${CRAWL_ID}`,
      `GET https://example.test/crawlstream/api/crawl-v2/${CRAWL_ID}/errors?limit=100`,
      `GET https://example.test/crawlstream/api/crawl-v2/${CRAWL_ID}/markdown`,
    ]);
  });

  it('reads llms.txt and llms-full.txt (whole, or llms-full.txt as a stream) from their routes', async () => {
    const text = (body: string, type = 'text/plain; charset=utf-8') => () => new Response(body, { headers: { 'content-type': type } });
    const api = new FakeApi([
      text('# Docs\n\n> Documentation crawled from u: 1 page.\n'),
      text('# A\n\nSource: u\n\nBody.\n'),
      text('# A\n\nSource: u\n\nBody.\n', 'text/markdown; charset=utf-8'),
      () => apiErrorResponse(404, 'not_found'),
      () => new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } }),
      () => json(200, { items: [] }),
    ]);
    const client = new CrawlstreamClient({ baseUrl: 'https://example.test/crawlstream/', apiKey: 'secret-key-0123456789', fetch: api.fetch });
    expect(await client.llmsTxt(CRAWL_ID)).toBe('# Docs\n\n> Documentation crawled from u: 1 page.\n');
    expect(await client.llmsFullTxt(CRAWL_ID)).toBe('# A\n\nSource: u\n\nBody.\n');
    const stream = await client.llmsFullTxtStream(CRAWL_ID);
    expect(await new Response(stream).text()).toBe('# A\n\nSource: u\n\nBody.\n');
    expect(await failure(client.llmsTxt(CRAWL_ID))).toMatchObject({ status: 404, code: 'not_found' });
    expect(await failure(client.llmsFullTxt(CRAWL_ID))).toMatchObject({ status: 200, code: 'invalid_response' });
    expect(await failure(client.llmsFullTxtStream(CRAWL_ID))).toMatchObject({ status: 200, code: 'invalid_response' });
    expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      `GET https://example.test/crawlstream/api/crawl-v2/${CRAWL_ID}/llms.txt`,
      ...Array.from({ length: 2 }, () => `GET https://example.test/crawlstream/api/crawl-v2/${CRAWL_ID}/llms-full.txt`),
      `GET https://example.test/crawlstream/api/crawl-v2/${CRAWL_ID}/llms.txt`,
      ...Array.from({ length: 2 }, () => `GET https://example.test/crawlstream/api/crawl-v2/${CRAWL_ID}/llms-full.txt`),
    ]);
    expect(api.requests[0]!.headers).toMatchObject({ authorization: 'Bearer secret-key-0123456789' });
  });

  it('walks every page of results through the cursors', async () => {
    const api = new FakeApi([
      () => json(200, { items: [page(0), page(1)], nextCursor: '2' }),
      () => json(200, { items: [], nextCursor: '2x' }),
      () => json(200, { items: [page(2)], nextCursor: null }),
    ]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: api.fetch });
    const titles: string[] = [];
    for await (const p of client.pages(CRAWL_ID, { limit: 2 })) titles.push(p.title);
    expect(titles).toEqual(['Page 0', 'Page 1', 'Page 2']);
    expect(api.requests.map((r) => new URL(r.url).search)).toEqual(['?limit=2', '?cursor=2&limit=2', '?cursor=2x&limit=2']);
  });

  it('walks every page of errors through the cursors', async () => {
    const error = (i: number) => ({ url: `u${i}`, kind: 'skipped', reason: 'not_html', message: 'not html' });
    const api = new FakeApi([
      () => json(200, { items: [error(0), error(1)], nextCursor: '2' }),
      () => json(200, { items: [error(2)], nextCursor: null }),
    ]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: api.fetch });
    expect((await client.errors(CRAWL_ID)).map((e) => e.url)).toEqual(['u0', 'u1', 'u2']);
    expect(api.requests.map((r) => new URL(r.url).search)).toEqual(['?limit=100', '?cursor=2&limit=100']);
  });

  it('reads one page of rejected links with cursor and limit; a reason it does not know is let through', async () => {
    const item = { url: 'http://127.0.0.1:9/blog/', reason: 'out_of_scope', foundOn: 'http://127.0.0.1:9/docs/' };
    const newer = { url: 'http://127.0.0.1:9/x', reason: 'too_long_a_name', foundOn: 'http://127.0.0.1:9/docs/', extra: 1 };
    const api = new FakeApi([() => json(200, { items: [item], nextCursor: '1' }), () => json(200, { items: [newer], nextCursor: null })]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: api.fetch });
    expect(await client.rejected(CRAWL_ID, { limit: 1 })).toEqual({ items: [item], nextCursor: '1' });
    expect(await client.rejected(CRAWL_ID, { cursor: '1', limit: 1 })).toEqual({ items: [newer], nextCursor: null });
    expect(api.requests.map((r) => new URL(r.url).pathname + new URL(r.url).search)).toEqual([
      `/api/crawl-v2/${CRAWL_ID}/rejected?limit=1`,
      `/api/crawl-v2/${CRAWL_ID}/rejected?cursor=1&limit=1`,
    ]);
  });

  it('turns JSON error bodies into CrawlstreamError with status, code and details', async () => {
    const api = new FakeApi([
      () => json(400, { error: { code: 'validation_failed', message: 'bad', details: { in: 'body' } } }),
      () => apiErrorResponse(409, 'already_finished'),
      () => new Response('Bad gateway', { status: 502, statusText: 'Bad Gateway' }),
    ]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: api.fetch });
    const invalid = await failure(client.createCrawl('http://127.0.0.1:9/', { maxPages: 0 }));
    expect(invalid).toMatchObject({ status: 400, code: 'validation_failed', message: 'bad', details: { in: 'body' } });
    expect(invalid.retryable).toBe(false);
    expect(await failure(client.cancelCrawl(CRAWL_ID))).toMatchObject({ status: 409, code: 'already_finished' });
    const gateway = await failure(client.getCrawl(CRAWL_ID));
    expect(gateway).toMatchObject({ status: 502, code: 'http_502', message: 'HTTP 502 Bad Gateway' });
    expect(gateway.retryable).toBe(true);
  });

  it('refuses answers that break the contract', async () => {
    const api = new FakeApi([
      () => json(200, { ...crawlObject(), status: 'exploded' }),
      () => new Response('not json', { status: 200 }),
      () => json(202, crawlObject()),
      () => json(200, { items: [page(0)], nextCursor: '5' }),
      () => json(200, { items: [], nextCursor: '5' }),
      () => new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } }),
    ]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: api.fetch });
    const wrong = await failure(client.getCrawl(CRAWL_ID));
    expect(wrong).toMatchObject({ status: 200, code: 'invalid_response' });
    expect(wrong.details).toBeInstanceOf(Array);
    expect((await failure(client.getCrawl(CRAWL_ID))).code).toBe('invalid_response');
    expect((await failure(client.getCrawl(CRAWL_ID))).code).toBe('invalid_response');
    const stuck = (async () => {
      for await (const _ of client.pages(CRAWL_ID)) {
        // drain
      }
    })();
    expect((await failure(stuck)).code).toBe('invalid_response');
    expect((await failure(client.markdown(CRAWL_ID))).code).toBe('invalid_response');
  });

  it('reads answers of a newer server: unknown fields, options and reasons are kept, what it knows still checked', async () => {
    const newer = { ...crawlObject(), options: { ...crawlObject().options, renderJavaScript: true }, priority: 'high', streamToken: 't.k' };
    const api = new FakeApi([
      () => json(200, newer),
      () => json(200, { items: [newer], nextCursor: null, total: 1 }),
      () => json(200, { items: [{ ...page(0), language: 'en' }], nextCursor: null }),
      () => json(200, { items: [{ url: 'u', kind: 'failed', reason: 'tls_handshake', message: 'bad certificate', hint: 'renew' }], nextCursor: null }),
      () => json(200, { ...newer, options: { ...newer.options, maxPages: 'all' } }),
      () => json(200, { items: [{ url: 'u', kind: 'failed', reason: 7, message: 'm' }], nextCursor: null }),
    ]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: api.fetch });
    const got = await client.getCrawl(CRAWL_ID);
    expect(got).toMatchObject({ streamToken: 't.k', priority: 'high', options: { renderJavaScript: true, maxPages: 100 } });
    expect((await client.listCrawls()).items[0]).toMatchObject({ priority: 'high' });
    const pages = [];
    for await (const p of client.pages(CRAWL_ID)) pages.push(p);
    expect(pages).toEqual([{ ...page(0), language: 'en' }]);
    expect(await client.errors(CRAWL_ID)).toEqual([{ url: 'u', kind: 'failed', reason: 'tls_handshake', message: 'bad certificate', hint: 'renew' }]);
    expect((await failure(client.getCrawl(CRAWL_ID))).code).toBe('invalid_response');
    expect((await failure(client.errors(CRAWL_ID))).code).toBe('invalid_response');
  });

  it('reports a network failure as status 0, and passes an abort through', async () => {
    const api = new FakeApi([
      () => {
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) });
      },
    ]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: api.fetch });
    const down = await failure(client.getCrawl(CRAWL_ID));
    expect(down).toMatchObject({ status: 0, code: 'network_error' });
    expect(down.message).toContain('ECONNREFUSED');
    expect(down.retryable).toBe(true);
    await expect(client.getCrawl(CRAWL_ID, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => new CrawlstreamClient({ baseUrl: 'ftp://x' })).toThrow(TypeError);
    expect(() => new CrawlstreamClient({ baseUrl: 'nope' })).toThrow(TypeError);
  });
});
