// The guard proxy driven directly with node:http and node:net: an allowed
// target is proxied, a blocked one is refused with 403 before any connection
// (plain HTTP and CONNECT), and a client without the credential gets 407.
import { lookup } from 'node:dns/promises';
import { createServer, request, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOCKED_HEADER, type GuardProxy, startGuardProxy } from './guard-proxy.js';
import { type Counter, startCounter } from './test-support/fixtures.js';

let proxy: GuardProxy;
let blocked: Counter;
let allowed: Server;
let allowedOrigin: string;

beforeAll(async () => {
  // private.test plays a public-looking name whose DNS answer is a private address.
  proxy = await startGuardProxy({
    allow: ['127.0.0.1'],
    resolve: async (host, family) => (host === 'private.test' ? [{ address: '127.0.0.2', family: 4 }] : lookup(host, { all: true, family })),
  });
  blocked = await startCounter();
  allowed = createServer((_req, res) => res.end('allowed body'));
  await new Promise<void>((resolve) => allowed.listen(0, '127.0.0.1', resolve));
  allowedOrigin = `http://127.0.0.1:${(allowed.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await proxy?.close();
  await blocked?.close();
  await new Promise((resolve) => allowed?.close(resolve));
});

const auth = () => `Basic ${Buffer.from(`${proxy.username}:${proxy.password}`).toString('base64')}`;

function viaProxy(url: string, authorization?: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxy.port, path: url, headers: authorization ? { 'proxy-authorization': authorization } : {} }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

function connectVia(target: string, authorization?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.port, '127.0.0.1', () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${authorization ? `Proxy-Authorization: ${authorization}\r\n` : ''}\r\n`);
    });
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk;
      if (head.includes('\r\n')) {
        socket.destroy();
        resolve(head.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
  });
}

describe('guard proxy', () => {
  it('listens on loopback only', () => {
    expect(proxy.server).toBe(`http://127.0.0.1:${proxy.port}`);
  });

  it('proxies a request to an allowed address', async () => {
    const reply = await viaProxy(`${allowedOrigin}/page`, auth());
    expect(reply).toMatchObject({ status: 200, body: 'allowed body' });
    expect(await connectVia(allowedOrigin.slice(7), auth())).toMatch(/^HTTP\/1\.1 200/);
  });

  it('refuses a blocked address with 403 and makes no connection (plain HTTP and CONNECT)', async () => {
    const before = proxy.blocked;
    const reply = await viaProxy(`${blocked.origin}/secret`, auth());
    expect(reply.status).toBe(403);
    expect(reply.headers[BLOCKED_HEADER]).toBe('ssrf');
    expect(await connectVia(blocked.origin.slice(7), auth())).toMatch(/^HTTP\/1\.1 403/);
    // A name that resolves to a blocked address is refused the same way.
    expect((await viaProxy(`http://private.test:${new URL(blocked.origin).port}/`, auth())).status).toBe(403);
    // 127.0.0.2 spelled as one number (2130706434) and in hex: the resolver reads them, the guard judges the address.
    const port = new URL(blocked.origin).port;
    expect(await connectVia(`2130706434:${port}`, auth())).toMatch(/^HTTP\/1\.1 403/);
    expect((await viaProxy(`http://0x7f000002:${port}/`, auth())).status).toBe(403);
    expect(blocked.connections).toBe(0);
    expect(proxy.blocked - before).toBe(5);
  });

  it('answers 407 to a client without the credential, and connects nowhere', async () => {
    expect((await viaProxy(`${allowedOrigin}/page`)).status).toBe(407);
    expect((await viaProxy(`${allowedOrigin}/page`, 'Basic cmVuZGVyZXI6d3Jvbmc=')).status).toBe(407);
    expect(await connectVia(allowedOrigin.slice(7))).toMatch(/^HTTP\/1\.1 407/);
    expect((await viaProxy(`${blocked.origin}/`)).status).toBe(407);
    expect(blocked.connections).toBe(0);
  });
});
