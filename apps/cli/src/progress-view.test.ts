import type { CrawlEvent } from '@crawlstream/client';
import { CrawlTally } from '@crawlstream/client';
import { describe, expect, it } from 'vitest';
import { barLine, FAILURES_SHOWN, ProgressView, summaryLine } from './progress-view.js';

const crawlId = '0b7c6f1e-2a4d-4c8e-9f3a-5d6e7f8a9b0c';
const base = { crawlId, ts: 1_000 };
const counters = (discovered: number, processed: number, failed = 0, skipped = 0) => ({ discovered, processed, failed, skipped });

const events: CrawlEvent[] = [
  { ...base, type: 'started', url: 'http://x/', options: {} as never },
  { ...base, type: 'discovered', urls: ['http://x/'], depth: 0 },
  { ...base, ts: 1_500, type: 'page', url: 'http://x/', title: 'X', depth: 0, status: 200, bytes: 10, durationMs: 5 },
  { ...base, ts: 1_600, type: 'discovered', urls: ['http://x/a', 'http://x/b', 'http://x/c'], depth: 1 },
  { ...base, ts: 2_000, type: 'page_failed', url: 'http://x/a', reason: 'http_5xx', status: 503, message: 'HTTP 503', attempts: 4 },
  { ...base, ts: 2_100, type: 'page_skipped', url: 'http://x/b', reason: 'robots' },
  { ...base, ts: 3_000, type: 'progress', counters: counters(4, 1, 1, 1), pagesPerSecond: 1.5 },
];

class Sink {
  text = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns = 80,
  ) {}
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

describe('CrawlTally', () => {
  it('counts events exactly and takes the counters of snapshot, progress and terminal events', () => {
    const tally = new CrawlTally();
    for (const event of events.slice(0, 6)) tally.apply(event);
    expect(tally.counters).toEqual(counters(4, 1, 1, 1));
    expect(tally.settled).toBe(3);
    tally.apply(events[6]!);
    expect(tally.pagesPerSecond(3_000)).toBe(1.5);
    tally.apply({ ...base, ts: 5_000, type: 'completed', counters: counters(4, 2, 1, 1), durationMs: 4_000 });
    expect(tally.status).toBe('completed');
    expect(tally.elapsedMs(99_999)).toBe(4_000);
    expect(tally.pagesPerSecond(99_999)).toBe(1);
    expect(summaryLine(tally, 99_999)).toBe('completed: 2 pages stored, 1 failed, 1 skipped (of 4 discovered) in 0:04');

    const resumed = new CrawlTally();
    resumed.apply({
      ...base,
      type: 'snapshot',
      id: crawlId,
      url: 'http://x/',
      status: 'failed',
      options: {} as never,
      counters: counters(9, 5, 4),
      createdAt: '2026-11-23T10:00:00.000Z',
      startedAt: '2026-11-23T10:00:01.000Z',
      finishedAt: '2026-11-23T10:01:02.000Z',
      error: { code: 'internal', message: 'boom' },
    });
    expect(summaryLine(resumed, 0)).toBe('failed: boom (internal); 5 pages stored, 4 failed, 0 skipped (of 9 discovered) in 1:01');
  });
});

describe('ProgressView', () => {
  it('on a terminal, redraws one line in place and prints failures above it', () => {
    const sink = new Sink(true, 100);
    let now = 1_000;
    const view = new ProgressView(sink, () => now, { live: false });
    for (const event of events) {
      now += 200;
      view.update(event);
    }
    view.finish();
    const frames = sink.text.split('\r\x1b[2K').filter(Boolean);
    expect(frames.some((f) => f.startsWith('page failed: http://x/a (http_5xx 503: HTTP 503)\n'))).toBe(true);
    expect(frames.at(-1)).toBe('[##############################..........] 3/4 pages | 1.5 pages/s | 0:01 | 1 failed | 1 skipped\n');
    expect(sink.text).not.toContain('progress:');
  });

  it('fits the line to narrow terminals', () => {
    const tally = new CrawlTally();
    for (const event of events) tally.apply(event);
    expect(barLine(tally, 3_000, 200)).toMatch(/^\[#{30}\.{10}\] /);
    expect(barLine(tally, 3_000, 50)).toBe('3/4 pages | 1.5 pages/s | 0:02 | 1 failed | 1 ski');
  });

  it('elsewhere, prints a plain line per progress event, timed by the event', () => {
    const sink = new Sink(false);
    const view = new ProgressView(sink, () => 999_999);
    for (const event of events) view.update(event);
    view.update({ ...base, ts: 4_000, type: 'cancelled', counters: counters(4, 1, 1, 1) });
    view.finish();
    // The SDK's one elapsed rule: a cancelled (or failed) crawl's time ends at its terminal event,
    // not when the summary is printed (the CLI's own tally used to run the clock on to `now`).
    expect(sink.text).toBe(
      'page failed: http://x/a (http_5xx 503: HTTP 503)\n' +
        'progress: 3/4 pages (1 stored, 1 failed, 1 skipped), 1.5 pages/s, 0:02 elapsed\n' +
        'cancelled: 1 pages stored, 1 failed, 1 skipped (of 4 discovered) in 0:03\n',
    );
  });

  it('names the first failures and then says where the rest are', () => {
    const sink = new Sink(false);
    const view = new ProgressView(sink);
    for (let i = 0; i < FAILURES_SHOWN + 5; i++) {
      view.update({ ...base, type: 'page_failed', url: `http://x/${i}`, reason: 'timeout', message: 'slow', attempts: 4 });
    }
    const lines = sink.text.trim().split('\n');
    expect(lines).toHaveLength(FAILURES_SHOWN + 1);
    expect(lines.at(-1)).toBe(`more pages failed; list them all with: crawlstream errors ${crawlId}`);
  });
});
