// "A TTL on every key", checked on every key name the keys module can produce,
// not only on the keys that happen to exist: the real API (API keys, rate
// limits, idempotency, stream tokens) and a real worker drive crawls through
// every path that creates keys (completed with robots.txt, a sitemap,
// politeness slots, a redirect, a 404, dedupe and a rejected link; cancelled with pages waiting and in
// flight; failed), a sampler records every key seen under the prefix while
// they run, and at the end:
// - every key name of packages/shared/src/keys.ts was created at least once
//   (a new key kind the drive does not create fails here: add it to the drive),
// - every key under the prefix is one of those names (a key named outside
//   keys.ts fails here),
// - every key left has a TTL, but for the exceptions listed below.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '@crawlstream/api';
import {
  type Crawl,
  CRAWL_STATUSES,
  crawlKeys,
  crawlPath,
  crawlsPath,
  globalKeys,
  isTerminalStatus,
  loadConfig,
  queuePrefix,
  renderedDomKey,
  streamPath,
  withQuery,
} from '@crawlstream/shared';
import { serverDurability } from '@crawlstream/progress';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStack } from './stack.js';

const stack = useStack('k');
const KEY = 'ttl-test-key-0123456789abcdef';
const TTL_SECONDS = 3_600;
/** The `done` crawl has a webhook (its state hash, its delivery job), delivered to the site itself. */
const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;

/**
 * Key names that deliberately carry no TTL, and why. Each must still be
 * created by the drive (so the list cannot outlive its key).
 */
const WITHOUT_TTL: Record<string, string> = {
  // Indexes across crawls, pruned instead: members of expired crawls are
  // dropped when the list is read (crawl-list.ts) or counted (crawl-counts.ts).
  crawlIndex: 'pruned when listed',
  'crawlsByStatus:completed': 'pruned when counted',
  'crawlsByStatus:cancelled': 'pruned when counted',
  'crawlsByStatus:failed': 'pruned when counted',
  'crawlsByStatus:running': 'a crawl leaves it when it ends',
  // `active` empties as crawls end (the sweep forgets each), so it is gone at the end.
  streamTokenSecret: 'tokens signed by one API instance must verify on every other, for good',
  queueShards: 'the highest QUEUE_SHARDS announced: shards once used are consumed as long as the service',
  // BullMQ's queue-level keys (meta, id counter, events, ...): the queue lives as long as the service.
  queue: "BullMQ's own queue keys; per-job keys are removed on completion (checked below)",
};

/** Every key name keys.ts can produce, as a pattern; functions are called with a marker for each argument. */
function keyNames(prefix: string): Map<string, RegExp> {
  const MARK = '\u0001';
  const pattern = (key: string) =>
    new RegExp(`^${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replaceAll(MARK, '.+')}$`);
  const names = new Map<string, RegExp>();
  for (const [name, key] of Object.entries(crawlKeys(MARK, prefix))) names.set(`crawl.${name}`, pattern(key));
  for (const [name, key] of Object.entries(globalKeys(prefix))) {
    if (typeof key === 'string') {
      names.set(name, pattern(key));
      continue;
    }
    const call = key as (...args: string[]) => string;
    if (name === 'crawlsByStatus') {
      // One set per status a crawl is counted in (none is ever counted as `queued`: a create enters `running`).
      for (const status of CRAWL_STATUSES) if (status !== 'queued') names.set(`${name}:${status}`, pattern(call(status)));
    } else names.set(name, pattern(call(...Array<string>(call.length).fill(MARK))));
  }
  names.set('queue', pattern(`${queuePrefix(prefix)}:${MARK}`));
  names.set('renderedDom', pattern(renderedDomKey(MARK, MARK, prefix)));
  return names;
}

