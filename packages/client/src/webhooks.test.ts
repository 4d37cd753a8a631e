import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { CrawlstreamClient } from './client.js';
import { CRAWL_ID, crawlObject, FakeApi, json } from './test-support/fake-api.js';
import { verifyWebhook } from './webhooks.js';

const SECRET = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
const BODY = `{"type":"page","crawlId":"${CRAWL_ID}","ts":1764590000000,"url":"http://127.0.0.1:9/docs/","title":"Docs","depth":0,"status":200,"bytes":10,"durationMs":3}`;

/** The headers a delivery carries, signed as the worker signs them. */
function signed(body: string, secret = SECRET, id = '1764590000000-0'): Record<string, string> {
  const at = new Date();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, body),
  };
}

describe('verifyWebhook', () => {
  it('returns the event of a delivery whose signature verifies (plain object, Node-style arrays, fetch Headers)', () => {
    const headers = signed(BODY);
    expect(verifyWebhook(SECRET, headers, BODY)).toMatchObject({ type: 'page', crawlId: CRAWL_ID, url: 'http://127.0.0.1:9/docs/' });
    const upper = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), [value]]));
    expect(verifyWebhook(SECRET, upper, new TextEncoder().encode(BODY)).type).toBe('page');
    expect(verifyWebhook(SECRET, new Headers(headers), BODY).type).toBe('page');
  });

  it('throws for a changed body, another secret, another id, or a timestamp far off', () => {
    const headers = signed(BODY);
    expect(() => verifyWebhook(SECRET, headers, BODY.replace('"depth":0', '"depth":1'))).toThrow();
    expect(() => verifyWebhook(`whsec_${Buffer.alloc(32, 4).toString('base64')}`, headers, BODY)).toThrow();
    expect(() => verifyWebhook(SECRET, { ...headers, 'webhook-id': '1764590000000-1' }, BODY)).toThrow();
    const old = new Date(Date.now() - 3_600_000);
    const stale = { ...headers, 'webhook-timestamp': String(Math.floor(old.getTime() / 1000)), 'webhook-signature': new Webhook(SECRET).sign(headers['webhook-id']!, old, BODY) };
    expect(() => verifyWebhook(SECRET, stale, BODY)).toThrow();
  });
});

describe('CrawlstreamClient webhooks', () => {
  it('sends `webhook` with createCrawl and reads GET /:id/webhook', async () => {
    const status = { url: 'https://hooks.example.com/x', events: ['page'], state: 'failing', lastDeliveredId: null, pending: 4, attempts: 2, lastError: 'HTTP 500', lastStatus: 500 };
    const api = new FakeApi([() => json(201, { ...crawlObject(), webhook: { url: status.url, events: ['page'] } }), () => json(200, status)]);
    const client = new CrawlstreamClient({ baseUrl: 'http://127.0.0.1:9', fetch: api.fetch });
    const created = await client.createCrawl('http://127.0.0.1:9/docs/', undefined, { webhook: { url: status.url, events: ['page'], headers: { 'X-Key': 'k' } } });
    expect(created.webhook).toEqual({ url: status.url, events: ['page'] });
    expect(JSON.parse(api.requests[0]!.body!)).toEqual({ url: 'http://127.0.0.1:9/docs/', webhook: { url: status.url, events: ['page'], headers: { 'X-Key': 'k' } } });
    expect(await client.getWebhook(CRAWL_ID)).toEqual(status);
    expect(api.requests[1]).toMatchObject({ method: 'GET', url: `http://127.0.0.1:9/api/crawl-v2/${CRAWL_ID}/webhook` });
  });
});
