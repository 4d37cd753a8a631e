// A crawl's own request headers (`headers`, private docs) go to the origins of
// its start URLs only: checked on two loopback servers, which are two origins
// (same address, other port), through redirects both ways.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchPage, fetchText, headersForOrigins } from './fetch-page.js';
import { createSsrfGuard } from './ssrf.js';

const SECRET = `Bearer ${randomBytes(16).toString('hex')}`;
const PAGE = '<!doctype html><html><head><title>Private</title></head><body><main><p>ok</p></main></body></html>';

/** What each server was sent, by path. */
const seen: { origin: string; path: string; headers: IncomingHttpHeaders }[] = [];
const servers: Server[] = [];
let home = '';
let other = '';
let agent: Agent;

function site(): Server {
  return createServer((req, res) => {
    const origin = `http://127.0.0.1:${(req.socket.address() as AddressInfo).port}`;
    const path = req.url ?? '/';
    seen.push({ origin, path, headers: req.headers });
    if (path === '/private') {
      if (req.headers.authorization !== SECRET) {
        res.writeHead(401, { 'www-authenticate': 'Bearer' });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(PAGE);
    }
    if (path === '/to-other') {
      res.writeHead(302, { location: `${other}/landing` });
      return res.end();
    }
    if (path === '/landing') {
      res.writeHead(302, { location: `${home}/private` });
      return res.end();
    }
    if (path === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('User-agent: *\nAllow: /\n');
    }
    res.writeHead(404);
    res.end();
  });
}

beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    const server = site();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  home = `http://127.0.0.1:${(servers[0]!.address() as AddressInfo).port}`;
  other = `http://127.0.0.1:${(servers[1]!.address() as AddressInfo).port}`;
  agent = createSsrfGuard(['127.0.0.1/32']).createAgent();
});

afterAll(async () => {
  await agent.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

beforeEach(() => {
  seen.length = 0;
});

const options = () => ({
  timeoutMs: 15_000,
  maxBytes: 1024 * 1024,
  dispatcher: agent,
  headersFor: headersForOrigins([home], { Authorization: SECRET, 'X-Docs-Team': 'blue' }),
});

describe('a crawl\'s request headers', () => {
  it('opens a page that answers 401 without them', async () => {
    expect(await fetchPage(`${home}/private`, { ...options(), headersFor: undefined })).toMatchObject({ kind: 'failed', status: 401 });
    expect(await fetchPage(`${home}/private`, options())).toMatchObject({ kind: 'html', status: 200 });
    expect(seen.at(-1)?.headers['x-docs-team']).toBe('blue');
  });

  it('go to the start origins only: a redirect to another origin gets none, the way back gets them again', async () => {
    const result = await fetchPage(`${home}/to-other`, options());
    expect(result).toMatchObject({ kind: 'html', status: 200, finalUrl: `${home}/private` });
    expect(seen.map((s) => [s.origin, s.path, s.headers.authorization])).toEqual([
      [home, '/to-other', SECRET],
      [other, '/landing', undefined],
      [home, '/private', SECRET],
    ]);
    expect(JSON.stringify(seen.filter((s) => s.origin === other))).not.toContain(SECRET);
  });

  it('go with robots.txt and sitemap fetches of a start origin (fetchText), never to another origin', async () => {
    await fetchText(`${home}/robots.txt`, options());
    await fetchText(`${other}/robots.txt`, options());
    expect(seen.map((s) => [s.origin, s.headers.authorization])).toEqual([
      [home, SECRET],
      [other, undefined],
    ]);
  });

  it('never replace the fetcher\'s own headers', async () => {
    await fetchPage(`${home}/private`, { ...options(), headersFor: () => ({ 'user-agent': 'spoof', accept: 'x/y', Authorization: SECRET }) });
    expect(seen.at(-1)?.headers['user-agent']).not.toBe('spoof');
    expect(seen.at(-1)?.headers.accept).not.toBe('x/y');
  });

  it('an https origin\'s headers are not an http origin\'s', () => {
    const forOrigin = headersForOrigins(['https://docs.test'], { Authorization: SECRET });
    expect(forOrigin('https://docs.test/a')).toEqual({ Authorization: SECRET });
    expect(forOrigin('http://docs.test/a')).toBeUndefined();
    expect(forOrigin('https://docs.test:8443/a')).toBeUndefined();
    expect(forOrigin('https://sub.docs.test/a')).toBeUndefined();
  });
});
