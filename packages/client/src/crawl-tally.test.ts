import type { ClientCrawlEvent } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { CrawlTally } from './crawl-tally.js';
import { CRAWL_ID, crawlObject } from './test-support/fake-api.js';

const at = (ts: number) => ({ crawlId: CRAWL_ID, ts });
const counters = (discovered: number, processed: number, failed = 0, skipped = 0) => ({ discovered, processed, failed, skipped });
const page = (ts: number): ClientCrawlEvent => ({ ...at(ts), type: 'page', url: `u${ts}`, title: 't', depth: 0, status: 200, bytes: 1, durationMs: 1 });
const iso = (ms: number) => new Date(ms).toISOString();

describe('CrawlTally', () => {
  it('counts events exactly between the stored counters of snapshot, progress and terminal events', () => {
    const tally = new CrawlTally();
    tally.apply({ ...at(1_000), type: 'started', url: 'http://x/', options: crawlObject().options });
    tally.apply({ ...at(1_000), type: 'discovered', urls: ['a', 'b', 'c', 'd'], depth: 0 });
    tally.apply(page(1_500));
    tally.apply({ ...at(1_600), type: 'page_failed', url: 'b', reason: 'http_5xx', message: 'HTTP 503', attempts: 4 });
    tally.apply({ ...at(1_700), type: 'page_skipped', url: 'c', reason: 'robots' });
    expect(tally.counters).toEqual(counters(4, 1, 1, 1));
    expect(tally.settled).toBe(3);
    expect(tally.status).toBe('running');
    tally.apply({ ...at(2_000), type: 'progress', counters: counters(9, 2, 1, 1), pagesPerSecond: 3 });
    expect(tally.counters).toEqual(counters(9, 2, 1, 1));
    tally.apply(page(2_100));
    expect(tally.counters.processed).toBe(3);
    tally.apply({ ...at(3_000), type: 'completed', counters: counters(9, 7, 1, 1), durationMs: 2_000 });
    expect(tally.counters).toEqual(counters(9, 7, 1, 1));
    expect(tally.ended).toBe(true);
  });

  it('elapsed: from the start to the terminal event, or to now while it runs', () => {
    const tally = new CrawlTally();
    expect(tally.elapsedMs(5_000)).toBeUndefined();
    tally.apply({ ...at(1_000), type: 'started', url: 'http://x/', options: crawlObject().options });
    expect(tally.elapsedMs(4_000)).toBe(3_000);
    expect(tally.elapsedMs(500)).toBe(0);
    // Every terminal event ends the clock, not only `completed`.
    tally.apply({ ...at(6_000), type: 'cancelled', counters: counters(1, 0) });
    expect(tally.elapsedMs(99_000)).toBe(5_000);
  });

  it('elapsed: the crawl object\'s startedAt wins over the started event, which wins over createdAt', () => {
    const queued = new CrawlTally(crawlObject({ status: 'queued', createdAt: iso(1_000) }));
    expect(queued.startedAt).toBe(1_000);
    queued.apply({ ...at(1_200), type: 'started', url: 'http://x/', options: crawlObject().options });
    expect(queued.startedAt).toBe(1_200);

    const started = new CrawlTally(crawlObject({ createdAt: iso(1_000), startedAt: iso(1_100) }));
    started.apply({ ...at(1_200), type: 'started', url: 'http://x/', options: crawlObject().options });
    expect(started.startedAt).toBe(1_100);

    const finished = new CrawlTally(crawlObject({ status: 'failed', createdAt: iso(1_000), finishedAt: iso(61_000), error: { code: 'internal', message: 'boom' } }));
    expect(finished.elapsedMs(99_999_999)).toBe(60_000);
    expect(finished.error).toEqual({ code: 'internal', message: 'boom' });
  });

  it('rate: the server\'s while it runs; settled over elapsed before the first progress event and once ended', () => {
    const tally = new CrawlTally();
    tally.apply({ ...at(1_000), type: 'started', url: 'http://x/', options: crawlObject().options });
    tally.apply(page(1_500));
    tally.apply(page(1_600));
    expect(tally.pagesPerSecond(3_000)).toBe(1);
    tally.apply({ ...at(3_000), type: 'progress', counters: counters(5, 2), pagesPerSecond: 7.5 });
    expect(tally.pagesPerSecond(9_000)).toBe(7.5);
    // Failed and cancelled crawls too: a finished crawl's rate is its average, not its last burst.
    tally.apply({ ...at(5_000), type: 'failed', error: { code: 'internal', message: 'boom' }, counters: counters(5, 4) });
    expect(tally.pagesPerSecond(9_000)).toBe(1);
    expect(tally.error).toEqual({ code: 'internal', message: 'boom' });
    expect(new CrawlTally().pagesPerSecond(1_000)).toBe(0);
  });

  it('status: a replayed log does not reopen an ended crawl', () => {
    const tally = new CrawlTally(crawlObject({ status: 'completed', finishedAt: iso(5_000) }), false);
    expect(tally.counters).toEqual(counters(0, 0));
    tally.apply({ ...at(1_000), type: 'started', url: 'http://x/', options: crawlObject().options });
    tally.apply(page(1_500));
    expect(tally.status).toBe('completed');
    expect(tally.counters.processed).toBe(1);
  });

  it('a newer server: unknown event types change nothing, unknown reasons count, extra counters are not tallied', () => {
    const tally = new CrawlTally(crawlObject({ counters: counters(3, 1) }));
    tally.apply({ ...at(2_000), type: 'paused', reason: 'quota' } as unknown as ClientCrawlEvent);
    expect(tally.counters).toEqual(counters(3, 1));
    expect(tally.status).toBe('running');
    tally.apply({ ...at(2_100), type: 'page_failed', url: 'a', reason: 'tls_handshake', message: 'bad certificate', attempts: 1 });
    tally.apply({ ...at(2_200), type: 'page_skipped', url: 'b', reason: 'duplicate_content' });
    expect(tally.counters).toEqual(counters(3, 1, 1, 1));
    tally.apply({ ...at(2_300), type: 'progress', counters: { ...counters(4, 2, 1, 1), queued: 1 }, pagesPerSecond: 1 });
    expect(tally.counters).toEqual(counters(4, 2, 1, 1));
  });
});
