import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compareEventIds, isTerminalEvent } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { CrawlStore } from './crawl-store.js';
import { type EventFrame, parseFrame } from './frames.js';
import { type OpenResult, StreamHub, type StreamReader } from './stream-hub.js';
import { allEvents, options, RecordingJobs } from './test-support/setup.js';

const run = promisify(execFile);
const START = 'http://127.0.0.1:9/docs/';
const publisher = fileURLToPath(new URL('./test-support/publisher.mjs', import.meta.url));

/** One "API instance": its own command connection and subscriber connection. */
function instance(redis: ReturnType<typeof useRedis>, extra: { maxEvents?: number; ringSize?: number } = {}) {
  const store = new CrawlStore({ redis: redis.connect(), prefix: redis.prefix, maxEvents: extra.maxEvents, jobs: new RecordingJobs() });
  const hub = new StreamHub({ store, subscriber: redis.connect({ shardedSubscribers: true }), ringSize: extra.ringSize, pollMs: 500 });
  return { store, hub };
}

function reader(result: OpenResult): StreamReader {
  if (result.kind !== 'stream') throw new Error(`expected a stream, got ${result.kind}`);
  return result.reader;
}

/** Reads until the stream ends (terminal event), like an SSE connection would. */
async function drain(r: StreamReader, limit = 1_000_000): Promise<EventFrame[]> {
  const frames: EventFrame[] = [];
  while (frames.length < limit) {
    const batch = await r.next(5_000);
    if (batch === null) break;
    frames.push(...batch);
  }
  r.close();
  return frames;
}

function expectStrictlyIncreasing(frames: EventFrame[]) {
  for (let i = 1; i < frames.length; i++) {
    expect(compareEventIds(frames[i - 1]!.id, frames[i]!.id), `${frames[i - 1]!.id} < ${frames[i]!.id}`).toBe(-1);
  }
}

