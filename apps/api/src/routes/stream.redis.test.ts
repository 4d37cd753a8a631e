import { compareEventIds, crawl, crawlEvent, isTerminalEvent, MAX_LINKS_PER_PAGE, MAX_MESSAGE_LENGTH } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import {
  type Api,
  call,
  errorCode,
  openStream,
  playCrawl,
  START,
  type SseClient,
  settlePage,
  settleStart,
  startApi,
  stopApi,
  storedEvents,
} from '../test-support/harness.js';

const streamOf = (id: string) => `/api/crawl-v2/${id}/stream`;

async function postCrawl(api: Api, body: unknown = { url: START }) {
  const reply = await call(api.base, 'POST', '/api/crawl-v2', { body });
  expect(reply.status).toBe(201);
  return crawl.parse(reply.json);
}

async function openStreams(api: Api): Promise<number> {
  return (await api.app.crawlstream.metrics.openStreams.get()).values[0]?.value ?? 0;
}

function expectStrictlyIncreasing(ids: string[]) {
  for (let i = 1; i < ids.length; i++) expect(compareEventIds(ids[i - 1]!, ids[i]!), `${ids[i - 1]} < ${ids[i]}`).toBe(-1);
}

describe('GET /api/crawl-v2/:id/stream', () => {
  it('sends the SSE headers, `retry:` first, a snapshot, live events, one terminal event, then ends', async () => {
    const api = await startApi(useRedis('s'));
    const created = await postCrawl(api);
    const client = await openStream(api.base, streamOf(created.id));
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toBe('text/event-stream');
    expect(client.headers['cache-control']).toBe('no-cache, no-transform');
    expect(client.headers['x-accel-buffering']).toBe('no');
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    expect(client.lines[0]).toMatch(/^retry: \d+$/);
    expect(client.events[0]!.event).toBe('snapshot');
    const snapshot = crawlEvent.parse(JSON.parse(client.events[0]!.data));
    expect(snapshot).toMatchObject({ type: 'snapshot', id: created.id, crawlId: created.id, status: 'running' });

    await playCrawl(api.store, created.id, 3);
    await client.done;
    const stored = await storedEvents(api.store, created.id);
    const at = stored.findIndex((e) => e.id === client.events[0]!.id);
    expect(at).toBeGreaterThanOrEqual(0);
    const live = client.events.slice(1);
    expect(live).toEqual(stored.slice(at + 1));
    for (const event of live) {
      const parsed = crawlEvent.parse(JSON.parse(event.data));
      expect(parsed.type).toBe(event.event);
      expect(parsed.ts).toBe(Number(event.id.split('-')[0]));
    }
    expect(live.filter((e) => isTerminalEvent(e.event)).map((e) => e.event)).toEqual(['completed']);
    expect(live[live.length - 1]!.event).toBe('completed');
  });

  it('serves a stream opened in the same tick as POST returns, on another instance, without 404', async () => {
    const redis = useRedis('t');
    const a = await startApi(redis);
    const b = await startApi(redis);
    for (let i = 0; i < 20; i++) {
      const [writer, reader] = i % 2 ? [a, b] : [b, a];
      const reply = await call(writer.base, 'POST', '/api/crawl-v2', { body: { url: START } });
      const id = crawl.parse(reply.json).id;
      // No await between the POST's answer and these requests.
      const opening = openStream(reader.base, streamOf(id));
      const status = call(reader.base, 'GET', `/api/crawl-v2/${id}`);
      const client = await opening;
      expect(client.status).toBe(200);
      expect((await status).status).toBe(200);
      await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
      expect(client.events[0]!.event).toBe('snapshot');
      client.close();
    }
  });

  it('two instances give identical event sequences, from the start and live', async () => {
    const redis = useRedis('two');
    const a = await startApi(redis);
    const b = await startApi(redis);
    const created = await postCrawl(a, { url: START, options: { maxPages: 200, concurrency: 256 } });
    const fromStart = [await openStream(a.base, `${streamOf(created.id)}?lastEventId=0`), await openStream(b.base, streamOf(created.id), { 'last-event-id': '0' })];
    const live = [await openStream(a.base, streamOf(created.id)), await openStream(b.base, streamOf(created.id))];
    for (const client of live) await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');

    const links = Array.from({ length: 120 }, (_, i) => `${START}p${i}`);
    await settleStart(a.store, created.id, links);
    // Two "workers" settle concurrently, through each instance's own store.
    await Promise.all([
      (async () => { for (let i = 0; i < links.length; i += 2) await settlePage(a.store, created.id, links[i]!, i); })(),
      (async () => { for (let i = 1; i < links.length; i += 2) await settlePage(b.store, created.id, links[i]!, i); })(),
    ]);
    await Promise.all([...fromStart, ...live].map((c) => c.done));
    const stored = await storedEvents(a.store, created.id);
    expect(stored[stored.length - 1]!.event).toBe('completed');
    expectStrictlyIncreasing(stored.map((e) => e.id));
    expect(fromStart[0]!.events).toEqual(stored);
    expect(fromStart[1]!.events).toEqual(stored);
    // Live clients joined at possibly different points; after their snapshots they agree with the log.
    for (const client of live) {
      const at = stored.findIndex((e) => e.id === client.events[0]!.id);
      expect(client.events.slice(1)).toEqual(stored.slice(at + 1));
    }
  });

  it('resuming at every event id yields exactly the suffix; after the terminal event, 204', async () => {
    const redis = useRedis('r');
    const a = await startApi(redis);
    const b = await startApi(redis);
    const created = await postCrawl(a);
    await playCrawl(a.store, created.id, 6);
    const stored = await storedEvents(a.store, created.id);
    expect(isTerminalEvent(stored[stored.length - 1]!.event)).toBe(true);
    for (const [i, event] of stored.entries()) {
      const api = i % 2 ? a : b;
      const viaHeader = i % 3 !== 0;
      const client = viaHeader
        ? await openStream(api.base, streamOf(created.id), { 'last-event-id': event.id })
        : await openStream(api.base, `${streamOf(created.id)}?lastEventId=${event.id}`);
      if (i === stored.length - 1) {
        expect(client.status, 'at the terminal event').toBe(204);
        await client.done;
        expect(client.events).toEqual([]);
        continue;
      }
      expect(client.status).toBe(200);
      await client.done;
      expect(client.events, `after ${event.id}`).toEqual(stored.slice(i + 1));
    }
    // Past the end too, and with the header winning over a query that says otherwise.
    const past = await call(a.base, 'GET', `${streamOf(created.id)}?lastEventId=0`, { headers: { 'last-event-id': '99999999999999-0' } });
    expect(past.status).toBe(204);
    // Without a cursor, a finished crawl gets its snapshot and the response ends.
    const late = await openStream(b.base, streamOf(created.id));
    await late.done;
    expect(late.events.map((e) => e.event)).toEqual(['snapshot']);
    expect(JSON.parse(late.events[0]!.data)).toMatchObject({ status: 'completed' });
    expect(late.events[0]!.id).toBe(stored[stored.length - 1]!.id);
  });

  it('refuses a malformed Last-Event-ID with 400 (header or query; the header wins)', async () => {
    const api = await startApi(useRedis('c'));
    const created = await postCrawl(api);
    for (const bad of ['abc', '1-', '-1', '1-2-3', '1.5', ' 0x10']) {
      const viaHeader = await call(api.base, 'GET', streamOf(created.id), { headers: { 'last-event-id': bad } });
      expect(viaHeader.status, bad).toBe(400);
      expect(errorCode(viaHeader)).toBe('invalid_last_event_id');
      const viaQuery = await call(api.base, 'GET', `${streamOf(created.id)}?lastEventId=${encodeURIComponent(bad)}`);
      expect(viaQuery.status, bad).toBe(400);
    }
    const first = (await storedEvents(api.store, created.id))[0]!;
    const winning = await openStream(api.base, `${streamOf(created.id)}?lastEventId=garbage`, { 'last-event-id': first.id });
    expect(winning.status).toBe(200);
    await winning.waitFor((c) => c.events.length >= 1, 10_000, 'an event');
    expect(winning.events[0]!.id).not.toBe(first.id);
    expect(compareEventIds(winning.events[0]!.id, first.id)).toBe(1);
    winning.close();
    // A cursor that this crawl never handed out: reset, then snapshot.
    const foreign = await openStream(api.base, streamOf(created.id), { 'last-event-id': '1-0' });
    await foreign.waitFor((c) => c.events.length >= 2, 10_000, 'reset and snapshot');
    expect(foreign.events.slice(0, 2).map((e) => e.event)).toEqual(['reset', 'snapshot']);
    foreign.close();
  });

  it('sends `: ping` on an idle stream, and closing releases the gauge and the hub', async () => {
    const api = await startApi(useRedis('h'), { env: { HEARTBEAT_MS: '150' } });
    const created = await postCrawl(api);
    const before = await openStreams(api);
    const clients: SseClient[] = [];
    for (let i = 0; i < 5; i++) clients.push(await openStream(api.base, streamOf(created.id)));
    for (const client of clients) await client.waitFor((c) => c.comments.length >= 3, 15_000, 'three pings');
    expect(clients[0]!.comments.every((line) => line === ': ping')).toBe(true);
    expect(clients[0]!.events.map((e) => e.event)).toEqual(['snapshot']);
    expect(await openStreams(api)).toBe(before + 5);
    expect(api.app.crawlstream.hub.watched).toBe(1);

    for (const client of clients) client.close();
    await expect.poll(() => openStreams(api), { timeout: 10_000 }).toBe(before);
    await expect.poll(() => api.app.crawlstream.hub.watched, { timeout: 10_000 }).toBe(0);
  });

  it('cuts off a reader that stops reading, without buffering for it; it resumes by Last-Event-ID', async () => {
    const redis = useRedis('slow');
    const api = await startApi(redis, { env: { MAX_PAGES_CAP: '20001' }, settings: { streamDrainTimeoutMs: 500 } });
    const created = await postCrawl(api, { url: START, options: { maxPages: 20_001, concurrency: 256 } });
    const client = await openStream(api.base, streamOf(created.id));
    await client.waitFor((c) => c.events.length >= 1, 10_000, 'snapshot');
    client.pause();

    // ~24 MB of events, far more than the socket buffers on both ends hold: 19,999 failed pages
    // with a message of MAX_MESSAGE_LENGTH each, found by two pages of MAX_LINKS_PER_PAGE links.
    const message = 'x'.repeat(MAX_MESSAGE_LENGTH);
    const first = Array.from({ length: MAX_LINKS_PER_PAGE }, (_, i) => `${START}f${i}`);
    const second = Array.from({ length: MAX_LINKS_PER_PAGE }, (_, i) => `${START}g${i}`);
    await settleStart(api.store, created.id, first);
    await settleStart(api.store, created.id, second, first[0]);
    const links = [...first.slice(1), ...second];
    for (let i = 0; i < links.length; i += 200) {
      await Promise.all(
        links.slice(i, i + 200).map((url) => api.store.settle(created.id, { kind: 'failed', url, reason: 'timeout', message, attempts: 1 })),
      );
    }
    const cutOff = async () => (await api.app.crawlstream.metrics.streamsCutOff.get()).values.find((v) => v.labels.reason === 'slow')?.value ?? 0;
    await expect.poll(cutOff, { timeout: 30_000 }).toBe(1);
    await expect.poll(() => openStreams(api), { timeout: 10_000 }).toBe(0);

    // What reaches the client is what the kernel buffers held, not the whole log.
    client.resume();
    await client.done;
    const stored = await storedEvents(api.store, created.id);
    const publishedBytes = stored.reduce((n, e) => n + e.data.length, 0);
    expect(publishedBytes).toBeGreaterThan(20_000_000);
    expect(client.bytes).toBeLessThan(publishedBytes / 2);
    expect(client.events[client.events.length - 1]!.event).not.toBe('completed');

    // It resumes from its last complete event and misses nothing.
    const last = client.events[client.events.length - 1]!.id;
    const resumed = await openStream(api.base, streamOf(created.id), { 'last-event-id': last });
    await resumed.done;
    const at = stored.findIndex((e) => e.id === last);
    expect(at).toBeGreaterThan(0);
    expect(resumed.events.map((e) => e.id)).toEqual(stored.slice(at + 1).map((e) => e.id));
    expect(resumed.events[resumed.events.length - 1]!.event).toBe('completed');
  });

  it('shutdown ends open streams cleanly; clients resume on another instance', async () => {
    const redis = useRedis('g');
    const a = await startApi(redis);
    const b = await startApi(redis);
    const created = await postCrawl(a);
    const links = Array.from({ length: 4 }, (_, i) => `${START}p${i}`);
    await settleStart(a.store, created.id, links);
    const onA = await openStream(a.base, `${streamOf(created.id)}?lastEventId=0`);
    await onA.waitFor((c) => c.events.some((e) => e.event === 'discovered' && e.data.includes('/p0')), 10_000, 'links');
    await stopApi(a);
    await onA.done;
    expect(onA.events.some((e) => isTerminalEvent(e.event))).toBe(false);

    for (const [i, url] of links.entries()) await settlePage(b.store, created.id, url, i);
    const last = onA.events[onA.events.length - 1]!.id;
    const onB = await openStream(b.base, streamOf(created.id), { 'last-event-id': last });
    await onB.done;
    const stored = await storedEvents(b.store, created.id);
    expect([...onA.events, ...onB.events]).toEqual(stored);
  });
});
