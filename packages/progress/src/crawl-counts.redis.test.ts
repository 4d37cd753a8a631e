import { describe, expect, it } from 'vitest';
import { countCrawlsByStatus, moveCrawlStatus, notePagesProcessed, pagesPerSecond, RATE_WINDOW_SECONDS } from './crawl-counts.js';
import { options, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

type TestStore = ReturnType<typeof testStore>;
const counts = (t: TestStore, keepSeconds = 3600, now?: number) =>
  countCrawlsByStatus(t.connection, t.redis.prefix, keepSeconds, now).then((m) => Object.fromEntries(m));

describe('crawl counts kept as crawls change', () => {
  it('a crawl is running from its creation, then counted under its terminal status once', async () => {
    const t = testStore();
    const { store, connection } = t;
    const prefix = t.redis.prefix;
    const a = (await store.create({ url: START, options: options() })).crawl.id;
    const b = (await store.create({ url: START, options: options() })).crawl.id;
    const c = (await store.create({ url: START, options: options() })).crawl.id;
    expect(await counts(t)).toEqual({ queued: 0, running: 3, completed: 0, failed: 0, cancelled: 0 });
    await store.cancel(a);
    await store.fail(b, { code: 'internal', message: 'x' });
    await store.settle(c, { kind: 'skipped', url: START, reason: 'not_html' });
    expect(await counts(t)).toEqual({ queued: 0, running: 0, completed: 1, failed: 1, cancelled: 1 });
    // Moving again changes nothing (the sweep may repeat it): the first score stays.
    const score = await connection.zscore(`${prefix}:bystatus:{${prefix}}:cancelled`, a);
    await store.forgetActive(a);
    await store.cancel(a);
    expect(await counts(t)).toEqual({ queued: 0, running: 0, completed: 1, failed: 1, cancelled: 1 });
    expect(await connection.zscore(`${prefix}:bystatus:{${prefix}}:cancelled`, a)).toBe(score);
  });

  it('a crash between the terminal transition and the move converges at the next sweep', async () => {
    const t = testStore();
    const { store, connection } = t;
    const prefix = t.redis.prefix;
    const { crawl } = await store.create({ url: START, options: options() });
    await store.cancel(crawl.id);
    // As if the process died right after the cancel script: still `running` here, still active.
    await moveCrawlStatus(connection, prefix, crawl.id, 'running', Date.now());
    await connection.zadd(`${prefix}:active`, Date.now(), crawl.id);
    expect((await counts(t)).running).toBe(1);
    await store.sweep({ staleMs: 0, maxGenerations: 3 });
    expect(await counts(t)).toMatchObject({ running: 0, cancelled: 1 });
    expect(await store.activeIds()).not.toContain(crawl.id);
  });

  it('ended crawls count while kept: at the TTL still, one ms past it no more', async () => {
    const t = testStore();
    const { connection } = t;
    const prefix = t.redis.prefix;
    const now = 1_800_000_000_000;
    const keep = 3600;
    await moveCrawlStatus(connection, prefix, 'at-limit', 'completed', now - keep * 1000);
    await moveCrawlStatus(connection, prefix, 'past-limit', 'completed', now - keep * 1000 - 1);
    await moveCrawlStatus(connection, prefix, 'old-but-running', 'running', now - 10 * keep * 1000);
    expect(await counts(t, keep, now)).toMatchObject({ completed: 1, running: 1 });
  });

  it('pages per second: the last 60 s of processed pages, the same however often it is read', async () => {
    const t = testStore();
    const { connection } = t;
    const prefix = t.redis.prefix;
    const now = 1_800_000_030_500;
    await notePagesProcessed(connection, prefix, 30, now - 10_000);
    await notePagesProcessed(connection, prefix, 30, now);
    // The first second of the window, and the one just before it.
    await notePagesProcessed(connection, prefix, 6, now - (RATE_WINDOW_SECONDS - 1) * 1000);
    await notePagesProcessed(connection, prefix, 1000, now - RATE_WINDOW_SECONDS * 1000);
    expect(await pagesPerSecond(connection, prefix, now)).toBe(66 / 60);
    expect(await pagesPerSecond(connection, prefix, now)).toBe(66 / 60);
    // A window that starts on a minute (the whole of one minute): the second before it is not counted.
    const minuteEnd = 1_860_000_059_999;
    await notePagesProcessed(connection, prefix, 7, minuteEnd - 59_000);
    await notePagesProcessed(connection, prefix, 500, minuteEnd - 60_000);
    expect(await pagesPerSecond(connection, prefix, minuteEnd)).toBe(7 / 60);
  });

  it('only processed pages that were settled count, once', async () => {
    const t = testStore();
    const { store, connection } = t;
    const prefix = t.redis.prefix;
    const { crawl } = await store.create({ url: START, options: options() });
    const links = [`${START}a`, `${START}b`];
    const page = (url: string) =>
      ({ kind: 'processed', url, title: 't', depth: 1, status: 200, bytes: 1, durationMs: 1, markdown: 'm' }) as const;
    await store.settle(crawl.id, { ...page(START), depth: 0, links });
    await store.settle(crawl.id, page(links[0]!));
    await store.settle(crawl.id, page(links[0]!)); // a duplicate
    await store.settle(crawl.id, { kind: 'skipped', url: links[1]!, reason: 'not_html' });
    // Written once a second by the process, in one command however many settle calls there were.
    await expect.poll(() => pagesPerSecond(connection, prefix), { timeout: 5000 }).toBe(2 / 60);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await pagesPerSecond(connection, prefix)).toBe(2 / 60);
  });
});
