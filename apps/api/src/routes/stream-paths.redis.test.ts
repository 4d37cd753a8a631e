// The stream route has two ways in: a plain request is served below Fastify
// (routes/stream.ts, Streams.serve), any other shape goes through Fastify's
// route. A query parameter that needs decoding (`pad=%20`, ignored by the
// route) sends the same request down Fastify's path; each pair here must get
// the same answer, byte for byte where it matters.
import { crawl, isTerminalEvent, MAX_REQUEST_TARGET_LENGTH } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { type Api, call, openStream, playCrawl, type Reply, START, sleep, startApi, storedEvents } from '../test-support/harness.js';

const UNKNOWN = '3b241101-e2bb-4255-8caf-4136c566a962';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-0123456789ab';

const streamOf = (id: string) => `/api/crawl-v2/${id}/stream`;

/** The same request, down Fastify's path: one more (ignored) query parameter that needs decoding. */
function viaFastify(path: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}pad=%20`;
}

/** `path` with one more query parameter, to exactly `length` characters. */
function ofLength(path: string, length: number): string {
  const padded = `${path}${path.includes('?') ? '&' : '?'}x=`;
  return `${padded}${'a'.repeat(length - padded.length)}`;
}

/** The log lines of one request id, as a client of the logs sees them (no times, no pid). */
function linesOf(lines: string[], reqId: string) {
  return lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.reqId === reqId)
    .map(({ msg, req, res }) => ({ msg, req, res }));
}

/** Waits (at most 10 s: only a bug reaches that) until `reqId` has `count` log lines. */
async function awaitLines(lines: string[], reqId: string, count: number) {
  for (let i = 0; i < 200 && linesOf(lines, reqId).length < count; i++) await sleep(50);
  return linesOf(lines, reqId);
}

async function postCrawl(api: Api, headers: Record<string, string> = {}) {
  const reply = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers });
  expect(reply.status).toBe(201);
  return { ...crawl.parse(reply.json), streamToken: (reply.json as { streamToken?: string }).streamToken };
}

/** What a client can see of a refusal. */
function answer(reply: Reply) {
  return {
    status: reply.status,
    body: reply.text,
    contentType: reply.headers['content-type'],
    cacheControl: reply.headers['cache-control'],
    wwwAuthenticate: reply.headers['www-authenticate'],
    requestId: reply.headers['x-request-id'],
  };
}

async function both(api: Api, path: string, headers: Record<string, string> = {}) {
  const lean = answer(await call(api.base, 'GET', path, { headers: { 'x-request-id': 'same-id', ...headers } }));
  const fastify = answer(await call(api.base, 'GET', viaFastify(path), { headers: { 'x-request-id': 'same-id', ...headers } }));
  expect(lean, path).toEqual(fastify);
  return lean;
}

describe('the stream route answers alike on both paths', () => {
  it('refusals: unknown crawl, malformed or out-of-range cursor (header or query), 204 past the end', async () => {
    const api = await startApi(useRedis('sp'));
    const created = await postCrawl(api);

    const missing = await both(api, streamOf(UNKNOWN));
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toEqual({ error: { code: 'not_found', message: 'No such crawl' } });
    expect(missing.contentType).toBe('application/json; charset=utf-8');
    expect(missing.requestId).toBe('same-id');

    const badHeader = await both(api, streamOf(created.id), { 'last-event-id': '1-2-3' });
    expect(badHeader.status).toBe(400);
    expect(JSON.parse(badHeader.body).error.code).toBe('invalid_last_event_id');
    const badQuery = await both(api, `${streamOf(created.id)}?lastEventId=abc`);
    expect(badQuery.status).toBe(400);
    expect(JSON.parse(badQuery.body).error.code).toBe('invalid_last_event_id');
    const empty = await both(api, `${streamOf(created.id)}?lastEventId=`);
    expect(empty.status).toBe(400);
    // Each part of a stream id is an unsigned 64-bit integer to Redis: one past it is a 400 (not a
    // Redis error, not a reset), on a running crawl, as the header and as the query parameter.
    for (const cursor of ['99999999999999999999-0', '1-99999999999999999999', '18446744073709551616-0', '0-18446744073709551616']) {
      for (const [path, headers] of [
        [streamOf(created.id), { 'last-event-id': cursor }],
        [`${streamOf(created.id)}?lastEventId=${cursor}`, {}],
      ] as const) {
        const refused = await both(api, path, headers);
        expect(refused.status, `${path} ${JSON.stringify(headers)}`).toBe(400);
        expect(JSON.parse(refused.body).error.code).toBe('invalid_last_event_id');
      }
    }
    // At the limit it is a cursor past anything stored: a reset and a snapshot, then live.
    for (const path of [streamOf(created.id), viaFastify(streamOf(created.id))]) {
      const client = await openStream(api.base, path, { 'last-event-id': '18446744073709551615-18446744073709551615' });
      expect(client.status, path).toBe(200);
      await client.waitFor((c) => c.events.length >= 2, 10_000, 'reset and snapshot');
      expect(client.events.map((e) => e.event)).toEqual(['reset', 'snapshot']);
      client.close();
    }

    await playCrawl(api.store, created.id, 2);
    const last = (await storedEvents(api.store, created.id)).at(-1)!;
    expect(isTerminalEvent(last.event)).toBe(true);
    const ended = await both(api, `${streamOf(created.id)}?lastEventId=${last.id}`);
    expect(ended).toMatchObject({ status: 204, body: '', cacheControl: 'no-cache, no-transform', requestId: 'same-id' });
  });

  it('a stream: the same head and the same events; x-request-id taken when well-formed, else a fresh one', async () => {
    const api = await startApi(useRedis('sp2'));
    const created = await postCrawl(api);
    await playCrawl(api.store, created.id, 3);
    const stored = await storedEvents(api.store, created.id);
    for (const path of [`${streamOf(created.id)}?lastEventId=0`, viaFastify(`${streamOf(created.id)}?lastEventId=0`)]) {
      const client = await openStream(api.base, path, { 'x-request-id': 'abc.DEF:1-2_3' });
      expect(client.status, path).toBe(200);
      expect(client.headers['content-type']).toBe('text/event-stream');
      expect(client.headers['cache-control']).toBe('no-cache, no-transform');
      expect(client.headers['x-accel-buffering']).toBe('no');
      expect(client.headers['x-request-id']).toBe('abc.DEF:1-2_3');
      await client.done;
      expect(client.lines[0]).toMatch(/^retry: \d+$/);
      expect(client.events, path).toEqual(stored);

      const fresh = await openStream(api.base, path, { 'x-request-id': 'not valid!' });
      expect(fresh.headers['x-request-id']).toMatch(UUID);
      await fresh.done;
    }
    const noId = await call(api.base, 'GET', streamOf(UNKNOWN));
    expect(noId.headers['x-request-id']).toMatch(UUID);
  });

  it('HEAD is no stream, a URL over the limit is 414, a repeated cursor is a validation error', async () => {
    const api = await startApi(useRedis('sp3'));
    const created = await postCrawl(api);
    const head = await call(api.base, 'HEAD', streamOf(created.id));
    expect(head.status).toBe(404);
    expect(head.headers['content-type']).not.toBe('text/event-stream');

    const long = await call(api.base, 'GET', `${streamOf(created.id)}?lastEventId=0&x=${'a'.repeat(9000)}`);
    expect(long.status).toBe(414);
    expect((long.json as { error: { code: string } }).error.code).toBe('uri_too_long');

    const repeated = await call(api.base, 'GET', `${streamOf(created.id)}?lastEventId=0&lastEventId=0`);
    expect(repeated.status).toBe(400);
    expect((repeated.json as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  it('with API keys: 401 with a challenge without a key or token or with a wrong one, 404 for another key\'s crawl', async () => {
    const api = await startApi(useRedis('sp4'), { env: { API_KEYS: `${ALICE},${BOB}` } });
    const created = await postCrawl(api, { authorization: `Bearer ${ALICE}` });
    const other = await postCrawl(api, { authorization: `Bearer ${BOB}` });
    const path = streamOf(created.id);

    for (const headers of [{}, { authorization: 'Bearer not-a-key-0123456789' }] as Record<string, string>[]) {
      const refused = await both(api, path, headers);
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body).error.code).toBe('unauthorized');
      expect(refused.wwwAuthenticate).toBe('Bearer realm="crawlstream"');
    }
    const theirs = await both(api, path, { authorization: `Bearer ${BOB}` });
    expect(theirs.status).toBe(404);
    expect(JSON.parse(theirs.body).error.code).toBe('not_found');

    // A stream token opens its own crawl only.
    const token = created.streamToken;
    expect(token).toBeTypeOf('string');
    const wrongCrawl = await both(api, `${streamOf(other.id)}?token=${token}`);
    expect(wrongCrawl).toMatchObject({ status: 401, wwwAuthenticate: 'Bearer realm="crawlstream"' });
    for (const p of [`${path}?token=${token}`, viaFastify(`${path}?token=${token}`)]) {
      const client = await openStream(api.base, p);
      expect(client.status, p).toBe(200);
      await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
      client.close();
    }
  });

  it('a request target of MAX_REQUEST_TARGET_LENGTH characters is served, one more is 414, on both paths', async () => {
    const api = await startApi(useRedis('sp5'));
    for (const path of [streamOf(UNKNOWN), viaFastify(streamOf(UNKNOWN))]) {
      const atLimit = await call(api.base, 'GET', ofLength(path, MAX_REQUEST_TARGET_LENGTH));
      expect(atLimit.status, path).toBe(404);
      expect((atLimit.json as { error: { code: string } }).error.code).toBe('not_found');
      const past = await call(api.base, 'GET', ofLength(path, MAX_REQUEST_TARGET_LENGTH + 1));
      expect(past.status, path).toBe(414);
      expect(past.json).toEqual({ error: { code: 'uri_too_long', message: 'The URL is too long' } });
    }
    expect((await call(api.base, 'GET', ofLength('/healthz', MAX_REQUEST_TARGET_LENGTH))).status).toBe(200);
    expect((await call(api.base, 'GET', ofLength('/healthz', MAX_REQUEST_TARGET_LENGTH + 1))).status).toBe(414);
  });

  it('the same log lines on both paths: incoming (stream token redacted) and completed, with the request id', async () => {
    const lines: string[] = [];
    const api = await startApi(useRedis('sp6'), { env: { LOG_LEVEL: 'info' }, logStream: { write: (line) => lines.push(line) } });
    const created = await postCrawl(api);
    await playCrawl(api.store, created.id, 1);
    const unpadded = (entries: ReturnType<typeof linesOf>) =>
      entries.map((entry) => {
        const req = entry.req as { url: string } | undefined;
        return req ? { ...entry, req: { ...req, url: req.url.replace(/[?&]pad=%20/, '') } } : entry;
      });
    for (const [path, status] of [
      [streamOf(UNKNOWN), 404],
      [`${streamOf(created.id)}?lastEventId=0&token=secret-value`, 200],
    ] as const) {
      const lean = await openStream(api.base, path, { 'x-request-id': `lean-${status}` });
      const fastify = await openStream(api.base, viaFastify(path), { 'x-request-id': `fastify-${status}` });
      await Promise.all([lean.done, fastify.done]);
      const leanLines = await awaitLines(lines, `lean-${status}`, 2);
      const fastifyLines = await awaitLines(lines, `fastify-${status}`, 2);
      expect(leanLines).toEqual([
        {
          msg: 'incoming request',
          req: { method: 'GET', url: path.replace('secret-value', '[redacted]'), remoteAddress: '127.0.0.1' },
          res: undefined,
        },
        { msg: 'request completed', req: undefined, res: { statusCode: status } },
      ]);
      expect(unpadded(fastifyLines)).toEqual(leanLines);
    }
    expect(lines.join('\n')).not.toContain('secret-value');
  });
});
