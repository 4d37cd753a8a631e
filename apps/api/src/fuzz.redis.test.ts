// Property-based fuzzing over real HTTP: whatever a client sends (bodies,
// ids, headers, query strings), the answer is never a 5xx, and every error
// is the JSON error shape.
import { apiError, crawl } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Api, call, openStream, type Reply, START, startApi } from './test-support/harness.js';

const KEY = 'fuzz-key-0123456789';
const SUFFIXES = ['', '/stream', '/pages', '/markdown', '/errors'] as const;
/** Characters a header value may carry on the wire (Node refuses others client-side). */
const headerValue = fc.string({
  unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), fc.constantFrom('\t', 'é', 'ÿ')),
  maxLength: 300,
});
const queryPart = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('0', '-1', '1e3', '101', '99999999999999999999', '1-0', 'running', 'queued', '%', ''),
);

function expectWellFormed(reply: Reply, what: string) {
  expect(reply.status, what).toBeLessThan(500);
  if (reply.status >= 400) expect(apiError.safeParse(reply.json).success, `${what}: ${reply.text.slice(0, 200)}`).toBe(true);
}

/** A stream request: read the status and headers, then hang up (a 200 would run forever). */
async function streamStatus(api: Api, path: string, headers: Record<string, string>): Promise<Reply> {
  const client = await openStream(api.base, path, headers);
  if (client.status === 200) {
    client.close();
    return { status: 200, headers: client.headers, text: '', json: undefined };
  }
  await client.done;
  const { text } = client;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: client.status, headers: client.headers, text, json };
}

describe('fuzzing never yields a 5xx', () => {
  it('POST bodies: arbitrary JSON, near-valid requests and raw bytes', async () => {
    const api = await startApi(useRedis('fz'));
    const option = fc.dictionary(
      fc.constantFrom('maxPages', 'maxDepth', 'scope', 'include', 'exclude', 'respectRobotsTxt', 'useSitemap', 'concurrency', 'delayMs', 'timeoutMs', 'maxBytes', '__proto__', 'constructor', 'x'),
      fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.constant(null), fc.constantFrom('prefix', 'origin', 'domain')),
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
        const reply = await call(api.base, 'POST', '/api/crawl-v2', { body });
        expectWellFormed(reply, JSON.stringify(body).slice(0, 200));
        if (reply.status === 201) expect(crawl.safeParse(reply.json).success).toBe(true);
      }),
      { numRuns: 200 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('application/json', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', ''), async (bytes, type) => {
        const headers: Record<string, string> = type ? { 'content-type': type } : {};
        const reply = await call(api.base, 'POST', '/api/crawl-v2', { raw: Buffer.from(bytes), headers });
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
            : await call(api.base, method, path);
        expect(reply.status, `${method} ${path}`).toBeLessThan(500);
        if (method === 'GET' && reply.status >= 400) expectWellFormed(reply, `${method} ${path}`);
      }),
      { numRuns: 200 },
    );
  });

  it('headers and query strings, with API keys on', async () => {
    const redis = useRedis('fh');
    const api = await startApi(redis, { env: { API_KEYS: KEY } });
    const posted = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: { authorization: `Bearer ${KEY}` } });
    const id = crawl.parse(posted.json).id;
    const auth = fc.oneof(headerValue, fc.constant(`Bearer ${KEY}`), headerValue.map((v) => `Bearer ${v}`), headerValue.map((v) => `Basic ${v}`));
    const query = fc.dictionary(fc.oneof(fc.constantFrom('status', 'limit', 'cursor', 'lastEventId', 'token'), fc.string({ maxLength: 10 })), queryPart, { maxKeys: 4 });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/crawl-v2', `/api/crawl-v2/${id}`, `/api/crawl-v2/${id}/pages`, `/api/crawl-v2/${id}/errors`, `/api/crawl-v2/${id}/markdown`, `/api/crawl-v2/${id}/stream`),
        query,
        fc.record({ authorization: auth, 'last-event-id': headerValue, 'idempotency-key': headerValue, accept: headerValue, 'x-request-id': headerValue }, { requiredKeys: [] }),
        async (path, params, headers) => {
          const url = `${path}?${new URLSearchParams(params)}`;
          const reply = path.endsWith('/stream') ? await streamStatus(api, url, headers) : await call(api.base, 'GET', url, { headers });
          expectWellFormed(reply, `${url} ${JSON.stringify(headers)}`);
        },
      ),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(fc.record({ 'idempotency-key': headerValue, 'content-type': fc.oneof(headerValue, fc.constant('application/json')) }, { requiredKeys: [] }), async (headers) => {
        const reply = await call(api.base, 'POST', '/api/crawl-v2', { raw: JSON.stringify({ url: START }), headers: { authorization: `Bearer ${KEY}`, ...headers } });
        expectWellFormed(reply, JSON.stringify(headers));
      }),
      { numRuns: 150 },
    );
    // Fuzzing opened and closed many streams: none is left open.
    await expect.poll(async () => (await api.app.crawlstream.metrics.openStreams.get()).values[0]?.value, { timeout: 10_000 }).toBe(0);
  });
});
