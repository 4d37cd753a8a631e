// Property-based fuzzing over real HTTP: whatever a client sends (bodies,
// ids, headers, query strings, on every route, the stream's lean path below
// Fastify included), the answer is never a 5xx, every 4xx is the JSON error
// shape with a code, and no request hangs: each has a deadline (an
// AbortSignal far longer than any answer takes), and running into it fails
// the property.
import { apiError, crawl } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Api, call, openStream, type Reply, START, startApi } from './test-support/harness.js';

const KEY = 'fuzz-key-0123456789';
const OTHER_KEY = 'fuzz-other-key-0123';
const METRICS_TOKEN = 'fuzz-metrics-token-0123';
const SUFFIXES = ['', '/stream', '/pages', '/markdown', '/errors'] as const;
/** Far longer than any answer takes here: only a hang runs into it. */
const DEADLINE_MS = 15_000;
/** Characters a header value may carry on the wire (Node refuses others client-side). */
const headerValue = fc.string({
  unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), fc.constantFrom('\t', 'é', 'ÿ')),
  maxLength: 300,
});
/** Stream ids and offsets at and past every bound (2^64-1 per id part, 9 digits per offset). */
const EDGE_VALUES = [
  '0', '-1', '1e3', '101', '100', '1', '99999999999999999999', '1-0', '0-0', '00-00', '1-', '-1-0',
  '18446744073709551615-18446744073709551615', '18446744073709551616-0', '1-18446744073709551616', '99999999999999999999-0',
  '1-99999999999999999999', '999999999', '1000000000', '1234567890123456.3b241101-e2bb-4255-8caf-4136c566a962',
  '9999999999999999.ffffffff-ffff-4fff-bfff-ffffffffffff', 'running', 'queued', 'completed', '%', '', ' ', '1.5', '0x10',
];
const queryPart = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(...EDGE_VALUES));
/** A value that needs no encoding: such a query reaches the stream's lean path. */
const plainValue = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abcXYZ019._~-'.split('')), maxLength: 45 }),
  fc.constantFrom(...EDGE_VALUES.filter((v) => /^[A-Za-z0-9._~-]*$/.test(v))),
);
const QUERY_NAMES = ['status', 'limit', 'cursor', 'lastEventId', 'token', 'pad'] as const;

/** A query string: encoded by URLSearchParams (Fastify's path), or plain name=value pairs (the lean path), repeats allowed. */
function queryOf(names: fc.Arbitrary<string>) {
  return fc.oneof(
    fc.dictionary(names, queryPart, { maxKeys: 4 }).map((params) => `${new URLSearchParams(params)}`),
    fc.array(fc.tuple(fc.constantFrom(...QUERY_NAMES), plainValue, fc.boolean()), { maxLength: 4 }).map((pairs) =>
      pairs.map(([name, value, bare]) => (bare && value === '' ? name : `${name}=${value}`)).join('&'),
    ),
  );
}

function expectWellFormed(reply: Reply, what: string) {
  expect(reply.status, what).toBeLessThan(500);
  if (reply.status >= 400) expect(apiError.safeParse(reply.json).success, `${what}: ${reply.text.slice(0, 200)}`).toBe(true);
}

/** One request with a deadline: a hang fails the property (not a slow answer). */
async function request(api: Api, method: string, path: string, options: Parameters<typeof call>[3] = {}): Promise<Reply> {
  const signal = AbortSignal.timeout(DEADLINE_MS);
  try {
    return await call(api.base, method, path, { ...options, signal });
  } catch (error) {
    throw new Error(`${method} ${path}: ${signal.aborted ? `no answer within ${DEADLINE_MS} ms` : String(error)}`);
  }
}

/** A stream request: read the status and headers, then hang up (a 200 would run forever). */
async function streamStatus(api: Api, path: string, headers: Record<string, string>): Promise<Reply> {
  const signal = AbortSignal.timeout(DEADLINE_MS);
  const client = await openStream(api.base, path, headers, signal).catch((error) => {
    throw new Error(`GET ${path}: ${signal.aborted ? `no answer within ${DEADLINE_MS} ms` : String(error)}`);
  });
  if (client.status === 200) {
    client.close();
    return { status: 200, headers: client.headers, text: '', json: undefined };
  }
  await client.done;
  if (signal.aborted) throw new Error(`GET ${path}: the ${client.status} answer did not end within ${DEADLINE_MS} ms`);
  const { text } = client;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: client.status, headers: client.headers, text, json };
}

async function openStreamsOf(api: Api) {
  return (await api.app.crawlstream.metrics.openStreams.get()).values[0]?.value;
}

