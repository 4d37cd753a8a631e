// The webhook of POST /api/crawl-v2 and GET /:id/webhook (#16): what a
// request may give, what the crawl shows of it (never its headers), the
// delivery job enqueued at create, and the refusals: no WEBHOOK_SECRET, a
// URL to a non-public literal address outside SSRF_ALLOW, too many headers,
// stream-only or unknown event types. Delivery itself is tested in the worker.
import { WEBHOOK_QUEUE } from '@crawlstream/jobs';
import { crawl, crawlKeys, MAX_WEBHOOK_HEADERS, WEBHOOK_EVENT_TYPES, webhookStatus } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, errorCode, START, startApi } from '../test-support/harness.js';

const SECRET = `whsec_${Buffer.from('api-webhook-secret-of-32-bytes!!').toString('base64')}`;
const ENV = { WEBHOOK_SECRET: SECRET, SSRF_ALLOW: '127.0.0.1/32' };
const HOOK = 'http://127.0.0.1:9/hook';
const UNKNOWN = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
const post = (base: string, body: unknown) => call(base, 'POST', '/api/crawl-v2', { body });
const headers = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, `v${i}`]));

describe('POST /api/crawl-v2 with a webhook', () => {
  it('records the webhook, enqueues its delivery job (id = crawl id), and shows url and events, never headers', async () => {
    const redis = useRedis('wa');
    const api = await startApi(redis, { env: ENV });
    const created = await post(api.base, { url: START, webhook: { url: HOOK, headers: { Authorization: 'Bearer s3cret-value' } } });
    expect(created.status).toBe(201);
    expect(created.text).not.toContain('s3cret-value');
    const body = crawl.parse(created.json);
    expect(body.webhook).toEqual({ url: HOOK, events: [...WEBHOOK_EVENT_TYPES] });
    const job = await api.app.crawlstream.webhookQueue.getJob(body.id);
    expect(job?.data).toEqual({ crawlId: body.id });
    expect(api.app.crawlstream.webhookQueue.name).toBe(WEBHOOK_QUEUE);

    const got = await call(api.base, 'GET', `/api/crawl-v2/${body.id}`);
    expect(crawl.parse(got.json).webhook).toEqual({ url: HOOK, events: [...WEBHOOK_EVENT_TYPES] });
    expect(got.text).not.toContain('s3cret-value');

    const state = await call(api.base, 'GET', `/api/crawl-v2/${body.id}/webhook`);
    expect(state.status).toBe(200);
    expect(webhookStatus.parse(state.json)).toMatchObject({ url: HOOK, state: 'active', lastDeliveredId: null, attempts: 0 });
    // The `started` event is in the log, not delivered yet.
    expect(webhookStatus.parse(state.json).pending).toBeGreaterThanOrEqual(1);
    expect(state.text).not.toContain('s3cret-value');
  });

  it('with an Idempotency-Key: the webhook is part of the request; a retry returns the crawl and never resets the delivery', async () => {
    const redis = useRedis('wa');
    const api = await startApi(redis, { env: ENV });
    const send = (webhook: unknown) => call(api.base, 'POST', '/api/crawl-v2', { body: { url: START, webhook }, headers: { 'idempotency-key': 'wh-1' } });
    const first = crawl.parse((await send({ url: HOOK })).json);
    const key = crawlKeys(first.id, redis.prefix).webhook;
    // As if a worker had delivered the first event.
    await api.app.crawlstream.redis.hset(key, 'cursor', '1-0', 'passed', '1');
    const again = await send({ url: HOOK });
    expect(again.status).toBe(200);
    expect(crawl.parse(again.json)).toMatchObject({ id: first.id, webhook: { url: HOOK } });
    expect(await api.app.crawlstream.redis.hget(key, 'cursor')).toBe('1-0');
    const other = await send({ url: 'http://127.0.0.1:9/other' });
    expect(other.status).toBe(422);
    expect(errorCode(other)).toBe('idempotency_key_reused');
  });

  it('keeps the event filter as given, and refuses stream-only, unknown and repeated types', async () => {
    const redis = useRedis('wa');
    const api = await startApi(redis, { env: ENV });
    const created = await post(api.base, { url: START, webhook: { url: HOOK, events: ['page', 'completed'] } });
    expect(crawl.parse(created.json).webhook).toEqual({ url: HOOK, events: ['page', 'completed'] });
    for (const events of [['snapshot'], ['reset'], ['nope'], ['page', 'page'], []]) {
      const refused = await post(api.base, { url: START, webhook: { url: HOOK, events } });
      expect(refused.status, JSON.stringify(events)).toBe(400);
      expect(errorCode(refused)).toBe('validation_failed');
    }
  });

  it(`accepts ${MAX_WEBHOOK_HEADERS} headers and refuses ${MAX_WEBHOOK_HEADERS + 1}; header rules as options.headers`, async () => {
    const redis = useRedis('wa');
    const api = await startApi(redis, { env: ENV });
    expect((await post(api.base, { url: START, webhook: { url: HOOK, headers: headers(MAX_WEBHOOK_HEADERS) } })).status).toBe(201);
    const tooMany = await post(api.base, { url: START, webhook: { url: HOOK, headers: headers(MAX_WEBHOOK_HEADERS + 1) } });
    expect(tooMany.status).toBe(400);
    expect(errorCode(tooMany)).toBe('validation_failed');
    const forbidden = await post(api.base, { url: START, webhook: { url: HOOK, headers: { Host: 'x' } } });
    expect(forbidden.status).toBe(400);
    const unknownField = await post(api.base, { url: START, webhook: { url: HOOK, secret: 'x' } });
    expect(unknownField.status).toBe(400);
  });

  it('refuses 400 webhook_url_blocked a literal address outside SSRF_ALLOW (127.0.0.2 with 127.0.0.1/32), creating nothing', async () => {
    const redis = useRedis('wa');
    const api = await startApi(redis, { env: ENV });
    for (const url of ['http://127.0.0.2:9/hook', 'http://10.0.0.1/hook', 'http://[::1]:9/hook', 'http://169.254.169.254/']) {
      const refused = await post(api.base, { url: START, webhook: { url } });
      expect(refused.status, url).toBe(400);
      expect(errorCode(refused)).toBe('webhook_url_blocked');
    }
    const list = await call(api.base, 'GET', '/api/crawl-v2');
    expect((list.json as { items: unknown[] }).items).toHaveLength(0);
    // A host name is judged when the worker connects (the guard there): accepted here.
    expect((await post(api.base, { url: START, webhook: { url: 'http://hooks.example.com/x' } })).status).toBe(201);
  });

  it('refuses 400 webhooks_disabled without WEBHOOK_SECRET; a crawl without a webhook writes no webhook key', async () => {
    const redis = useRedis('wa');
    const api = await startApi(redis, { env: { SSRF_ALLOW: '127.0.0.1/32' } });
    const refused = await post(api.base, { url: START, webhook: { url: HOOK } });
    expect(refused.status).toBe(400);
    expect(errorCode(refused)).toBe('webhooks_disabled');
    const created = await post(api.base, { url: START });
    const body = crawl.parse(created.json);
    expect(body).not.toHaveProperty('webhook');
    expect(await api.app.crawlstream.redis.exists(crawlKeys(body.id, redis.prefix).webhook)).toBe(0);
    expect(await api.app.crawlstream.webhookQueue.count()).toBe(0);
  });
});

describe('GET /api/crawl-v2/:id/webhook', () => {
  it('404 not_found for an unknown crawl and for a crawl without a webhook', async () => {
    const redis = useRedis('wa');
    const api = await startApi(redis, { env: ENV });
    const unknown = await call(api.base, 'GET', `/api/crawl-v2/${UNKNOWN}/webhook`);
    expect(unknown.status).toBe(404);
    expect(errorCode(unknown)).toBe('not_found');
    const plain = crawl.parse((await post(api.base, { url: START })).json);
    const none = await call(api.base, 'GET', `/api/crawl-v2/${plain.id}/webhook`);
    expect(none.status).toBe(404);
    expect(errorCode(none)).toBe('not_found');
  });
});
