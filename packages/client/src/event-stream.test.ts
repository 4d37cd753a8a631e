import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS } from '@crawlstream/shared';
import { reconnectDelay } from './backoff.js';
import { CrawlstreamClient } from './client.js';
import { parseMessage, type ReconnectInfo, type SkippedEvent, type StreamedEvent, StreamPosition } from './event-stream.js';
import {
  apiErrorResponse,
  CRAWL_ID,
  completedFrame,
  crawlObject,
  FakeApi,
  frame,
  type Handler,
  json,
  newerServerFrames,
  pageFrame,
  rawFrame,
  sse,
} from './test-support/fake-api.js';
import { failure } from './test-support/failure.js';

const BASE = 'http://127.0.0.1:9';
const fast = { initialDelayMs: 1, maxDelayMs: 5 };

function client(api: FakeApi, extra: Partial<ConstructorParameters<typeof CrawlstreamClient>[0]> = {}) {
  return new CrawlstreamClient({ baseUrl: BASE, fetch: api.fetch, reconnect: fast, ...extra });
}

async function collect(iterable: AsyncIterable<StreamedEvent>): Promise<StreamedEvent[]> {
  const out: StreamedEvent[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('reconnectDelay', () => {
  it('doubles per attempt, is capped, and keeps at least half of the ceiling', () => {
    expect(reconnectDelay(1, 100, 10_000, () => 0)).toBe(50);
    expect(reconnectDelay(1, 100, 10_000, () => 1)).toBe(100);
    expect(reconnectDelay(4, 100, 10_000, () => 1)).toBe(800);
    expect(reconnectDelay(30, 100, 10_000, () => 1)).toBe(10_000);
    expect(reconnectDelay(2000, 100, 10_000, () => 0.5)).toBe(7500);
    for (let attempt = 1; attempt < 50; attempt++) {
      const delay = reconnectDelay(attempt, 250, 30_000);
      expect(delay).toBeGreaterThanOrEqual(Math.min(30_000, 250 * 2 ** (attempt - 1)) / 2);
      expect(delay).toBeLessThanOrEqual(30_000);
    }
  });
});

describe('StreamPosition', () => {
  const page = (id: string): StreamedEvent => ({
    id,
    event: { type: 'page', crawlId: CRAWL_ID, ts: 1, url: 'u', title: 't', depth: 0, status: 200, bytes: 1, durationMs: 1 },
  });

  it('drops stored events at or before the newest delivered, comparing ids numerically', () => {
    const position = new StreamPosition('0');
    expect(position.accept(page('9-1'))).toBe('deliver');
    expect(position.accept(page('10-0'))).toBe('deliver');
    expect(position.accept(page('9-2'))).toBe('drop');
    expect(position.accept(page('10-0'))).toBe('drop');
    expect(position.accept(page('10-1'))).toBe('deliver');
    expect(position.cursor).toBe('10-1');
  });

  it('moves to a reset and its snapshot, even backwards, and ends on a finished snapshot', () => {
    const position = new StreamPosition('50-0');
    const reset: StreamedEvent = { id: '20-0', event: { type: 'reset', crawlId: CRAWL_ID, ts: 1, reason: 'cursor_unknown' } };
    expect(position.accept(reset)).toBe('deliver');
    const snapshot = { ...crawlObject(), type: 'snapshot' as const, crawlId: CRAWL_ID, ts: 1 };
    expect(position.accept({ id: '20-0', event: snapshot })).toBe('deliver');
    expect(position.accept(page('21-0'))).toBe('deliver');
    expect(position.cursor).toBe('21-0');
    expect(position.accept({ id: '21-0', event: { ...snapshot, status: 'completed' } })).toBe('end');
  });

  it('moves past an event it skips, never backwards, so a reconnect does not replay it', () => {
    const position = new StreamPosition('5-0');
    expect(position.pass('5-1')).toBe(true);
    expect(position.cursor).toBe('5-1');
    expect(position.pass('5-0')).toBe(false);
    expect(position.cursor).toBe('5-1');
    expect(position.accept(page('5-1'))).toBe('drop');
    expect(position.accept(page('5-2'))).toBe('deliver');
  });
});

describe('forward compatibility: a newer server', () => {
  const message = (text: string) => {
    const [, id, event, data] = /^id: (.*)\nevent: (.*)\ndata: (.*)\n\n$/.exec(text)!;
    return { id: id!, event: event!, data: data! };
  };

  it('parses known events with unknown fields, options and reasons, and skips unknown types', () => {
    const parsed = newerServerFrames().map((text) => parseMessage(CRAWL_ID, message(text)));
    expect(parsed.map((p) => ('skippedType' in p ? `${p.id} skip ${p.skippedType}` : `${p.id} ${p.event.type}`))).toEqual([
      '1-0 snapshot',
      '1-1 started',
      '1-2 skip screenshot',
      '1-3 discovered',
      '1-4 page',
      '1-5 page_failed',
      '1-6 page_skipped',
      '1-7 progress',
      '1-8 skip paused',
      '1-9 completed',
    ]);
    const events = parsed.flatMap((p) => ('event' in p ? [p.event] : []));
    // Unknown fields and options are kept, for whoever knows them; what the client knows is typed.
    expect(events[0]).toMatchObject({ type: 'snapshot', priority: 'high', options: { renderJavaScript: true, maxPages: 100 } });
    expect(events[1]).toMatchObject({ type: 'started', options: { renderJavaScript: true } });
    expect(events[3]).toMatchObject({ type: 'page', language: 'en', status: 200 });
    expect(events[4]).toMatchObject({ type: 'page_failed', reason: 'tls_handshake' });
    expect(events[5]).toMatchObject({ type: 'page_skipped', reason: 'duplicate_content' });
    expect(events[6]).toMatchObject({ type: 'progress', etaMs: 0, counters: { processed: 1, queued: 1 } });
  });

  it.each([
    ['a page whose status is a string', rawFrame('1-4', 'page', { url: 'u', title: 't', depth: 0, status: '200', bytes: 1, durationMs: 1 })],
    ['a failure whose reason is a number', rawFrame('1-5', 'page_failed', { url: 'u', reason: 42, message: 'm', attempts: 1 })],
    ['a skip without its url', rawFrame('1-6', 'page_skipped', { reason: 'robots' })],
    ['a snapshot with a known option of the wrong type', rawFrame('1-0', 'snapshot', { ...crawlObject(), options: { ...crawlObject().options, maxPages: 'all', renderJavaScript: true } })],
    ['progress with a counter that is not a number', rawFrame('1-7', 'progress', { counters: { discovered: 'x', processed: 0, failed: 0, skipped: 0 }, pagesPerSecond: 1 })],
  ])('still refuses %s', (_what, text) => {
    expect(() => parseMessage(CRAWL_ID, message(text))).toThrow(expect.objectContaining({ code: 'invalid_response' }));
  });

  it('delivers what it knows in order, skips the rest and resumes after an unknown event without replaying it', async () => {
    const frames = newerServerFrames();
    const api = new FakeApi([
      // Cut right after an event of an unknown type.
      () => sse(frames.slice(0, 3), { retryMs: 1 }),
      () => sse(frames.slice(3)),
    ]);
    const skipped: SkippedEvent[] = [];
    const events = await collect(client(api).events(CRAWL_ID, { onSkip: (s) => skipped.push(s) }));
    expect(events.map((e) => `${e.id} ${e.event.type}`)).toEqual([
      '1-0 snapshot',
      '1-1 started',
      '1-3 discovered',
      '1-4 page',
      '1-5 page_failed',
      '1-6 page_skipped',
      '1-7 progress',
      '1-9 completed',
    ]);
    expect(skipped).toEqual([
      { id: '1-2', skippedType: 'screenshot' },
      { id: '1-8', skippedType: 'paused' },
    ]);
    expect(api.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '1-2']);
  });

  it('counts a connection that brought only unknown events as progress, not as a failure', async () => {
    const down: Handler = () => apiErrorResponse(503, 'unavailable');
    const unknownOnly = (n: number) => () => sse([rawFrame(`1-${n}`, 'heartbeat_v2', {})]);
    // Three attempts without progress in a row would give up; an unknown-only connection resets the count.
    const api = new FakeApi([unknownOnly(1), down, unknownOnly(2), down, () => sse([completedFrame(3)])]);
    const events = await collect(client(api, { reconnect: { ...fast, maxAttempts: 2 } }).events(CRAWL_ID));
    expect(events.map((e) => e.id)).toEqual(['1-3']);
    expect(api.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '1-1', '1-1', '1-2', '1-2']);
  });
});

