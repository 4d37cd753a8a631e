import { describe, expect, it } from 'vitest';
import { countCrawlsByStatus, moveCrawlStatus, notePagesProcessed, pagesPerSecond, RATE_WINDOW_SECONDS } from './crawl-counts.js';
import { sweep } from './sweep.js';
import { options, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

const counts = (store: ReturnType<typeof testStore>['store'], keepSeconds = 3600, now?: number) =>
  countCrawlsByStatus(store.redis, store.prefix, keepSeconds, now).then((m) => Object.fromEntries(m));

describe('crawl counts kept as crawls change', () => {
  it('a crawl is running from its creation, then counted under its terminal status once', async () => {
    const { store } = testStore();
    const a = (await store.create({ url: START, options: options() })).crawl.id;
    const b = (await store.create({ url: START, options: options() })).crawl.id;
    const c = (await store.create({ url: START, options: options() })).crawl.id;
    expect(await counts(store)).toEqual({ queued: 0, running: 3, completed: 0, failed: 0, cancelled: 0 });
    await store.cancel(a);
    await store.fail(b, { code: 'internal', message: 'x' });
    await store.settle(c, { kind: 'skipped', url: START, reason: 'not_html' });
    expect(await counts(store)).toEqual({ queued: 0, running: 0, completed: 1, failed: 1, cancelled: 1 });
    // Moving again changes nothing (the sweep may repeat it): the first score stays.
    const score = await store.redis.zscore(`${store.prefix}:bystatus:{${store.prefix}}:cancelled`, a);
    await store.forgetActive(a);
    await store.cancel(a);
    expect(await counts(store)).toEqual({ queued: 0, running: 0, completed: 1, failed: 1, cancelled: 1 });
    expect(await store.redis.zscore(`${store.prefix}:bystatus:{${store.prefix}}:cancelled`, a)).toBe(score);
  });

  it('a crash between the terminal transition and the move converges at the next sweep', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    await store.cancel(crawl.id);
    // As if the process died right after the cancel script: still `running` here, still active.
    await moveCrawlStatus(store.redis, store.prefix, crawl.id, 'running', Date.now());
    await store.redis.zadd(`${store.prefix}:active`, Date.now(), crawl.id);
    expect((await counts(store)).running).toBe(1);
    await sweep({ store, jobAlive: async () => true, enqueue: async () => {}, staleMs: 0, maxGenerations: 3 });
    expect(await counts(store)).toMatchObject({ running: 0, cancelled: 1 });
    expect(await store.activeIds()).not.toContain(crawl.id);
  });

  it('ended crawls count while kept: at the TTL still, one ms past it no more', async () => {
    const { store } = testStore();
    const now = 1_800_000_000_000;
    const keep = 3600;
    await moveCrawlStatus(store.redis, store.prefix, 'at-limit', 'completed', now - keep * 1000);
    await moveCrawlStatus(store.redis, store.prefix, 'past-limit', 'completed', now - keep * 1000 - 1);
    await moveCrawlStatus(store.redis, store.prefix, 'old-but-running', 'running', now - 10 * keep * 1000);
    expect(await counts(store, keep, now)).toMatchObject({ completed: 1, running: 1 });
  });

  it('pages per second: the last 60 s of processed pages, the same however often it is read', async () => {
    const { store } = testStore();
    const now = 1_800_000_030_500;
    await notePagesProcessed(store.redis, store.prefix, 30, now - 10_000);
    await notePagesProcessed(store.redis, store.prefix, 30, now);
    // The first second of the window, and the one just before it.
    await notePagesProcessed(store.redis, store.prefix, 6, now - (RATE_WINDOW_SECONDS - 1) * 1000);
    await notePagesProcessed(store.redis, store.prefix, 1000, now - RATE_WINDOW_SECONDS * 1000);
    expect(await pagesPerSecond(store.redis, store.prefix, now)).toBe(66 / 60);
    expect(await pagesPerSecond(store.redis, store.prefix, now)).toBe(66 / 60);
    // A window that starts on a minute (the whole of one minute): the second before it is not counted.
    const minuteEnd = 1_860_000_059_999;
    await notePagesProcessed(store.redis, store.prefix, 7, minuteEnd - 59_000);
    await notePagesProcessed(store.redis, store.prefix, 500, minuteEnd - 60_000);
    expect(await pagesPerSecond(store.redis, store.prefix, minuteEnd)).toBe(7 / 60);
  });

  it('only processed pages that were settled count, once', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const links = [`${START}a`, `${START}b`];
    const page = (url: string) =>
      ({ kind: 'processed', url, title: 't', depth: 1, status: 200, bytes: 1, durationMs: 1, markdown: 'm' }) as const;
    await store.settle(crawl.id, { ...page(START), depth: 0, links });
    await store.settle(crawl.id, page(links[0]!));
    await store.settle(crawl.id, page(links[0]!)); // a duplicate
    await store.settle(crawl.id, { kind: 'skipped', url: links[1]!, reason: 'not_html' });
    expect(await pagesPerSecond(store.redis, store.prefix)).toBe(2 / 60);
  });
});
