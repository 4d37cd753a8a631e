// The dashboard's feed and model against a newer server: a stream with event
// types, fields, options and reasons they do not know. They carry on, show
// what they know, and still stop on a known event that breaks the contract.
import type { CrawlEvent } from '@crawlstream/client';
import { crawlOptionsSchema } from '@crawlstream/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DashboardApi } from './api.js';
import { type ConnectionState, followCrawl } from './crawl-feed.js';
import { CrawlModel } from './crawl-model.js';

const BASE = 'http://127.0.0.1:9';
const ID = '3b241101-e2bb-4255-8caf-4136c566a962';
// The defaults, plus an option this dashboard does not know.
const OPTIONS = { ...crawlOptionsSchema().parse({}), renderJavaScript: true };
const CRAWL = {
  id: ID,
  url: 'https://docs.example.com/',
  status: 'running' as const,
  options: OPTIONS,
  counters: { discovered: 1, processed: 0, failed: 0, skipped: 0, queued: 1 },
  createdAt: new Date(1_000_000).toISOString(),
  startedAt: new Date(1_000_000).toISOString(),
  priority: 'high',
};

function frame(id: string, type: string, payload: Record<string, unknown>, ts = 1_000_000): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ type, crawlId: ID, ts, ...payload })}\n\n`;
}

const counters = { discovered: 3, processed: 1, failed: 1, skipped: 1, queued: 0 };
const NEWER_LOG = [
  frame('1000000-0', 'started', { url: CRAWL.url, options: OPTIONS }),
  frame('1000000-1', 'screenshot', { url: CRAWL.url, png: 'iVBORw0KGgo=' }),
  frame('1000000-2', 'discovered', { urls: ['a', 'b', 'c'], depth: 0, via: 'sitemap' }),
  frame('1000500-0', 'page', { url: 'a', title: 'A', depth: 1, status: 200, bytes: 10, durationMs: 1, language: 'en' }, 1_000_500),
  frame('1000600-0', 'page_failed', { url: 'b', reason: 'tls_handshake', message: 'bad certificate', attempts: 1 }, 1_000_600),
  frame('1001100-0', 'page_skipped', { url: 'c', reason: 'duplicate_content' }, 1_001_100),
  frame('1001200-0', 'progress', { counters, pagesPerSecond: 2, etaMs: 0 }, 1_001_200),
  frame('1001300-0', 'paused', { reason: 'quota' }, 1_001_300),
  frame('1002000-0', 'completed', { counters, durationMs: 2_000, bytes: 10 }, 1_002_000),
];

/** Serves the crawl and its stream (every request of the stream gets `frames`). */
function serve(frames: string[]): typeof fetch {
  return async (input) => {
    const { pathname } = new URL(String(input));
    if (pathname === `/api/crawl-v2/${ID}`) return new Response(JSON.stringify(CRAWL), { headers: { 'content-type': 'application/json' } });
    if (pathname === `/api/crawl-v2/${ID}/stream`) return new Response(frames.join(''), { headers: { 'content-type': 'text/event-stream' } });
    return new Response('{"error":{"code":"not_found","message":"no"}}', { status: 404 });
  };
}

/** What the crawl page does: GET the crawl, then follow its whole log into a model. */
async function watch(frames: string[]) {
  vi.stubGlobal('fetch', serve(frames));
  const api = new DashboardApi(undefined, BASE);
  const model = new CrawlModel(await api.rest.getCrawl(ID), true);
  const states: [ConnectionState, string | undefined][] = [];
  await new Promise<void>((resolve) => {
    followCrawl({
      api,
      crawlId: ID,
      from: '0',
      onEvent: (streamed) => model.apply(streamed),
      onState: (state, detail) => {
        states.push([state, detail]);
        if (state === 'ended') resolve();
      },
    });
  });
  return { model, states };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the dashboard against a newer server', () => {
  it('follows a stream with unknown event types, fields, options and reasons to its end, showing what it knows', async () => {
    const { model, states } = await watch(NEWER_LOG);
    expect(states.at(-1)).toEqual(['ended', undefined]);
    expect(model.status).toBe('completed');
    expect(model.counters).toEqual({ discovered: 3, processed: 1, failed: 1, skipped: 1 });
    expect(model.lastEventId).toBe('1002000-0');
    expect(model.elapsedMs(9_999_999)).toBe(2_000);
    expect(model.rate.get(1000)).toEqual({ stored: 1, other: 1 });
    const log = model.takeLog();
    expect(log.map((entry) => (entry.kind === 'page' ? `${entry.event.type} ${'reason' in entry.event ? entry.event.reason : ''}` : entry.type))).toEqual([
      'started',
      'page ',
      'page_failed tls_handshake',
      'page_skipped duplicate_content',
      'completed',
    ]);
  });

  it('still stops, saying why, on a known event whose known field has the wrong type', async () => {
    const broken = [...NEWER_LOG.slice(0, 3), frame('1000500-0', 'page', { url: 'a', title: 'A', depth: 'one', status: 200, bytes: 10, durationMs: 1 })];
    const { model, states } = await watch(broken);
    expect(states.at(-1)?.[0]).toBe('ended');
    expect(states.at(-1)?.[1]).toContain('stream event 1000500-0 does not match the contract');
    expect(model.counters.discovered).toBe(3);
    expect(model.ended).toBe(false);
  });

  it('resumes after an unknown event without reading it again', async () => {
    const asked: (string | null)[] = [];
    const answers = [
      () => new Response(NEWER_LOG.slice(0, 2).join(''), { headers: { 'content-type': 'text/event-stream' } }),
      () => new Response(null, { status: 204 }),
    ];
    vi.stubGlobal('fetch', async (_input: string, init: RequestInit) => {
      asked.push(new Headers(init.headers).get('last-event-id'));
      return answers.shift()!();
    });
    const api = new DashboardApi(undefined, BASE);
    const seen: string[] = [];
    const feed = await new Promise<{ cursor: string | undefined }>((resolve) => {
      const started = followCrawl({
        api,
        crawlId: ID,
        from: '0',
        onEvent: (streamed) => seen.push(streamed.id),
        onState: (state) => {
          if (state === 'ended') resolve(started);
        },
      });
    });
    expect(seen).toEqual(['1000000-0']);
    expect(asked).toEqual(['0', '1000000-1']);
    expect(feed.cursor).toBe('1000000-1');
  });

  it('the model itself passes over an event of a type it does not know', () => {
    const model = new CrawlModel(CRAWL, false);
    const unknown = { type: 'paused', crawlId: ID, ts: 1_000_100, reason: 'quota' } as unknown as CrawlEvent;
    expect(model.apply({ id: '1000100-0', event: unknown })).toBe(true);
    expect(model.counters).toEqual({ discovered: 1, processed: 0, failed: 0, skipped: 0 });
    expect(model.status).toBe('running');
    expect(model.takeLog()).toEqual([]);
  });
});
