// The `headers` option end to end (private docs, #14): a loopback site whose
// pages and robots.txt answer 401 without the crawl's Authorization header is
// crawled by the real API and worker. The header's value must reach that
// origin only (a link and a redirect to another origin in scope carry none),
// and must appear in no API answer (crawl, list, idempotent replay, pages,
// markdown, errors, stream, a refused request), no stored event, no log line
// of the API or the worker (at trace level), no crawl key but the secrets
// hash while the crawl runs, and nowhere once it has ended.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '@crawlstream/api';
import {
  type Crawl,
  crawlKeys,
  crawlPath,
  crawlsPath,
  errorsPath,
  loadConfig,
  MAX_HEADERS,
  markdownPath,
  pagesPath,
  rejectedPath,
  streamPath,
  withQuery,
} from '@crawlstream/shared';
import { createCrawlWorker } from '@crawlstream/worker';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStack } from './stack.js';

const stack = useStack('secret');
const KEY = 'private-docs-test-key-0123456789';
const TOKEN = randomBytes(24).toString('hex');
const SECRET = `Bearer ${TOKEN}`;
const CRAWL_TTL = 3_600;

/** Every request each site got. */
const received: { site: 'home' | 'other'; path: string; headers: IncomingHttpHeaders }[] = [];
/** /docs/held waits for this, so the test can look at a running crawl. */
let release: () => void = () => {};
const held = new Promise<void>((resolve) => {
  release = resolve;
});

const page = (title: string, body: string) => `<!doctype html><html><head><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

let flaky = 0;
let home: Server;
let other: Server;
let homeOrigin = '';
let otherOrigin = '';

async function startSites(): Promise<void> {
  home = createServer((req, res) => {
    const path = req.url ?? '/';
    received.push({ site: 'home', path, headers: req.headers });
    if (path === '/docs/hop') return void res.writeHead(302, { location: `${otherOrigin}/docs/landing` }).end();
    if (req.headers.authorization !== SECRET) return void res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-type': 'text/html' }).end(page('Log in', ''));
    if (path === '/robots.txt') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('User-agent: *\nDisallow: /docs/forbidden\n');
    const html = (body: string) => res.writeHead(200, { 'content-type': 'text/html' }).end(body);
    if (path === '/docs/') {
      return html(page('Private docs', `<a href="/docs/held">held</a> <a href="/docs/hop">hop</a> <a href="${otherOrigin}/docs/public">elsewhere</a> <a href="/docs/forbidden">no</a> <a href="/docs/flaky">flaky</a>`));
    }
    if (path === '/docs/held') return void held.then(() => html(page('Held', '<p>secret content</p>')));
    // A 503 first: the worker retries it, and logs the retry.
    if (path === '/docs/flaky') return void (flaky++ === 0 ? res.writeHead(503).end() : html(page('Flaky', '')));
    res.writeHead(404, { 'content-type': 'text/html' }).end(page('Not found', ''));
  });
  other = createServer((req, res) => {
    received.push({ site: 'other', path: req.url ?? '/', headers: req.headers });
    if (req.url === '/robots.txt' || req.url === '/sitemap.xml') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html' }).end(page('Public', '<p>open to all</p>'));
  });
  await Promise.all([home, other].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
  homeOrigin = `http://127.0.0.1:${(home.address() as AddressInfo).port}`;
  otherOrigin = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
}

const apiLog: string[] = [];
const workerLog: string[] = [];
let app: Awaited<ReturnType<typeof buildApp>>;
let worker: Awaited<ReturnType<typeof createCrawlWorker>>;
let base = '';

