// STREAM_MAX_PER_KEY and STREAM_MAX_PER_ADDRESS: at the cap a stream opens,
// one past it is 429 too_many_streams with Retry-After (on both stream
// paths), and a stream that ends gives its slot back.
import { crawl } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { STREAM_RETRY_AFTER_SECONDS } from '../stream-slots.js';
import { type Api, call, errorCode, openStream, type SseClient, START, startApi } from '../test-support/harness.js';

const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-0123456789ab';
const as = (key: string) => ({ authorization: `Bearer ${key}` });

async function postCrawl(api: Api, headers: Record<string, string> = {}) {
  const reply = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers });
  return reply.json as { id: string; streamToken?: string };
}

async function openStreams(api: Api): Promise<number | undefined> {
  return (await api.app.crawlstream.metrics.openStreams.get()).values[0]?.value;
}

/** The lean path, and Fastify's (a query parameter that needs decoding). */
const paths = (id: string) => [`/api/crawl-v2/${id}/stream`, `/api/crawl-v2/${id}/stream?pad=%20`];

async function expectRefused(api: Api, path: string, headers: Record<string, string>, per: string) {
  const refused = await call(api.base, 'GET', path, { headers });
  expect(refused.status, path).toBe(429);
  expect(errorCode(refused)).toBe('too_many_streams');
  expect(refused.headers['retry-after']).toBe(String(STREAM_RETRY_AFTER_SECONDS));
  expect((refused.json as { error: { details: { per: string } } }).error.details.per).toBe(per);
}

describe('caps on open streams', () => {
  it('none by default: many streams from one address and one key', async () => {
    const api = await startApi(useRedis('sc0'));
    const created = crawl.parse((await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } })).json);
    const clients = await Promise.all(Array.from({ length: 50 }, () => openStream(api.base, paths(created.id)[0]!)));
    for (const client of clients) expect(client.status).toBe(200);
    for (const client of clients) client.close();
  });

  it('per client address: at the cap, one past it, and a closed stream frees its slot (both paths)', async () => {
    const api = await startApi(useRedis('sc1'), { settings: { streamMaxPerAddress: 2, trustProxy: ['127.0.0.1'] } });
    const { id } = await postCrawl(api);
    const [lean, viaFastify] = paths(id) as [string, string];
    const open: SseClient[] = [await openStream(api.base, lean), await openStream(api.base, viaFastify)];
    for (const client of open) expect(client.status).toBe(200);
    await expectRefused(api, lean, {}, 'address');
    await expectRefused(api, viaFastify, {}, 'address');
    // Another client behind the trusted proxy has slots of its own.
    const elsewhere = { 'x-forwarded-for': '10.0.0.7' };
    const others = [await openStream(api.base, lean, elsewhere), await openStream(api.base, viaFastify, elsewhere)];
    for (const client of others) expect(client.status).toBe(200);
    await expectRefused(api, lean, elsewhere, 'address');

    open[0]!.close();
    await expect.poll(() => openStreams(api), { timeout: 10_000 }).toBe(3);
    const again = await openStream(api.base, viaFastify);
    expect(again.status).toBe(200);
    await expectRefused(api, lean, {}, 'address');
    for (const client of [...open, ...others, again]) client.close();
    await expect.poll(() => openStreams(api), { timeout: 10_000 }).toBe(0);
  });

  it('per API key: stream tokens count against the crawl\'s key; other keys are not affected', async () => {
    const api = await startApi(useRedis('sc2'), { env: { API_KEYS: `${ALICE},${BOB}` }, settings: { streamMaxPerKey: 1 } });
    const mine = await postCrawl(api, as(ALICE));
    const theirs = await postCrawl(api, as(BOB));
    const [lean, viaFastify] = paths(mine.id) as [string, string];
    const first = await openStream(api.base, lean, as(ALICE));
    expect(first.status).toBe(200);
    await expectRefused(api, viaFastify, as(ALICE), 'key');
    await expectRefused(api, `${lean}?token=${mine.streamToken}`, {}, 'key');
    const bob = await openStream(api.base, paths(theirs.id)[0]!, as(BOB));
    expect(bob.status).toBe(200);

    first.close();
    await expect.poll(() => openStreams(api), { timeout: 10_000 }).toBe(1);
    const byToken = await openStream(api.base, `${viaFastify}&token=${mine.streamToken}`);
    expect(byToken.status).toBe(200);
    for (const client of [bob, byToken]) client.close();
  });

  it('a refused or ended request holds no slot: 404, 400 and 204 answers leave the count alone', async () => {
    const api = await startApi(useRedis('sc3'), { settings: { streamMaxPerAddress: 1 } });
    const { id } = await postCrawl(api);
    for (let i = 0; i < 3; i++) {
      expect((await call(api.base, 'GET', '/api/crawl-v2/3b241101-e2bb-4255-8caf-4136c566a962/stream')).status).toBe(404);
      expect((await call(api.base, 'GET', `${paths(id)[0]}?lastEventId=x`)).status).toBe(400);
    }
    const client = await openStream(api.base, paths(id)[0]!);
    expect(client.status).toBe(200);
    client.close();
  });
});
