// The HTTP server's header and request timeouts (HTTP_HEADERS_TIMEOUT_MS,
// HTTP_REQUEST_TIMEOUT_MS): a client that never finishes its request loses
// its socket; a stream, which is a response, lives on past both.
import net from 'node:net';
import { crawl } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { DEFAULT_API_SETTINGS } from './settings.js';
import { call, openStream, playCrawl, START, startApi } from './test-support/harness.js';

/** Far longer than any timeout here: only a hang reaches it. */
const CAP_MS = 20_000;

/** Opens a raw socket, writes `text`, and resolves with what came back once the server closes it. */
function rawRequest(port: number, text: string): Promise<{ closed: boolean; received: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    const cap = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received });
    }, CAP_MS);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(cap);
      resolve({ closed: true, received });
    });
  });
}

describe('server timeouts', () => {
  it('defaults: 10 s for the head, 30 s for the whole request', async () => {
    expect(DEFAULT_API_SETTINGS.httpHeadersTimeoutMs).toBe(10_000);
    expect(DEFAULT_API_SETTINGS.httpRequestTimeoutMs).toBe(30_000);
    const api = await startApi(useRedis('to0'));
    expect(api.app.server.headersTimeout).toBe(10_000);
    expect(api.app.server.requestTimeout).toBe(30_000);
  });

  it('a half-sent head or body loses its socket; a whole request is served', async () => {
    const api = await startApi(useRedis('to1'), { settings: { httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 600 } });
    const halfHead = await rawRequest(api.port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    expect(halfHead.closed).toBe(true);
    // Below Fastify too: the start of a stream request's head.
    const halfStream = await rawRequest(api.port, 'GET /api/crawl-v2/3b241101-e2bb-4255-8caf-4136c566a962/stream HTTP/1.1\r\n');
    expect(halfStream.closed).toBe(true);
    const halfBody = await rawRequest(
      api.port,
      'POST /api/crawl-v2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"url":',
    );
    expect(halfBody.closed).toBe(true);
    expect(halfBody.received).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(halfBody.received.slice(halfBody.received.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'request_timeout' } });
    expect((await call(api.base, 'GET', '/healthz')).status).toBe(200);
  });

  it('a connection that sends nothing is closed after the header timeout, and at once when the server closes', async () => {
    // Node's header check closes a silent connection, but close() stops that
    // check: without destroying silent connections on close, app.close()
    // waited for ever for one (a browser's preconnect kept a SIGTERM waiting).
    const api = await startApi(useRedis('to4'), { settings: { httpHeadersTimeoutMs: 300 } });
    expect((await rawRequest(api.port, '')).closed).toBe(true);
    // A connection that speaks within the timeout is served.
    const late = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(api.port, '127.0.0.1', () => {
        setTimeout(() => socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'), 200);
      });
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        received += chunk;
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(received));
    });
    expect(late).toMatch(/^HTTP\/1\.1 200/);

    const closing = await startApi(useRedis('to5'));
    const idle = rawRequest(closing.port, '');
    await new Promise((resolve) => setTimeout(resolve, 100));
    let closed = false;
    const close = closing.app.close().then(() => {
      closed = true;
    });
    // The default header timeout is 10 s: closed well before it, by the close itself.
    await expect.poll(() => closed, { timeout: 5_000 }).toBe(true);
    await close;
    expect((await idle).closed).toBe(true);
  });

  it('a request Node cannot parse gets the JSON error too: an oversized head, bytes after an unframed body', async () => {
    const api = await startApi(useRedis('to3'));
    const body = (received: string) => JSON.parse(received.slice(received.indexOf('\r\n\r\n') + 4));
    const huge = await rawRequest(api.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(huge.received).toMatch(/^HTTP\/1\.1 431/);
    expect(body(huge.received)).toMatchObject({ error: { code: 'headers_too_large' } });
    const garbage = await rawRequest(api.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01 not http\r\n\r\n');
    // (Parsed in one go: the garbage spoils the exchange before the first answer.)
    expect(garbage.received).toMatch(/HTTP\/1\.1 400 Bad Request\r\n/);
    expect(body(garbage.received.slice(garbage.received.lastIndexOf('HTTP/1.1 400')))).toMatchObject({ error: { code: 'bad_request' } });
  });

  it('a stream lives on past the request timeout, on both paths', async () => {
    const api = await startApi(useRedis('to2'), {
      env: { HEARTBEAT_MS: '100' },
      settings: { httpHeadersTimeoutMs: 200, httpRequestTimeoutMs: 200 },
    });
    const created = crawl.parse((await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } })).json);
    const path = `/api/crawl-v2/${created.id}/stream`;
    // The second one goes down Fastify's path (a query parameter that needs decoding).
    const clients = await Promise.all([openStream(api.base, path), openStream(api.base, `${path}?pad=%20`)]);
    for (const client of clients) expect(client.status).toBe(200);
    // 20 heartbeats at most 100 ms apart each: well past the 200 ms timeouts and their checks.
    for (const client of clients) await client.waitFor((c) => c.comments.length >= 20, CAP_MS, '20 pings');
    for (const client of clients) expect(client.ended).toBe(false);
    await playCrawl(api.store, created.id, 1);
    for (const client of clients) {
      await client.done;
      expect(client.events.at(-1)?.event).toBe('completed');
    }
  });
});
