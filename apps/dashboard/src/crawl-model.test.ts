import type { Crawl, CrawlEvent, StreamedEvent } from '@crawlstream/client';
import { crawlOptions } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { CrawlModel } from './crawl-model.js';

const crawlId = '3b241101-e2bb-4255-8caf-4136c566a962';
const base = { crawlId };
const options = crawlOptions.parse({});

function crawl(overrides: Partial<Crawl> = {}): Crawl {
  return {
    id: crawlId,
    url: 'https://docs.example.com/',
    status: 'running',
    options,
    counters: { discovered: 10, processed: 4, failed: 0, skipped: 0 },
    createdAt: new Date(1_000_000).toISOString(),
    startedAt: new Date(1_000_000).toISOString(),
    ...overrides,
  };
}

function ev(id: string, event: CrawlEvent): StreamedEvent {
  return { id, event };
}

const page = (ms: number, url: string): CrawlEvent => ({ type: 'page', ...base, ts: ms, url, title: url, depth: 1, status: 200, bytes: 100, durationMs: 5 });

describe('CrawlModel', () => {
  it('counts the events of a log replayed from the start, not the counters of GET on top', () => {
    const model = new CrawlModel(crawl(), true);
    expect(model.counters).toEqual({ discovered: 0, processed: 0, failed: 0, skipped: 0 });
    model.apply(ev('1000-0', { type: 'started', ...base, ts: 1000, url: 'https://docs.example.com/', options }));
    model.apply(ev('1000-1', { type: 'discovered', ...base, ts: 1000, urls: ['a', 'b', 'c'], depth: 0 }));
    model.apply(ev('1500-0', page(1500, 'a')));
    model.apply(ev('1600-0', { type: 'page_failed', ...base, ts: 1600, url: 'b', reason: 'http_4xx', status: 404, message: 'Not Found', attempts: 1 }));
    model.apply(ev('2100-0', { type: 'page_skipped', ...base, ts: 2100, url: 'c', reason: 'not_html' }));
    expect(model.counters).toEqual({ discovered: 3, processed: 1, failed: 1, skipped: 1 });
    expect(model.status).toBe('running');
    expect(model.rate.get(1)).toEqual({ stored: 1, other: 1 });
    expect(model.rate.get(2)).toEqual({ stored: 0, other: 1 });
    expect(model.takeLog().map((entry) => `${entry.id} ${entry.kind}`)).toEqual(['1000-0 note', '1500-0 page', '1600-0 page', '2100-0 page']);
    expect(model.takeLog()).toEqual([]);
  });

  it('applies an event id once, however often it is delivered', () => {
    const model = new CrawlModel(crawl(), true);
    expect(model.apply(ev('1500-0', page(1500, 'a')))).toBe(true);
    expect(model.apply(ev('1500-0', page(1500, 'a')))).toBe(false);
    expect(model.apply(ev('1500-1', page(1500, 'b')))).toBe(true);
    expect(model.counters.processed).toBe(2);
    expect(model.takeLog()).toHaveLength(2);
    expect(model.lastEventId).toBe('1500-1');
  });

  it('takes stored counters from snapshot and progress, and adds the page events after them', () => {
    const model = new CrawlModel(crawl());
    expect(model.counters.processed).toBe(4);
    model.apply(ev('3000-0', { ...crawl({ counters: { discovered: 20, processed: 8, failed: 1, skipped: 0 } }), type: 'snapshot', crawlId, ts: 3000 }));
    model.apply(ev('3100-0', page(3100, 'x')));
    expect(model.counters).toEqual({ discovered: 20, processed: 9, failed: 1, skipped: 0 });
    model.apply(ev('3200-0', { type: 'progress', ...base, ts: 3200, counters: { discovered: 22, processed: 9, failed: 1, skipped: 0 }, pagesPerSecond: 4.5 }));
    expect(model.counters).toEqual({ discovered: 22, processed: 9, failed: 1, skipped: 0 });
    expect(model.pagesPerSecond(4000)).toBe(4.5);
  });

  it('ends on the terminal event and keeps a finished status through a replay', () => {
    const model = new CrawlModel(crawl({ status: 'completed', finishedAt: new Date(5_000).toISOString() }), true);
    model.apply(ev('1000-0', { type: 'started', ...base, ts: 1000, url: 'https://docs.example.com/', options }));
    expect(model.status).toBe('completed');
    model.apply(ev('4000-0', { type: 'completed', ...base, ts: 4000, counters: { discovered: 1, processed: 1, failed: 0, skipped: 0 }, durationMs: 3000 }));
    expect(model.ended).toBe(true);
    expect(model.takeLog().at(-1)).toMatchObject({ kind: 'note', type: 'completed' });
  });

  it('notes a reset in the log and takes the snapshot that follows it', () => {
    const model = new CrawlModel(crawl(), true);
    model.apply(ev('9000-0', { type: 'reset', ...base, ts: 9000, reason: 'cursor_trimmed' }));
    model.apply(ev('9000-0', { ...crawl({ counters: { discovered: 50, processed: 40, failed: 2, skipped: 1 } }), type: 'snapshot', crawlId, ts: 9000 }));
    expect(model.counters.processed).toBe(40);
    expect(model.takeLog()).toEqual([expect.objectContaining({ kind: 'note', type: 'reset' })]);
  });
});