describe('events()', () => {
  it('resumes with Last-Event-ID after a cut, drops repeats, keeps order and ends on the terminal event', async () => {
    const api = new FakeApi([
      () => sse([frame('1-0', 'snapshot', crawlObject()), pageFrame(1), pageFrame(2)], { retryMs: 1 }),
      // A server that replays more than it was asked for: 1-2 again, then new ones.
      () => sse([pageFrame(2), pageFrame(3)]),
      () => sse([pageFrame(1), pageFrame(3), pageFrame(4), completedFrame(5), pageFrame(6)]),
    ]);
    const events = await collect(client(api).events(CRAWL_ID));
    expect(events.map((e) => `${e.id} ${e.event.type}`)).toEqual([
      '1-0 snapshot',
      '1-1 page',
      '1-2 page',
      '1-3 page',
      '1-4 page',
      '1-5 completed',
    ]);
    expect(api.requests.map((r) => r.headers['last-event-id'])).toEqual([undefined, '1-2', '1-3']);
    expect(api.requests[0]!.url).toBe(`${BASE}/api/crawl-v2/${CRAWL_ID}/stream`);
    expect(api.requests[0]!.headers.accept).toBe('text/event-stream');
  });

  it('starts from lastEventId and sends the API key and the stream token', async () => {
    const api = new FakeApi([() => sse([pageFrame(8), completedFrame(9)])]);
    const events = await collect(
      client(api, { apiKey: 'k'.repeat(20) }).events(CRAWL_ID, { lastEventId: '1-7', token: 'tok.en' }),
    );
    expect(events.map((e) => e.id)).toEqual(['1-8', '1-9']);
    expect(api.requests[0]!.headers['last-event-id']).toBe('1-7');
    expect(api.requests[0]!.headers.authorization).toBe(`Bearer ${'k'.repeat(20)}`);
    expect(api.requests[0]!.url).toBe(`${BASE}/api/crawl-v2/${CRAWL_ID}/stream?token=tok.en`);
  });

  it('asks for include=markdown on every (re)connect, and hands page events their markdown', async () => {
    const withMarkdown = (frame: string) => frame.replace(/}\n\n$/, ',"markdown":"# Page","truncated":true}\n\n');
    const api = new FakeApi([() => sse([withMarkdown(pageFrame(8))]), () => sse([completedFrame(9)])]);
    const events = await collect(client(api, { reconnect: { initialDelayMs: 1, maxDelayMs: 1 } }).events(CRAWL_ID, { lastEventId: '1-7', include: ['markdown'] }));
    expect(events.map((e) => e.id)).toEqual(['1-8', '1-9']);
    expect(events[0]!.event).toMatchObject({ type: 'page', markdown: '# Page', truncated: true });
    for (const request of api.requests) expect(request.url).toBe(`${BASE}/api/crawl-v2/${CRAWL_ID}/stream?include=markdown`);
  });

  it('ends without an event on 204', async () => {
    const api = new FakeApi([() => new Response(null, { status: 204 })]);
    expect(await collect(client(api).events(CRAWL_ID, { lastEventId: '1-9' }))).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });

  it('ends after the snapshot of a finished crawl without reconnecting', async () => {
    const api = new FakeApi([() => sse([frame('1-9', 'snapshot', crawlObject({ status: 'cancelled' }))])]);
    const events = await collect(client(api).events(CRAWL_ID));
    expect(events.map((e) => e.event.type)).toEqual(['snapshot']);
    expect(api.requests).toHaveLength(1);
  });

  it.each([
    [400, 'invalid_last_event_id'],
    [401, 'unauthorized'],
    [403, 'forbidden'],
    [404, 'not_found'],
  ])('throws a typed error on %i without retrying', async (status, code) => {
    const api = new FakeApi([() => apiErrorResponse(status, code), () => sse([completedFrame(1)])]);
    const error = await failure(collect(client(api).events(CRAWL_ID)));
    expect(error).toMatchObject({ status, code, message: `${code} happened` });
    expect(error.retryable).toBe(false);
    expect(api.requests).toHaveLength(1);
  });

  it('retries 5xx, 429 and network errors with backoff, telling onReconnect why', async () => {
    const api = new FakeApi([
      () => apiErrorResponse(503, 'unavailable'),
      () => apiErrorResponse(429, 'rate_limited'),
      () => {
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
      },
      () => new Response('<html>proxy error</html>', { status: 502 }),
      () => sse([pageFrame(1), completedFrame(2)]),
    ]);
    const seen: ReconnectInfo[] = [];
    const events = await collect(client(api).events(CRAWL_ID, { lastEventId: '0', onReconnect: (info) => seen.push(info) }));
    expect(events.map((e) => e.id)).toEqual(['1-1', '1-2']);
    expect(seen.map((info) => [info.attempt, info.error?.status, info.error?.code])).toEqual([
      [1, 503, 'unavailable'],
      [2, 429, 'rate_limited'],
      [3, 0, 'network_error'],
      [4, 502, 'http_502'],
    ]);
    expect(seen[2]!.error!.message).toContain('ECONNREFUSED');
    expect(api.requests.every((r) => r.headers['last-event-id'] === '0')).toBe(true);
  });

  // docs/sdk.md: "never comes back sooner than Retry-After". The reconnect cap
  // (maxDelayMs) bounds the SDK's own backoff, not the server's answer; with
  // Retry-After clamped to the cap (the old code) the first case waits 200 ms
  // and fails.
  it('never comes back sooner than the Retry-After of a 429 or 503, even above maxDelayMs', async () => {
    const api = new FakeApi([
      () => json(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'retry-after': '1' }),
      () => json(503, { error: { code: 'unavailable', message: 'restarting' } }, { 'retry-after': '1' }),
      () => sse([completedFrame(1)]),
    ]);
    const seen: ReconnectInfo[] = [];
    const capped = client(api, { reconnect: { initialDelayMs: 1, maxDelayMs: 200 } });
    const started = Date.now();
    await collect(capped.events(CRAWL_ID, { onReconnect: (info) => seen.push(info) }));
    expect(seen.map((info) => [info.delayMs, info.error?.status, info.error?.retryAfterMs])).toEqual([
      [1000, 429, 1000],
      [1000, 503, 1000],
    ]);
    // The waits really happened (a lower bound only: the machine may be slower, never faster).
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(api.requests).toHaveLength(3);
  });

  it('waits a Retry-After of MAX_RETRY_AFTER_MS in full, and no longer for one second past it', async () => {
    for (const seconds of [MAX_RETRY_AFTER_MS / 1000, MAX_RETRY_AFTER_MS / 1000 + 1]) {
      const api = new FakeApi([() => json(503, { error: { code: 'unavailable', message: 'x' } }, { 'retry-after': String(seconds) })]);
      const stop = new AbortController();
      const seen: ReconnectInfo[] = [];
      const reading = collect(
        client(api).events(CRAWL_ID, {
          signal: stop.signal,
          onReconnect: (info) => {
            seen.push(info);
            stop.abort(); // the delay is decided; do not wait it
          },
        }),
      );
      await expect(reading).rejects.toBeDefined();
      expect(seen.map((info) => [info.delayMs, info.error?.retryAfterMs])).toEqual([[MAX_RETRY_AFTER_MS, seconds * 1000]]);
    }
  });

  it('gives up after maxAttempts consecutive failures, and counts afresh after an event', async () => {
    const down: Handler = () => apiErrorResponse(503, 'unavailable');
    // The first connection and two reconnects fail; one delivers; two more reconnects fail: give up.
    const api = new FakeApi([down, down, () => sse([pageFrame(1)]), down, down, () => sse([completedFrame(2)])]);
    const error = await failure(collect(client(api, { reconnect: { ...fast, maxAttempts: 2 } }).events(CRAWL_ID)));
    expect(error).toMatchObject({ code: 'too_many_retries', status: 503 });
    expect(api.requests).toHaveLength(5);
  });

  it('throws invalid_response on an event that breaks the contract, without retrying', async () => {
    const bad = `id: 1-1\nevent: page\ndata: ${JSON.stringify({ type: 'page', crawlId: CRAWL_ID, ts: 1, url: 'x' })}\n\n`;
    const api = new FakeApi([() => sse([pageFrame(0), bad]), () => sse([completedFrame(2)])]);
    const seen: string[] = [];
    const error = await failure(
      (async () => {
        for await (const { id } of client(api).events(CRAWL_ID)) seen.push(id);
      })(),
    );
    expect(error.code).toBe('invalid_response');
    expect(seen).toEqual(['1-0']);
    expect(api.requests).toHaveLength(1);
  });

  it.each([
    ['an event of another crawl', `id: 1-1\nevent: cancelled\ndata: ${JSON.stringify({ type: 'cancelled', crawlId: 'other', ts: 1, counters: { discovered: 0, processed: 0, failed: 0, skipped: 0 } })}\n\n`],
    ['a name that differs from its data', `id: 1-1\nevent: completed\ndata: ${JSON.stringify({ type: 'cancelled', crawlId: CRAWL_ID, ts: 1, counters: { discovered: 0, processed: 0, failed: 0, skipped: 0 } })}\n\n`],
    ['an event without an id', `event: reset\ndata: ${JSON.stringify({ type: 'reset', crawlId: CRAWL_ID, ts: 1, reason: 'x' })}\n\n`],
    ['data that is not JSON', 'id: 1-1\nevent: page\ndata: {nope\n\n'],
  ])('refuses %s', async (_what, text) => {
    const api = new FakeApi([() => sse([text])]);
    expect((await failure(collect(client(api).events(CRAWL_ID)))).code).toBe('invalid_response');
  });

  it('refuses a 200 that is not an event stream', async () => {
    const api = new FakeApi([() => new Response('<html></html>', { status: 200, headers: { 'content-type': 'text/html' } })]);
    expect((await failure(collect(client(api).events(CRAWL_ID)))).code).toBe('invalid_response');
    expect(api.requests).toHaveLength(1);
  });

  it('reopens a stream that stays silent past the idle timeout, and pings keep it open', async () => {
    const api = new FakeApi([
      () => sse([pageFrame(1)], { hang: true }),
      () => sse([': ping\n\n', pageFrame(2), completedFrame(3)]),
    ]);
    const seen: ReconnectInfo[] = [];
    const events = await collect(client(api, { idleTimeoutMs: 100 }).events(CRAWL_ID, { onReconnect: (i) => seen.push(i) }));
    expect(events.map((e) => e.id)).toEqual(['1-1', '1-2', '1-3']);
    expect(seen.map((i) => i.error?.code)).toEqual(['stream_timeout']);
    expect(api.requests[1]!.headers['last-event-id']).toBe('1-1');
  });

  it('stops when its signal aborts, during a read or a backoff', async () => {
    const reading = new AbortController();
    const api = new FakeApi([() => sse([pageFrame(1)], { hang: true })]);
    const seen: string[] = [];
    const run = (async () => {
      for await (const { id } of client(api).events(CRAWL_ID, { signal: reading.signal })) {
        seen.push(id);
        setTimeout(() => reading.abort(), 10);
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual(['1-1']);

    const waiting = new AbortController();
    const down = new FakeApi([() => apiErrorResponse(503, 'unavailable')]);
    const slow = new CrawlstreamClient({ baseUrl: BASE, fetch: down.fetch, reconnect: { initialDelayMs: 60_000 } });
    const started = Date.now();
    setTimeout(() => waiting.abort(), 20);
    await expect(collect(slow.events(CRAWL_ID, { signal: waiting.signal }))).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('releases the connection when the consumer stops early', async () => {
    let aborted = false;
    const api = new FakeApi([
      (_request, signal) => {
        signal?.addEventListener('abort', () => {
          aborted = true;
        });
        return sse([pageFrame(1), pageFrame(2)], { hang: true });
      },
    ]);
    for await (const { id } of client(api).events(CRAWL_ID)) {
      expect(id).toBe('1-1');
      break;
    }
    expect(aborted).toBe(true);
  });
});