beforeAll(async () => {
  await startSites();
  app = await buildApp({
    config: loadConfig({ LOG_LEVEL: 'trace', API_KEYS: KEY, CRAWL_TTL_SECONDS: String(CRAWL_TTL) }),
    redisUrl: stack.redis.url,
    prefix: stack.redis.prefix,
    settings: { rateLimitPerMinute: 0 },
    logStream: { write: (line) => apiLog.push(line) },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  worker = await createCrawlWorker({
    redisUrl: stack.redis.url,
    prefix: stack.redis.prefix,
    concurrency: 4,
    ssrfAllow: ['127.0.0.1/32'],
    retryBaseMs: 50,
    logger: pino({ level: 'trace' }, { write: (line: string) => workerLog.push(line) }),
  });
});
afterAll(async () => {
  release();
  await worker?.close();
  await app?.close();
  for (const server of [home, other]) {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }
});

const auth = { authorization: `Bearer ${KEY}` };

/** A response's status and body, the body also kept for the final "appears nowhere" check. */
const answers: string[] = [];
async function call(path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(`${base}${path}`, { ...init, headers: { ...auth, ...init.headers } });
  const text = await response.text();
  answers.push(`${JSON.stringify([...response.headers])}\n${text}`);
  return { status: response.status, text };
}

function post(body: unknown, headers: Record<string, string> = {}) {
  return call(crawlsPath(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function waitFor<T>(what: string, read: () => Promise<T | undefined | null | false>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a private docs site crawled with the headers option', () => {
  it('opens the 401 pages, sends the header to the start origin only, and shows or keeps its value nowhere', async () => {
    const redis = stack.redis.connect();
    const request = {
      url: `${homeOrigin}/docs/`,
      options: { scope: 'domain', maxPages: 20, headers: { Authorization: SECRET, 'X-Team': 'docs' } },
    };
    const created = await post(request, { 'idempotency-key': 'private-1' });
    expect(created.status, created.text).toBe(201);
    const crawl = JSON.parse(created.text) as Crawl & { streamToken: string };
    // What a crawl shows of its headers: their names.
    expect(crawl.options).not.toHaveProperty('headers');
    expect(crawl.options.headerNames).toEqual(['authorization', 'x-team']);

    // While it runs (one page held): the value is in the secrets hash alone, which has a TTL of at most the crawl's.
    const keys = crawlKeys(crawl.id, stack.redis.prefix);
    await waitFor('the held page to be asked for', async () => received.some((r) => r.path === '/docs/held'));
    expect(await redis.hgetall(keys.secrets)).toEqual({ Authorization: SECRET, 'X-Team': 'docs' });
    const ttl = await redis.ttl(keys.secrets);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(CRAWL_TTL);
    for (const [name, key] of Object.entries(keys)) {
      if (name === 'secrets' || name === 'wake') continue;
      expect(await dump(redis, key), name).not.toContain(TOKEN);
    }
    // The idempotency record: a hash of the request, never the value.
    const idem = await redis.keys(`${stack.redis.prefix}:idem:*`);
    expect(idem.length).toBe(1);
    expect(await redis.get(idem[0]!)).not.toContain(TOKEN);
    // A replay answers the same crawl, without the value.
    const replay = await post(request, { 'idempotency-key': 'private-1' });
    expect(replay.status).toBe(200);
    expect(JSON.parse(replay.text).id).toBe(crawl.id);
    // Refused requests do not echo a value either.
    const badValue = await post({ url: request.url, options: { headers: { Authorization: `${SECRET}\r\nX-Injected: 1` } } });
    expect(badValue.status).toBe(400);
    expect(JSON.parse(badValue.text).error.details.issues).toEqual([{ path: ['options', 'headers', 'Authorization'], message: expect.any(String) }]);
    const tooMany = Object.fromEntries(Array.from({ length: MAX_HEADERS + 1 }, (_, i) => [`X-H${i}`, SECRET]));
    expect((await post({ url: request.url, options: { headers: tooMany } })).status).toBe(400);

    release();
    const stream = await call(withQuery(streamPath(crawl.id), { token: crawl.streamToken, lastEventId: '0' }), { headers: {} });
    expect(stream.text).toContain('event: completed');
    // The end deleted the secrets hash.
    expect(await redis.exists(keys.secrets)).toBe(0);

    const done = JSON.parse((await call(crawlPath(crawl.id))).text) as Crawl;
    expect(done).toMatchObject({ status: 'completed', options: { headerNames: ['authorization', 'x-team'] } });
    const pages = JSON.parse((await call(withQuery(pagesPath(crawl.id), { limit: 100 }))).text) as { items: { url: string; status: number }[] };
    const stored = Object.fromEntries(pages.items.map((p) => [p.url, p.status]));
    // The private pages opened with the header; the other origin's pages (a link, a redirect's target: stored as /docs/hop) without it.
    expect(stored).toEqual({
      [`${homeOrigin}/docs/`]: 200,
      [`${homeOrigin}/docs/held`]: 200,
      [`${homeOrigin}/docs/hop`]: 200,
      [`${homeOrigin}/docs/flaky`]: 200,
      [`${otherOrigin}/docs/public`]: 200,
    });
    const errors = JSON.parse((await call(errorsPath(crawl.id))).text) as { items: { url: string; reason: string }[] };
    const rejected = JSON.parse((await call(rejectedPath(crawl.id))).text) as { items: { url: string; reason: string }[] };
    // robots.txt was read with the header (a 401 robots.txt would have allowed everything): the
    // disallowed page is a rejected link when the worker had the rules as it found the link, else
    // a page skipped before its fetch; never both, never fetched.
    const refused = [...errors.items, ...rejected.items].map(({ url, reason }) => ({ url, reason }));
    expect(refused).toEqual([{ url: `${homeOrigin}/docs/forbidden`, reason: 'robots' }]);
    await call(markdownPath(crawl.id));
    await call(crawlsPath());

    // Who got the header: every request to the start origin but the redirect-free one, no request to the other.
    const toOther = received.filter((r) => r.site === 'other');
    expect(toOther.map((r) => r.path)).toEqual(expect.arrayContaining(['/docs/public', '/docs/landing']));
    expect(JSON.stringify(toOther)).not.toContain(TOKEN);
    expect(toOther.every((r) => r.headers.authorization === undefined && r.headers['x-team'] === undefined)).toBe(true);
    const toHome = received.filter((r) => r.site === 'home');
    expect(toHome.map((r) => r.path)).toEqual(expect.arrayContaining(['/robots.txt', '/docs/', '/docs/held', '/docs/hop']));
    expect(toHome.every((r) => r.headers.authorization === SECRET)).toBe(true);

    // Nowhere: answers, stored events, logs (which said something), any key left.
    expect(answers.join('\n')).not.toContain(TOKEN);
    expect(JSON.stringify(await stack.store.readAll(crawl.id))).not.toContain(TOKEN);
    expect(apiLog.length).toBeGreaterThan(10);
    expect(workerLog.join('')).toContain('page retry');
    expect(apiLog.join('')).not.toContain(TOKEN);
    expect(workerLog.join('')).not.toContain(TOKEN);
    for (const key of await redis.keys(`${stack.redis.prefix}*`)) expect(await dump(redis, key), key).not.toContain(TOKEN);
  }, 90_000);
});

/** Whatever a key holds, as text (streams, hashes, lists, sets, strings). */
async function dump(redis: ReturnType<typeof stack.redis.connect>, key: string): Promise<string> {
  const type = await redis.type(key);
  const raw =
    type === 'hash' ? await redis.hgetallBuffer(key)
    : type === 'list' ? await redis.lrangeBuffer(key, 0, -1)
    : type === 'set' ? await redis.smembersBuffer(key)
    : type === 'zset' ? await redis.zrange(key, 0, -1)
    : type === 'stream' ? await redis.xrange(key, '-', '+')
    : type === 'string' ? await redis.getBuffer(key)
    : null;
  return JSON.stringify(raw, (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('latin1') : v));
}