describe('fuzzing never yields a 5xx', () => {
  it('POST bodies: arbitrary JSON, near-valid requests and raw bytes', async () => {
    const api = await startApi(useRedis('fz'));
    const option = fc.dictionary(
      fc.constantFrom('maxPages', 'maxDepth', 'urls', 'scope', 'include', 'exclude', 'respectRobotsTxt', 'useSitemap', 'concurrency', 'delayMs', 'timeoutMs', 'maxBytes', '__proto__', 'constructor', 'x'),
      fc.oneof(
        fc.integer(),
        fc.double(),
        fc.boolean(),
        fc.string(),
        fc.array(fc.string(), { maxLength: 3 }),
        // `urls`: near-valid lists, repeats and the start URL among them.
        fc.array(fc.oneof(fc.webUrl(), fc.constantFrom(START, 'http://a b/', 'http://x.test/é', 'javascript:x')), { maxLength: 4 }),
        fc.constant(null),
        fc.constantFrom('prefix', 'origin', 'domain'),
      ),
    );
    const nearValid = fc.record(
      {
        url: fc.oneof(fc.webUrl(), fc.string(), fc.constantFrom(START, 'http://[::1]/', 'https://ex.test:99999/', 'http://a b/', `http://x.test/${'a'.repeat(3000)}`)),
        options: fc.oneof(option, fc.jsonValue()),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(nearValid, fc.jsonValue()), async (body) => {
        const reply = await request(api, 'POST', '/api/crawl-v2', { body });
        expectWellFormed(reply, JSON.stringify(body).slice(0, 200));
        if (reply.status === 201) expect(crawl.safeParse(reply.json).success).toBe(true);
      }),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('application/json', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', ''), async (bytes, type) => {
        const headers: Record<string, string> = type ? { 'content-type': type } : {};
        const reply = await request(api, 'POST', '/api/crawl-v2', { raw: Buffer.from(bytes), headers });
        expectWellFormed(reply, `${type} ${Buffer.from(bytes).toString('hex').slice(0, 80)}`);
      }),
      { numRuns: 100 },
    );
  });

  it('ids and paths', async () => {
    const api = await startApi(useRedis('fi'));
    const id = fc.oneof(
      fc.string({ maxLength: 60 }).map(encodeURIComponent),
      fc.uuid({ version: 4 }),
      fc.uuid(),
      fc.constantFrom('%', '%zz', '%E0%A4%A', '..', '.', '%2e%2e', 'a%00b', 'x'.repeat(300), '%F0%9F%98%80'),
    );
    await fc.assert(
      fc.asyncProperty(id, fc.constantFrom(...SUFFIXES), fc.constantFrom('GET', 'DELETE', 'HEAD', 'PUT', 'OPTIONS'), async (value, suffix, method) => {
        const path = `/api/crawl-v2/${value}${suffix}`;
        const reply =
          suffix === '/stream' && method === 'GET'
            ? await streamStatus(api, path, {})
            : await request(api, method, path);
        expect(reply.status, `${method} ${path}`).toBeLessThan(500);
        if (method !== 'HEAD') expectWellFormed(reply, `${method} ${path}`);
      }),
      { numRuns: 200 },
    );
  });

  it('every header and query parameter of every route, with API keys on', async () => {
    const redis = useRedis('fh');
    const api = await startApi(redis, { env: { API_KEYS: `${KEY},${OTHER_KEY}` }, settings: { streamMaxPerKey: 1000 } });
    const posted = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: { authorization: `Bearer ${KEY}` } });
    const { id, streamToken } = posted.json as { id: string; streamToken: string };
    await api.store.settle(id, { kind: 'skipped', url: START, reason: 'not_html' });
    const running = crawl.parse((await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: { authorization: `Bearer ${KEY}` } })).json).id;
    const auth = fc.oneof(
      headerValue,
      fc.constantFrom(`Bearer ${KEY}`, `Bearer ${OTHER_KEY}`, `bearer  ${KEY} `, `Basic ${Buffer.from(`admin:${KEY}`).toString('base64')}`),
      headerValue.map((v) => `Bearer ${v}`),
      headerValue.map((v) => `Basic ${v}`),
    );
    const crawlPaths = [id, running].flatMap((crawlId) => SUFFIXES.map((suffix) => `/api/crawl-v2/${crawlId}${suffix}`));
    const paths = ['/api/crawl-v2', ...crawlPaths, '/healthz', '/readyz', '/metrics', '/docs/json', '/', '/admin/queues', '/admin/queues/api/queues', '/admin/queues/api/queues/pages/x-1'];
    const headers = fc.record(
      {
        authorization: auth,
        'last-event-id': fc.oneof(headerValue, fc.constantFrom(...EDGE_VALUES.filter((v) => v.trim() !== ''))),
        'idempotency-key': headerValue,
        accept: fc.oneof(headerValue, fc.constantFrom('text/event-stream', 'application/json', '*/*')),
        'accept-encoding': fc.oneof(headerValue, fc.constantFrom('gzip', 'br, gzip;q=0.5', 'identity;q=0')),
        'content-type': fc.oneof(headerValue, fc.constantFrom('application/json', 'text/plain')),
        'x-request-id': headerValue,
        'x-forwarded-for': fc.oneof(headerValue, fc.constantFrom('10.0.0.1', '::1, 10.0.0.2', 'not an address')),
        'if-none-match': headerValue,
        origin: headerValue,
        cookie: headerValue,
        range: headerValue,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        queryOf(fc.oneof(fc.constantFrom(...QUERY_NAMES), fc.string({ maxLength: 10 }))),
        fc.boolean(),
        headers,
        async (path, query, withToken, sent) => {
          const tokenQuery = withToken && path.endsWith('/stream') ? `token=${streamToken}` : '';
          const url = `${path}?${[query, tokenQuery].filter(Boolean).join('&')}`;
          const reply = path.endsWith('/stream') ? await streamStatus(api, url, sent) : await request(api, 'GET', url, { headers: sent });
          expectWellFormed(reply, `${url} ${JSON.stringify(sent)}`);
        },
      ),
      { numRuns: 400 },
    );
    // Writes: POST with every header, DELETE with any auth.
    await fc.assert(
      fc.asyncProperty(
        fc.record({ 'idempotency-key': headerValue, 'content-type': fc.oneof(headerValue, fc.constant('application/json')), authorization: auth, 'x-request-id': headerValue }, { requiredKeys: [] }),
        fc.oneof(fc.constant(''), queryOf(fc.constantFrom(...QUERY_NAMES))),
        async (sent, query) => {
          const reply = await request(api, 'POST', `/api/crawl-v2?${query}`, { raw: JSON.stringify({ url: START }), headers: sent });
          expectWellFormed(reply, JSON.stringify(sent));
          const deleted = await request(api, 'DELETE', `/api/crawl-v2/${running}?${query}`, { headers: { authorization: sent.authorization ?? '' } });
          expectWellFormed(deleted, `DELETE ${JSON.stringify(sent)}`);
        },
      ),
      { numRuns: 150 },
    );
    // Fuzzing opened and closed many streams: none is left open.
    await expect.poll(() => openStreamsOf(api), { timeout: 10_000 }).toBe(0);
  });

  it('without API keys, with a metrics token and stream caps: every route and the board\'s writes', async () => {
    const api = await startApi(useRedis('fn'), { settings: { metricsToken: METRICS_TOKEN, streamMaxPerAddress: 3 } });
    const id = crawl.parse((await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } })).json).id;
    const headers = fc.record(
      {
        authorization: fc.oneof(headerValue, fc.constant(`Bearer ${METRICS_TOKEN}`), headerValue.map((v) => `Bearer ${v}`)),
        'last-event-id': fc.oneof(headerValue, fc.constantFrom(...EDGE_VALUES.filter((v) => v.trim() !== ''))),
        'x-request-id': headerValue,
        'content-type': fc.oneof(headerValue, fc.constant('application/json')),
        accept: headerValue,
      },
      { requiredKeys: [] },
    );
    const boardWrites = [
      ['PUT', '/admin/queues/api/queues/pages/pause'],
      ['PUT', '/admin/queues/api/queues/pause'],
      ['POST', '/admin/queues/api/queues/pages/add'],
      ['PATCH', '/admin/queues/api/queues/pages/x-1/update-data'],
      ['PUT', '/admin/queues/api/queues/pages/clean/completed'],
      ['DELETE', '/admin/queues/api/queues/pages'],
    ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/metrics', '/api/crawl-v2', ...SUFFIXES.map((suffix) => `/api/crawl-v2/${id}${suffix}`)),
        queryOf(fc.constantFrom(...QUERY_NAMES)),
        headers,
        fc.constantFrom(...boardWrites),
        fc.oneof(fc.jsonValue(), fc.constant(undefined)),
        async (path, query, sent, [method, boardPath], body) => {
          const url = `${path}?${query}`;
          const reply = path.endsWith('/stream') ? await streamStatus(api, url, sent) : await request(api, 'GET', url, { headers: sent });
          expectWellFormed(reply, `${url} ${JSON.stringify(sent)}`);
          const write = await request(api, method, `${boardPath}?${query}`, { headers: sent, ...(body === undefined ? {} : { raw: JSON.stringify(body) }) });
          expectWellFormed(write, `${method} ${boardPath}`);
          expect(write.status).toBeGreaterThanOrEqual(400);
        },
      ),
      { numRuns: 200 },
    );
    expect(await api.app.crawlstream.queue.isPaused()).toBe(false);
    await expect.poll(() => openStreamsOf(api), { timeout: 10_000 }).toBe(0);
  });
});
