// The stream gateway hooks against a gateway stand-in on loopback: every
// answer of the connect hook and what the client sees, on both stream paths
// (lean, and Fastify's for a query that needs decoding); a client that leaves
// while the hook is asked; the disconnect notice of each way a stream closes.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  crawl,
  MAX_LINKS_PER_PAGE,
  MAX_MESSAGE_LENGTH,
  STREAM_DISCONNECT_CONCURRENCY,
  STREAM_DISCONNECT_QUEUE_MAX,
  STREAM_HOOK_BODY_MAX_BYTES,
} from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { StreamHooks } from '../stream-hooks.js';
import { type Api, call, errorCode, openStream, playCrawl, START, settleStart, startApi, stopApi } from '../test-support/harness.js';

const streamOf = (id: string) => `/api/crawl-v2/${id}/stream`;
/** A query Fastify must decode: the request goes the Fastify way, not the lean one. */
const VIA_FASTIFY = '?x=%20';

async function postCrawl(api: Api) {
  const reply = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } });
  expect(reply.status).toBe(201);
  return crawl.parse(reply.json);
}

async function gauge(api: Api): Promise<number> {
  return (await api.app.crawlstream.metrics.openStreams.get()).values[0]?.value ?? 0;
}

async function counted(api: Api, metric: 'connectHookOutcomes' | 'streamOpens' | 'disconnectNotices', label: string): Promise<number> {
  const values = (await api.app.crawlstream.metrics[metric].get()).values;
  return values.find((v) => Object.values(v.labels).includes(label))?.value ?? 0;
}

interface Notice {
  crawlId: string;
  owner: string;
  address: string;
  reason: string;
}

/** The gateway: `/connect` answers as `connect` says; `/disconnect` records notices (after `failFirst` 500s). */
const gateway = {
  origin: '',
  connects: [] as { body: { crawlId: string; owner: string; address: string; headers: Record<string, string> } }[],
  notices: [] as Notice[],
  failFirst: 0,
  connect: (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(204).end(),
  held: [] as ServerResponse[],
};
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (req.url === '/connect') {
      gateway.connects.push({ body });
      gateway.connect(req, res);
    } else if (gateway.failFirst > 0) {
      gateway.failFirst--;
      res.writeHead(500).end();
    } else {
      gateway.notices.push(body);
      res.writeHead(200).end();
    }
  });
});
/** Holds the connect call unanswered (until the test ends). */
const hold = (_req: IncomingMessage, res: ServerResponse) => void gateway.held.push(res);

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gateway.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of gateway.held) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  gateway.connects = [];
  gateway.notices = [];
  gateway.failFirst = 0;
  gateway.connect = (_req, res) => void res.writeHead(204).end();
});

function hooked(settings: Record<string, unknown> = {}) {
  return {
    settings: { streamConnectUrl: `${gateway.origin}/connect`, streamDisconnectUrl: `${gateway.origin}/disconnect`, ...settings },
  };
}