describe('event log and stream readers', () => {
  it('4 publisher processes x 1,000 events: every reader on every instance sees the same strictly increasing ids, with no gap', async () => {
    const redis = useRedis('h');
    const a = instance(redis);
    const b = instance(redis);
    const { crawl } = await a.store.create({ url: START, options: options({ maxPages: 5000 }) });
    const urls = Array.from({ length: 4000 }, (_, i) => `${START}u${i}`);
    await a.store.claim(crawl.id, 'sitemap', 1, urls);

    const fromStartA = reader(await a.hub.open(crawl.id, '0'));
    const fromStartB = reader(await b.hub.open(crawl.id, '0'));
    const liveA = reader(await a.hub.open(crawl.id));
    const readsA = drain(fromStartA);
    const readsB = drain(fromStartB);
    const readsLive = drain(liveA);

    const publishing = Array.from({ length: 4 }, (_, p) =>
      run(process.execPath, [publisher, redis.url, String(redis.cluster), redis.prefix, crawl.id, `${START}u`, String(p * 1000), '1000']),
    );
    // A reader that joins mid-way, on the other instance, without a cursor.
    await new Promise((r) => setTimeout(r, 150));
    const lateLive = reader(await b.hub.open(crawl.id));
    const readsLate = drain(lateLive);

    const outputs = await Promise.all(publishing);
    const settledByProcesses = outputs.map((o) => JSON.parse(o.stdout).settled as number);
    expect(settledByProcesses.reduce((x, y) => x + y, 0)).toBe(4000);
    await a.store.settle(crawl.id, { kind: 'processed', url: START, title: 'S', depth: 0, status: 200, bytes: 1, durationMs: 1, markdown: '' });

    const stored = await allEvents(a.store, crawl.id);
    expect(stored.filter((f) => f.type === 'page_skipped')).toHaveLength(4000);
    expect(stored[stored.length - 1]!.type).toBe('completed');
    expectStrictlyIncreasing(stored);

    const [seenA, seenB, seenLive, seenLate] = await Promise.all([readsA, readsB, readsLive, readsLate]);
    expect(seenA.map((f) => f.id)).toEqual(stored.map((f) => f.id));
    expect(seenB.map((f) => f.id)).toEqual(stored.map((f) => f.id));
    expect(seenA.map((f) => f.data)).toEqual(stored.map((f) => f.data));
    for (const live of [seenLive, seenLate]) {
      expect(live[0]!.type).toBe('snapshot');
      const at = stored.findIndex((f) => f.id === live[0]!.id);
      expect(at).toBeGreaterThanOrEqual(0);
      expect(live.slice(1).map((f) => f.id)).toEqual(stored.slice(at + 1).map((f) => f.id));
    }
    expect(parseFrame(seenLate[0]!)).toMatchObject({ type: 'snapshot', id: crawl.id, status: 'running' });
    expect(a.hub.watched + b.hub.watched).toBe(0);
  });

  it('resuming at every event id yields exactly the events after it', async () => {
    const redis = useRedis('r');
    const { store, hub } = instance(redis, { ringSize: 16 });
    const { crawl } = await store.create({ url: START, options: options() });
    const urls = Array.from({ length: 99 }, (_, i) => `${START}r${i}`);
    await store.claim(crawl.id, 'sitemap', 1, urls);
    for (const url of urls) await store.settle(crawl.id, { kind: 'skipped', url, reason: 'robots' });
    await store.settle(crawl.id, { kind: 'failed', url: START, reason: 'timeout', message: 't', attempts: 3 });
    const stored = await allEvents(store, crawl.id);
    const terminalAt = stored.findIndex((f) => isTerminalEvent(f.type));
    expect(terminalAt).toBe(stored.length - 1);

    const fromZero = await drain(reader(await hub.open(crawl.id, '0')));
    expect(fromZero.map((f) => f.id)).toEqual(stored.map((f) => f.id));
    for (let i = 0; i < stored.length - 1; i++) {
      const resumed = await drain(reader(await hub.open(crawl.id, stored[i]!.id)));
      expect(resumed.map((f) => f.id)).toEqual(stored.slice(i + 1).map((f) => f.id));
    }
    // At (or past) the terminal event there is nothing more: the API answers 204.
    expect((await hub.open(crawl.id, stored[stored.length - 1]!.id)).kind).toBe('ended');
    expect((await hub.open(crawl.id, '99999999999999-0')).kind).toBe('ended');
    expect((await hub.open('00000000-0000-4000-8000-000000000000', '0')).kind).toBe('missing');
  });

  it('a trimmed, unknown or foreign cursor gets reset, then snapshot, then live events', async () => {
    const redis = useRedis('t');
    // A ring of 8 frames and a log capped near 100 entries (XADD MAXLEN ~ trims whole
    // 100-entry nodes): 500 events after a reader's cursor trim it from both.
    const { store, hub } = instance(redis, { maxEvents: 100, ringSize: 8 });
    const { crawl } = await store.create({ url: START, options: options({ maxPages: 2000 }) });
    const firstId = (await allEvents(store, crawl.id))[0]!.id;
    const urls = Array.from({ length: 1000 }, (_, i) => `${START}t${i}`);
    await store.claim(crawl.id, 'sitemap', 1, urls);
    for (const url of urls.slice(0, 500)) await store.settle(crawl.id, { kind: 'skipped', url, reason: 'robots' });
    const stored = await allEvents(store, crawl.id).catch(() => null);
    expect(stored).toBeNull(); // '0' itself is lost: the log was trimmed

    const other = await store.create({ url: START, options: options() });
    const foreignId = (await allEvents(store, other.crawl.id))[0]!.id;
    for (const cursor of [firstId, '0', '1-0', foreignId]) {
      const r = reader(await hub.open(crawl.id, cursor));
      const first = await r.next(1000);
      expect(first!.map((f) => f.type), `cursor ${cursor}`).toEqual(['reset', 'snapshot']);
      expect(parseFrame(first![1]!)).toMatchObject({ type: 'snapshot', counters: { skipped: 500 } });
      expect(first![0]!.id).toBe(first![1]!.id);
      r.close();
    }

    // A reader that falls behind the trimming mid-stream: its cursor is gone
    // from the log and from the 8-frame ring, so its next read is reset +
    // snapshot (a reader served from a stale ring, or told nothing, fails here),
    // then every event after the snapshot, to the one terminal event.
    const slow = reader(await hub.open(crawl.id));
    const [snapshot] = (await slow.next(1000))!;
    expect(snapshot!.type).toBe('snapshot');
    for (const url of urls.slice(500)) await store.settle(crawl.id, { kind: 'skipped', url, reason: 'robots' });
    expect(await store.readAfter(crawl.id, snapshot!.id, 1)).toBe('lost');
    const told = (await slow.next(1000))!;
    expect(told.map((f) => f.type)).toEqual(['reset', 'snapshot']);
    expect(parseFrame(told[0]!)).toMatchObject({ type: 'reset', reason: 'cursor_trimmed' });
    expect(parseFrame(told[1]!)).toMatchObject({ type: 'snapshot', status: 'running', counters: { skipped: 1000 } });
    await store.settle(crawl.id, { kind: 'skipped', url: START, reason: 'robots' });
    const rest = await drain(slow);
    const after = await store.readAfter(crawl.id, told[1]!.id, 10_000);
    expect(after).not.toBe('lost');
    expect(rest.map((f) => f.id)).toEqual((after as EventFrame[]).map((f) => f.id));
    expect(rest.filter((f) => isTerminalEvent(f.type)).map((f) => f.type)).toEqual(['completed']);
  });

  it('a reader left behind the ring catches up from Redis, in order, without a gap', async () => {
    const redis = useRedis('c');
    const { store, hub } = instance(redis, { ringSize: 8 });
    const { crawl } = await store.create({ url: START, options: options() });
    const urls = Array.from({ length: 60 }, (_, i) => `${START}c${i}`);
    await store.claim(crawl.id, 'sitemap', 1, urls);
    const slow = reader(await hub.open(crawl.id, '0'));
    const fast = reader(await hub.open(crawl.id, '0'));
    const fastReads = drain(fast);
    for (const url of urls) await store.settle(crawl.id, { kind: 'skipped', url, reason: 'robots' });
    await store.cancel(crawl.id);
    const stored = await allEvents(store, crawl.id);
    // The slow reader only starts reading now, far behind the 8-frame ring.
    const slowFrames = await drain(slow);
    expect(slowFrames.map((f) => f.id)).toEqual(stored.map((f) => f.id));
    expect((await fastReads).map((f) => f.id)).toEqual(stored.map((f) => f.id));
    expect(slowFrames[slowFrames.length - 1]!.type).toBe('cancelled');
  });

  it('times out with an empty batch on an idle stream (for heartbeats) and releases everything on close', async () => {
    const redis = useRedis('i');
    const { store, hub } = instance(redis);
    const { crawl } = await store.create({ url: START, options: options() });
    const r = reader(await hub.open(crawl.id));
    expect((await r.next(100))!.map((f) => f.type)).toEqual(['snapshot']);
    const started = Date.now();
    expect(await r.next(200)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(hub.watched).toBe(1);
    r.close();
    r.close();
    expect(hub.watched).toBe(0);
    expect(await r.next(100)).toBeNull();
  });

  it('live mode hands every new frame to an up-to-date reader once, in order, and hands back on push-back', async () => {
    const redis = useRedis('l');
    const { store, hub } = instance(redis);
    const { crawl } = await store.create({ url: START, options: options({ maxPages: 1000 }) });
    const urls = Array.from({ length: 200 }, (_, i) => `${START}l${i}`);
    await store.claim(crawl.id, 'sitemap', 1, urls);
    const r = reader(await hub.open(crawl.id));
    await r.next(1000); // snapshot: now at the tail
    const live: EventFrame[] = [];
    let ended = 0;
    const sink = (frames: EventFrame[]) => {
      live.push(...frames);
      return live.length < 120; // then push back, as a socket that is full would
    };
    expect(r.attach({ receive: sink, liveEnded: () => ended++ })).toBe(true);
    for (const url of urls) await store.settle(crawl.id, { kind: 'skipped', url, reason: 'robots' });
    await store.cancel(crawl.id);
    // Live mode ended once the sink said "enough"; the rest is pulled, paced by the caller.
    await expect.poll(() => ended).toBe(1);
    const rest = await drain(r);
    const stored = await allEvents(store, crawl.id);
    const seen = [...live, ...rest].map((f) => f.id);
    const at = stored.findIndex((f) => f.id === seen[0]);
    expect(seen).toEqual(stored.slice(at).map((f) => f.id));
    expect(live.length).toBeGreaterThanOrEqual(120);
    expect(seen[seen.length - 1]).toBe(stored[stored.length - 1]!.id);
    // A reader that is behind cannot go live.
    const behind = reader(await hub.open(crawl.id, stored[0]!.id));
    expect(behind.attach({ receive: () => true, liveEnded: () => {} })).toBe(false);
    behind.close();
  });
});