/** A small site: robots.txt with a sitemap, links, a redirect, a 404, and slow pages. */
function startSite(): Promise<{ server: Server; origin: string }> {
  const page = (body: string) => `<!doctype html><title>t</title><body>${body}</body>`;
  const server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const url = req.url ?? '/';
    const html = (body: string) => res.writeHead(200, { 'content-type': 'text/html' }).end(page(body));
    if (url === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`User-agent: *\nAllow: /\nSitemap: ${origin}/sitemap.xml\n`);
    } else if (url === '/sitemap.xml') {
      res
        .writeHead(200, { 'content-type': 'application/xml' })
        .end(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>${origin}/docs/from-sitemap</loc></url></urlset>`);
    } else if (url === '/docs/') {
      // /elsewhere/ is out of the crawl's scope: a rejected link (dedupe's keys come with every stored page).
      html('<a href="/docs/a">a</a><a href="/docs/b">b</a><a href="/docs/missing">x</a><a href="/docs/moved">m</a><a href="/elsewhere/">e</a>');
    } else if (url === '/docs/missing') {
      res.writeHead(404, { 'content-type': 'text/html' }).end(page('gone'));
    } else if (url === '/docs/moved') {
      res.writeHead(301, { location: '/docs/target' }).end();
    } else if (url === '/slow/') {
      html([1, 2, 3, 4].map((n) => `<a href="/slow/${n}">${n}</a>`).join(''));
    } else if (url.startsWith('/slow/')) {
      setTimeout(() => html('slow'), 1_500);
    } else {
      html('leaf');
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })),
  );
}

let site: { server: Server; origin: string };
let app: Awaited<ReturnType<typeof buildApp>>;
let base = '';
beforeAll(async () => {
  site = await startSite();
  app = await buildApp({
    config: loadConfig({ LOG_LEVEL: 'silent', API_KEYS: KEY, CRAWL_TTL_SECONDS: String(TTL_SECONDS), WEBHOOK_SECRET, SSRF_ALLOW: '127.0.0.1/32' }),
    redisUrl: stack.redis.url,
    prefix: stack.redis.prefix,
    settings: { rateLimitPerMinute: 100_000 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
  await new Promise((resolve) => site.server.close(resolve));
});

const auth = { authorization: `Bearer ${KEY}` };

async function post(
  url: string,
  options: Record<string, unknown>,
  headers: Record<string, string> = {},
  webhook?: { url: string },
): Promise<Crawl & { streamToken?: string }> {
  const response = await fetch(`${base}${crawlsPath()}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(webhook ? { url, options, webhook } : { url, options }),
  });
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return (await response.json()) as Crawl & { streamToken?: string };
}

