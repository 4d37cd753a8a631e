// "A slow client costs a cursor, not a buffer", measured where the cost would
// be: the server's socket buffer (writableLength), sampled while a crawl
// appends ~24 MB of events to a client that stopped reading.
import type { Socket } from 'node:net';
import { MAX_EVENT_BYTES, MAX_LINKS_PER_PAGE, MAX_MESSAGE_LENGTH } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, openStream, START, settleStart, startApi, storedEvents } from '../test-support/harness.js';

describe('a paused stream client', () => {
  it("keeps the server's socket buffer under the high-water mark plus one event while the crawl goes on, then resumes from its cursor with nothing missing", async () => {
    const redis = useRedis('bp');
    // A drain timeout far beyond the test: the paused client is never cut off here.
    const api = await startApi(redis, { env: { MAX_PAGES_CAP: '20001' }, settings: { streamDrainTimeoutMs: 600_000 } });
    const sockets = new Set<Socket>();
    api.app.server.on('connection', (socket: Socket) => sockets.add(socket));
    const reply = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START, options: { maxPages: 20_001, concurrency: 256 } } });
    expect(reply.status).toBe(201);
    const id = (reply.json as { id: string }).id;
    const client = await openStream(api.base, `/api/crawl-v2/${id}/stream`);
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    client.pause();

    let most = 0;
    let highWaterMark = 0;
    const sampler = setInterval(() => {
      for (const socket of sockets) {
        if (socket.destroyed) continue;
        highWaterMark = Math.max(highWaterMark, socket.writableHighWaterMark);
        most = Math.max(most, socket.writableLength);
      }
    }, 2);

    // ~24 MB of events: 19,999 failed pages with a message of MAX_MESSAGE_LENGTH each.
    const message = 'x'.repeat(MAX_MESSAGE_LENGTH);
    const first = Array.from({ length: MAX_LINKS_PER_PAGE }, (_, i) => `${START}f${i}`);
    const second = Array.from({ length: MAX_LINKS_PER_PAGE }, (_, i) => `${START}g${i}`);
    await settleStart(api.store, id, first);
    await settleStart(api.store, id, second, first[0]);
    const links = [...first.slice(1), ...second];
    for (let i = 0; i < links.length; i += 200) {
      await Promise.all(links.slice(i, i + 200).map((url) => api.store.settle(id, { kind: 'failed', url, reason: 'timeout', message, attempts: 1 })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    const stored = await storedEvents(api.store, id);
    expect(stored[stored.length - 1]!.event).toBe('completed');
    const publishedBytes = stored.reduce((n, e) => n + e.data.length, 0);
    expect(publishedBytes).toBeGreaterThan(20_000_000);
    // Give the stream time to push against the full socket.
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(sampler);

    // The client really stopped the server (the socket filled up), and the
    // server kept at most one event past the mark: a writer that ignored
    // push-back would hold most of the 24 MB here.
    expect(client.bytes).toBeLessThan(publishedBytes / 2);
    expect(most).toBeGreaterThanOrEqual(highWaterMark);
    expect(most).toBeLessThanOrEqual(highWaterMark + MAX_EVENT_BYTES + 1024);

    // Resumed, it gets every event after its snapshot, in order, to the end.
    client.resume();
    await client.done;
    const at = stored.findIndex((e) => e.id === client.events[0]!.id);
    expect(at).toBeGreaterThanOrEqual(0);
    expect(client.events.slice(1).map((e) => e.id)).toEqual(stored.slice(at + 1).map((e) => e.id));
  });
});