function answer(status: number, body: string, headers: Record<string, string> = {}) {
  return (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
}

describe('the connect hook (STREAM_CONNECT_URL)', () => {
  it.each([
    ['lean', ''],
    ['Fastify', VIA_FASTIFY],
  ])('on a 2xx the stream opens and its events flow (%s path); the hook is told who asks, with their headers minus hop-by-hop ones; it ends with an `ended` notice', async (_path, query) => {
    const api = await startApi(useRedis('hk-ok'), hooked());
    const created = await postCrawl(api);
    const client = await openStream(api.base, `${streamOf(created.id)}${query}`, { authorization: 'Bearer gateway-token', cookie: 'session=abc', 'x-tenant': 't1', 'keep-alive': 'timeout=5' });
    expect(client.status).toBe(200);
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    await playCrawl(api.store, created.id, 2);
    await client.done;
    expect(client.events[client.events.length - 1]!.event).toBe('completed');

    expect(gateway.connects).toHaveLength(1);
    const { body } = gateway.connects[0]!;
    expect(body).toMatchObject({ crawlId: created.id, owner: '', address: '127.0.0.1' });
    expect(body.headers).toMatchObject({ authorization: 'Bearer gateway-token', cookie: 'session=abc', 'x-tenant': 't1' });
    expect(body.headers).not.toHaveProperty('connection');
    expect(body.headers).not.toHaveProperty('keep-alive');

    await expect.poll(() => gateway.notices, { timeout: 10_000 }).toEqual([{ crawlId: created.id, owner: '', address: '127.0.0.1', reason: 'ended' }]);
    expect(await counted(api, 'connectHookOutcomes', 'allowed')).toBe(1);
    expect(await gauge(api)).toBe(0);
  });

  it.each([
    ['lean', ''],
    ['Fastify', VIA_FASTIFY],
  ])("relays the hook's 403 and its JSON error body (%s path); nothing opens, no notice", async (_path, query) => {
    const api = await startApi(useRedis('hk-403'), hooked());
    const created = await postCrawl(api);
    const refusal = { error: { code: 'plan_exhausted', message: 'Your plan allows no more streams', details: { plan: 'free' } } };
    gateway.connect = answer(403, JSON.stringify(refusal));
    const reply = await call(api.base, 'GET', `${streamOf(created.id)}${query}`);
    expect(reply.status).toBe(403);
    expect(reply.json).toEqual(refusal);
    expect(reply.headers['x-request-id']).toBeTruthy();
    expect(await gauge(api)).toBe(0);
    expect(await counted(api, 'streamOpens', '403')).toBe(1);
    await expect.poll(() => api.app.crawlstream.hub.watched, { timeout: 10_000 }).toBe(0);
    expect(gateway.notices).toEqual([]);
  });

  it('relays 401, 404 and 429 (with Retry-After); a body not of our error shape is wrapped in one of ours', async () => {
    const api = await startApi(useRedis('hk-4xx'), hooked());
    const created = await postCrawl(api);
    gateway.connect = answer(401, 'who are you?');
    let reply = await call(api.base, 'GET', streamOf(created.id));
    expect(reply.status).toBe(401);
    expect(errorCode(reply)).toBe('unauthorized');
    gateway.connect = answer(404, JSON.stringify({ error: { code: 'not_found', message: 'No such channel' } }));
    reply = await call(api.base, 'GET', streamOf(created.id));
    expect(reply.status).toBe(404);
    expect(reply.json).toEqual({ error: { code: 'not_found', message: 'No such channel' } });
    gateway.connect = answer(429, JSON.stringify({ message: 'slow down' }), { 'retry-after': '7' });
    reply = await call(api.base, 'GET', streamOf(created.id));
    expect(reply.status).toBe(429);
    expect(errorCode(reply)).toBe('rate_limited');
    expect(reply.headers['retry-after']).toBe('7');
  });

  it(`relays a body of exactly ${STREAM_HOOK_BODY_MAX_BYTES} bytes; one byte more is replaced by ours`, async () => {
    const api = await startApi(useRedis('hk-body'), hooked());
    const created = await postCrawl(api);
    const shell = JSON.stringify({ error: { code: 'denied', message: '' } });
    const atLimit = JSON.stringify({ error: { code: 'denied', message: 'x'.repeat(STREAM_HOOK_BODY_MAX_BYTES - shell.length) } });
    expect(Buffer.byteLength(atLimit)).toBe(STREAM_HOOK_BODY_MAX_BYTES);
    gateway.connect = answer(403, atLimit);
    let reply = await call(api.base, 'GET', streamOf(created.id));
    expect(reply.status).toBe(403);
    expect(reply.text).toBe(atLimit);
    const past = JSON.stringify({ error: { code: 'denied', message: 'x'.repeat(STREAM_HOOK_BODY_MAX_BYTES - shell.length + 1) } });
    gateway.connect = answer(403, past);
    reply = await call(api.base, 'GET', streamOf(created.id));
    expect(reply.status).toBe(403);
    expect(errorCode(reply)).toBe('stream_refused');
  });

  it('answers 502 for any other status of the hook, 504 when it does not answer in time, 503 when it is down', async () => {
    const redis = useRedis('hk-5xx');
    const api = await startApi(redis, hooked({ streamConnectTimeoutMs: 300 }));
    const created = await postCrawl(api);
    gateway.connect = answer(500, '{}');
    let reply = await call(api.base, 'GET', streamOf(created.id));
    expect(reply.status).toBe(502);
    expect(errorCode(reply)).toBe('stream_hook_failed');
    gateway.connect = answer(302, '', { location: '/elsewhere' });
    reply = await call(api.base, 'GET', streamOf(created.id));
    expect(reply.status).toBe(502);

    gateway.connect = hold;
    reply = await call(api.base, 'GET', streamOf(created.id));
    expect(reply.status).toBe(504);
    expect(errorCode(reply)).toBe('stream_hook_timeout');
    reply = await call(api.base, 'GET', `${streamOf(created.id)}${VIA_FASTIFY}`);
    expect(reply.status).toBe(504);

    // A port nothing listens on.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const down = await startApi(redis, { settings: { streamConnectUrl: `http://127.0.0.1:${port}/connect` } });
    reply = await call(down.base, 'GET', streamOf(created.id));
    expect(reply.status).toBe(503);
    expect(errorCode(reply)).toBe('stream_hook_unavailable');

    expect(await counted(api, 'connectHookOutcomes', 'failed')).toBe(2);
    expect(await counted(api, 'connectHookOutcomes', 'timeout')).toBe(2);
    expect(await counted(down, 'connectHookOutcomes', 'unavailable')).toBe(1);
    expect(await gauge(api)).toBe(0);
    await expect.poll(() => api.app.crawlstream.hub.watched, { timeout: 10_000 }).toBe(0);
  });

  it.each([
    ['lean', ''],
    ['Fastify', VIA_FASTIFY],
  ])('a client that leaves while the hook is asked opens nothing and holds nothing: no stream, no slot, no reader, no notice (%s path)', async (_path, query) => {
    // One stream per address: a slot left held would refuse the next stream with 429.
    const api = await startApi(useRedis('hk-gone'), hooked({ streamMaxPerAddress: 1 }));
    const created = await postCrawl(api);
    let asked!: () => void;
    const hookAsked = new Promise<void>((resolve) => {
      asked = resolve;
    });
    gateway.connect = (_req, res) => {
      gateway.held.push(res);
      asked();
    };
    const leaving = new AbortController();
    const gone = call(api.base, 'GET', `${streamOf(created.id)}${query}`, { signal: leaving.signal });
    await hookAsked;
    leaving.abort();
    await expect(gone).rejects.toThrow();
    await expect.poll(() => counted(api, 'connectHookOutcomes', 'client_gone'), { timeout: 10_000 }).toBe(1);
    expect(await counted(api, 'streamOpens', 'gone')).toBe(1);
    expect(await gauge(api)).toBe(0);
    await expect.poll(() => api.app.crawlstream.hub.watched, { timeout: 10_000 }).toBe(0);

    // The slot is free: the next stream from the same address opens; closed by its client, it alone is noticed.
    gateway.connect = (_req, res) => void res.writeHead(200).end();
    const next = await openStream(api.base, streamOf(created.id));
    expect(next.status).toBe(200);
    await next.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    next.close();
    await expect.poll(() => gateway.notices, { timeout: 10_000 }).toEqual([{ crawlId: created.id, owner: '', address: '127.0.0.1', reason: 'client' }]);
    expect(await gauge(api)).toBe(0);
  });
});

describe('disconnect notices (STREAM_DISCONNECT_URL)', () => {
  it('tells `client` when the client closes, retrying past a failing answer', async () => {
    const api = await startApi(useRedis('hk-client'), { settings: { streamDisconnectUrl: `${gateway.origin}/disconnect` } });
    const created = await postCrawl(api);
    gateway.failFirst = 1;
    const client = await openStream(api.base, streamOf(created.id));
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    client.close();
    await expect.poll(() => gateway.notices, { timeout: 10_000 }).toEqual([{ crawlId: created.id, owner: '', address: '127.0.0.1', reason: 'client' }]);
    expect(gateway.failFirst).toBe(0);
    expect(await counted(api, 'disconnectNotices', 'sent')).toBe(1);
  });

  it('tells `shutdown` for the streams a shutdown ends, before the API has closed', async () => {
    const api = await startApi(useRedis('hk-shut'), hooked());
    const created = await postCrawl(api);
    const client = await openStream(api.base, streamOf(created.id));
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    await stopApi(api);
    await client.done;
    expect(gateway.notices).toEqual([{ crawlId: created.id, owner: '', address: '127.0.0.1', reason: 'shutdown' }]);
  });

  it('tells `slow` when a reader that stopped reading is cut off', async () => {
    const api = await startApi(useRedis('hk-slow'), {
      env: { MAX_PAGES_CAP: '20001' },
      settings: { streamDrainTimeoutMs: 500, streamDisconnectUrl: `${gateway.origin}/disconnect` },
    });
    const reply = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START, options: { maxPages: 20_001, concurrency: 256 } } });
    const created = crawl.parse(reply.json);
    const client = await openStream(api.base, streamOf(created.id));
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    client.pause();
    // ~24 MB of events, far more than the socket buffers hold (as the stream route's own slow-reader test).
    const message = 'x'.repeat(MAX_MESSAGE_LENGTH);
    const first = Array.from({ length: MAX_LINKS_PER_PAGE }, (_, i) => `${START}f${i}`);
    const second = Array.from({ length: MAX_LINKS_PER_PAGE }, (_, i) => `${START}g${i}`);
    await settleStart(api.store, created.id, first);
    await settleStart(api.store, created.id, second, first[0]);
    const links = [...first.slice(1), ...second];
    for (let i = 0; i < links.length; i += 200) {
      await Promise.all(links.slice(i, i + 200).map((url) => api.store.settle(created.id, { kind: 'failed', url, reason: 'timeout', message, attempts: 1 })));
    }
    await expect.poll(() => gateway.notices, { timeout: 30_000 }).toEqual([{ crawlId: created.id, owner: '', address: '127.0.0.1', reason: 'slow' }]);
    client.close();
  });

  it('never delays a close: with the hook hanging, streams end and are released, and the API still shuts down', async () => {
    // The connect path holds every call: the notice never gets an answer.
    gateway.connect = hold;
    const api = await startApi(useRedis('hk-hang'), { settings: { streamDisconnectUrl: `${gateway.origin}/connect` } });
    const created = await postCrawl(api);
    const client = await openStream(api.base, streamOf(created.id));
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    await playCrawl(api.store, created.id, 1);
    await client.done;
    expect(client.events[client.events.length - 1]!.event).toBe('completed');
    await expect.poll(() => gauge(api), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => gateway.connects.length, { timeout: 10_000 }).toBe(1);
    // Shutdown waits for pending notices only up to STREAM_DISCONNECT_FLUSH_MS, then gives up on them.
    await stopApi(api);
    expect(gateway.notices).toEqual([]);
    expect(await counted(api, 'disconnectNotices', 'failed')).toBe(1);
  });

  it(`queues at most ${STREAM_DISCONNECT_QUEUE_MAX} notices past those being sent; one more is dropped and counted`, async () => {
    const api = await startApi(useRedis('hk-queue'));
    const { metrics } = api.app.crawlstream;
    gateway.connect = hold;
    // The connect path holds every call: notices sent there stay in flight.
    const hooks = new StreamHooks(null, 1000, `${gateway.origin}/connect`, metrics);
    const party = { crawlId: 'c', owner: '', address: '127.0.0.1' };
    for (let i = 0; i < STREAM_DISCONNECT_CONCURRENCY + STREAM_DISCONNECT_QUEUE_MAX; i++) hooks.disconnected(party, 'client');
    expect(await counted(api, 'disconnectNotices', 'dropped')).toBe(0);
    hooks.disconnected(party, 'client');
    expect(await counted(api, 'disconnectNotices', 'dropped')).toBe(1);
    await hooks.close(0);
    expect(await counted(api, 'disconnectNotices', 'dropped')).toBe(1 + STREAM_DISCONNECT_QUEUE_MAX);
  });
});

describe('hook metrics', () => {
  it('exposes connect-hook latency and outcomes, stream opens by status and time to first event', async () => {
    const api = await startApi(useRedis('hk-metrics'), hooked());
    const created = await postCrawl(api);
    const client = await openStream(api.base, streamOf(created.id));
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    client.close();
    const text = (await call(api.base, 'GET', '/metrics')).text;
    expect(text).toMatch(/^crawlstream_stream_connect_hook_seconds_count 1$/m);
    expect(text).toMatch(/^crawlstream_stream_connect_hook_total\{outcome="allowed"\} 1$/m);
    expect(text).toMatch(/^crawlstream_stream_opens_total\{status="200"\} 1$/m);
    expect(text).toMatch(/^crawlstream_stream_first_event_seconds_count 1$/m);
  });
});