async function waitFor<T>(what: string, read: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('TTL on every key', () => {
  it('creates every key name of keys.ts, names every key under the prefix there, and leaves none without a TTL but the listed exceptions', async () => {
    const redis = stack.redis.connect();
    const prefix = stack.redis.prefix;
    const names = keyNames(prefix);
    const nameOf = (key: string) => [...names].find(([, pattern]) => pattern.test(key))?.[0];
    const scan = async () => {
      const found: string[] = [];
      for (const match of [`${prefix}*`, `${queuePrefix(prefix)}*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
          cursor = next;
          found.push(...keys);
        } while (cursor !== '0');
      }
      return found;
    };
    // Every key seen while the crawls run, and its name (undefined: not a keys.ts name).
    const seen = new Map<string, string | undefined>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const key of await scan()) seen.set(key, nameOf(key));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    // The sweep takes its turn (a key with a TTL) every 200 ms here, not every 5 s.
    await stack.startWorker({ concurrency: 4, sweepEveryMs: 200, webhookSecret: WEBHOOK_SECRET });

    // Completed: robots.txt and its sitemap, host slots (delayMs), a redirect, a 404,
    // concurrency 1 so that URLs wait in the frontier; created with an Idempotency-Key
    // and request headers (the secrets hash).
    const done = await post(
      `${site.origin}/docs/`,
      { concurrency: 1, delayMs: 20, maxPages: 20, headers: { Authorization: 'Bearer ttl-test' } },
      { 'idempotency-key': 'ttl-test' },
      { url: `${site.origin}/hook` },
    );
    expect(done.streamToken).toBeDefined();
    // The stream, opened with its token (no key), read to the end.
    const stream = await fetch(`${base}${withQuery(streamPath(done.id), { token: done.streamToken!, lastEventId: '0' })}`);
    expect(stream.status).toBe(200);
    expect(await stream.text()).toContain('event: completed');

    // Cancelled with pages in flight and waiting; failed (as a worker fails a crawl whose options it cannot run).
    const cancelled = await post(`${site.origin}/slow/`, { concurrency: 1, maxPages: 10 });
    const failed = await post(`${site.origin}/slow/`, { concurrency: 1, maxPages: 10 });
    for (const crawl of [cancelled, failed]) {
      await waitFor('a slow page in flight', async () => (await stack.store.counters(crawl.id)).processed >= 1);
    }
    expect(await stack.store.fail(failed.id, { code: 'invalid_options', message: 'for the test' })).toEqual({ result: 'done' });
    const deleted = await fetch(`${base}${crawlPath(cancelled.id)}`, { method: 'DELETE', headers: auth });
    expect(deleted.status).toBe(200);

    // Pages per second are written once a second by the worker process.
    await waitFor('the pages-per-second bucket', async () => [...seen.values()].includes('processedPerSecond'), 10_000);
    for (const crawl of [done, cancelled, failed]) {
      await waitFor('the crawl to end', async () => isTerminalStatus((await stack.store.get(crawl.id))?.status ?? 'running'));
    }
    // Its webhook delivered to the end (the delivery job then leaves the queue).
    await waitFor('the webhook to be delivered', async () => (await app.crawlstream.webhooks.status(done.id))?.state === 'done');
    // The slow pages still in flight when the crawls ended settle late (refused); let them.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    sampling = false;
    await sampler;
    for (const key of await scan()) seen.set(key, nameOf(key));

    const statuses = await Promise.all([done, cancelled, failed].map(async (c) => (await stack.store.get(c.id))!.status));
    expect(statuses).toEqual(['completed', 'cancelled', 'failed']);


    // 1. Every key under the prefix has a name in keys.ts.
    expect([...seen].filter(([, name]) => name === undefined).map(([key]) => key)).toEqual([]);
    // 2. Every name but the pub/sub channels was created (a channel is never a key).
    const created = new Set(seen.values());
    // The AOF barrier's marker is written only where the server offers WAITAOF with AOF on
    // (Redis 7.2+): on a server without it, it must never be written.
    const offer = serverDurability(await redis.call('COMMAND', 'INFO', 'WAITAOF'), await redis.info('persistence'));
    const notHere: string[] = offer === 'waitaof' ? [] : ['aofBarrier'];
    for (const name of notHere) expect(created.has(name), name).toBe(false);
    // Written only by renderer processes, which this test does not run: rendering.process.test.ts checks
    // that a rendered crawl leaves no rendered DOM behind, and the renderers set trims itself (beatRenderer).
    const byRenderers = ['renderers', 'renderedDom'];
    notHere.push(...byRenderers);
    const channels = ['crawl.wake', 'ended'];
    const expected = [...names.keys()].filter((name) => !channels.includes(name) && !notHere.includes(name));
    expect(expected.filter((name) => !created.has(name))).toEqual([]);
    for (const name of channels) expect(created.has(name), name).toBe(false);
    for (const name of Object.keys(WITHOUT_TTL)) expect(names.has(name), name).toBe(true);

    // 3. At the end every key has a TTL but the listed exceptions.
    const left = await scan();
    const noTtl: string[] = [];
    for (const key of left) {
      const ttl = await redis.ttl(key);
      if (ttl === -2) continue; // expired or deleted since the scan
      const name = nameOf(key)!;
      if (ttl === -1 && !(name in WITHOUT_TTL)) noTtl.push(`${name}: ${key}`);
      // No TTL is longer than the crawl TTL (rate-limit windows and buckets are shorter).
      expect(ttl, key).toBeLessThanOrEqual(TTL_SECONDS);
    }
    expect(noTtl).toEqual([]);
    // A crawl's request headers are deleted when it ends, not kept for the crawl TTL.
    expect(left.filter((key) => nameOf(key) === 'crawl.secrets')).toEqual([]);
    // Every per-crawl key of each crawl carries the crawl TTL.
    for (const crawl of [done, cancelled, failed]) {
      const keys = left.filter((key) => nameOf(key)?.startsWith('crawl.') && key.includes(crawl.id));
      expect(keys.length, crawl.id).toBeGreaterThanOrEqual(5);
      for (const key of keys) expect(await redis.ttl(key), key).toBeGreaterThan(TTL_SECONDS - 120);
    }
    // BullMQ keeps no key of any page job (removeOnComplete, removeOnFail): only its queue-level keys.
    const crawlIds = [done.id, cancelled.id, failed.id].map((id) => id.replaceAll('-', ''));
    const jobKeys = left.filter((key) => nameOf(key) === 'queue' && crawlIds.some((id) => key.replaceAll('-', '').includes(id)));
    expect(jobKeys).toEqual([]);
  }, 120_000);
});
