import { crawl, crawlList } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, errorCode, openStream, playCrawl, START, startApi } from '../test-support/harness.js';

const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-0123456789ab';
const env = { API_KEYS: `${ALICE},${BOB}` };
const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys', () => {
  it('needs a key; each key sees only its own crawls (another key\'s crawl is 404 everywhere)', async () => {
    const redis = useRedis('k');
    const a = await startApi(redis, { env });
    const b = await startApi(redis, { env });

    expect((await call(a.base, 'GET', '/api/crawl-v2')).status).toBe(401);
    const wrong = await call(a.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: as('not-a-key-0123456789') });
    expect(wrong.status).toBe(401);
    expect(errorCode(wrong)).toBe('unauthorized');
    expect(wrong.headers['www-authenticate']).toMatch(/^Bearer/);
    // Health and metrics stay open (for load balancers and Prometheus).
    expect((await call(a.base, 'GET', '/healthz')).status).toBe(200);
    expect((await call(a.base, 'GET', '/metrics')).status).toBe(200);

    const mine = await call(a.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: as(ALICE) });
    expect(mine.status).toBe(201);
    const id = crawl.parse(mine.json).id;
    const theirs = crawl.parse((await call(b.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: as(BOB) })).json).id;

    for (const suffix of ['', '/stream', '/pages', '/markdown', '/errors', '/llms.txt', '/llms-full.txt']) {
      if (suffix === '/stream') {
        const own = await openStream(b.base, `/api/crawl-v2/${id}${suffix}`, as(ALICE));
        expect(own.status, 'own stream').toBe(200);
        own.close();
      } else {
        expect((await call(b.base, 'GET', `/api/crawl-v2/${id}${suffix}`, { headers: as(ALICE) })).status, `own ${suffix}`).toBe(200);
      }
      if (suffix.startsWith('/llms')) expect((await call(b.base, 'GET', `/api/crawl-v2/${id}${suffix}`)).status, `no key ${suffix}`).toBe(401);
      const other = await call(b.base, 'GET', `/api/crawl-v2/${id}${suffix}`, { headers: as(BOB) });
      expect(other.status, `other ${suffix}`).toBe(404);
      expect(errorCode(other)).toBe('not_found');
    }
    expect((await call(a.base, 'DELETE', `/api/crawl-v2/${id}`, { headers: as(BOB) })).status).toBe(404);
    // Bob's DELETE changed nothing.
    expect(crawl.parse((await call(a.base, 'GET', `/api/crawl-v2/${id}`, { headers: as(ALICE) })).json).status).toBe('running');

    const aliceList = crawlList.parse((await call(a.base, 'GET', '/api/crawl-v2', { headers: as(ALICE) })).json);
    expect(aliceList.items.map((c) => c.id)).toEqual([id]);
    const bobList = crawlList.parse((await call(a.base, 'GET', '/api/crawl-v2', { headers: as(BOB) })).json);
    expect(bobList.items.map((c) => c.id)).toEqual([theirs]);

    // The same Idempotency-Key under two keys is two crawls.
    const k1 = await call(a.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: { ...as(ALICE), 'idempotency-key': 'same' } });
    const k2 = await call(a.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: { ...as(BOB), 'idempotency-key': 'same' } });
    expect(k1.status).toBe(201);
    expect(k2.status).toBe(201);
    expect(crawl.parse(k1.json).id).not.toBe(crawl.parse(k2.json).id);
  });

  it('POST returns a stream token that opens that crawl\'s stream only, on any instance', async () => {
    const redis = useRedis('tok');
    const a = await startApi(redis, { env });
    const b = await startApi(redis, { env });
    const posted = await call(a.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: as(ALICE) });
    const body = posted.json as { id: string; streamToken: string };
    expect(typeof body.streamToken).toBe('string');
    const other = crawl.parse((await call(a.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: as(ALICE) })).json).id;

    const noAuth = await call(b.base, 'GET', `/api/crawl-v2/${body.id}/stream`);
    expect(noAuth.status).toBe(401);
    const client = await openStream(b.base, `/api/crawl-v2/${body.id}/stream?token=${body.streamToken}`);
    expect(client.status).toBe(200);
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    await playCrawl(a.store, body.id, 1);
    await client.done;
    expect(client.events[client.events.length - 1]!.event).toBe('completed');

    // The token is for that crawl's stream only.
    expect((await call(b.base, 'GET', `/api/crawl-v2/${other}/stream?token=${body.streamToken}`)).status).toBe(401);
    expect((await call(b.base, 'GET', `/api/crawl-v2/${body.id}?token=${body.streamToken}`)).status).toBe(401);
    expect((await call(b.base, 'GET', `/api/crawl-v2?token=${body.streamToken}`)).status).toBe(401);
    // Forged, truncated or expired tokens are refused.
    const [expires, mac] = body.streamToken.split('.') as [string, string];
    for (const forged of [`${Number(expires) + 60}.${mac}`, `${expires}.${mac.slice(0, -2)}AA`, 'garbage', '']) {
      expect((await call(b.base, 'GET', `/api/crawl-v2/${body.id}/stream?token=${encodeURIComponent(forged)}`)).status, forged).toBe(401);
    }
    const tokens = a.app.crawlstream.tokens;
    const stale = await tokens.sign(body.id, (await a.store.owner(body.id))!, Date.now() - 2 * tokens.ttlSeconds * 1000);
    expect((await call(b.base, 'GET', `/api/crawl-v2/${body.id}/stream?token=${stale}`)).status).toBe(401);
    // GET of the crawl hands out a fresh token (for a client whose token ran out).
    const fresh = (await call(b.base, 'GET', `/api/crawl-v2/${body.id}`, { headers: as(ALICE) })).json as { streamToken: string };
    expect(await b.app.crawlstream.tokens.verify(fresh.streamToken, body.id, (await a.store.owner(body.id))!)).toBe(true);
  });

  it('puts the queue board behind the operator key (the first of API_KEYS)', async () => {
    const api = await startApi(useRedis('adm'), { env });
    const anonymous = await call(api.base, 'GET', '/admin/queues');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic/);
    expect((await call(api.base, 'GET', '/admin/queues', { headers: as(BOB) })).status).toBe(401);
    expect((await call(api.base, 'GET', '/admin/queues', { headers: as(ALICE) })).status).toBe(200);
    const basic = `Basic ${Buffer.from(`admin:${ALICE}`).toString('base64')}`;
    const page = await call(api.base, 'GET', '/admin/queues', { headers: { authorization: basic } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('<html');
    const queues = await call(api.base, 'GET', '/admin/queues/api/queues', { headers: { authorization: basic } });
    expect(queues.status).toBe(200);
    expect(queues.text).toContain('pages');
  });
});

describe('rate limiting', () => {
  it('is shared by every instance (counted in Redis) and answers 429 with the JSON error', async () => {
    const redis = useRedis('rl');
    const a = await startApi(redis, { env, settings: { rateLimitPerMinute: 5 } });
    const b = await startApi(redis, { env, settings: { rateLimitPerMinute: 5 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(i % 2 ? a.base : b.base, 'GET', '/api/crawl-v2', { headers: as(ALICE) })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const limited = await call(a.base, 'GET', '/api/crawl-v2', { headers: as(ALICE) });
    expect(limited.status).toBe(429);
    expect(errorCode(limited)).toBe('rate_limited');
    expect(limited.headers['retry-after']).toBeDefined();
    // Per key: another key still has its own budget; health checks are never limited.
    expect((await call(b.base, 'GET', '/api/crawl-v2', { headers: as(BOB) })).status).toBe(200);
    for (let i = 0; i < 8; i++) expect((await call(a.base, 'GET', '/healthz')).status).toBe(200);
  });
});
