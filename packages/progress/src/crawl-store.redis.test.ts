import { crawl as crawlSchema, isTerminalEvent } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { parseFrame } from './frames.js';
import { allEvents, ofType, options, testStore, ttlOfAllKeys } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
const page = (url: string, links: string[] = [], depth = 0) => ({
  kind: 'processed' as const,
  url,
  title: `T ${url}`,
  depth,
  status: 200,
  bytes: 100,
  durationMs: 5,
  markdown: `# ${url}`,
  links,
});

describe('creating a crawl', () => {
  it('stores the crawl, appends started and discovered, and dispatches the start URL in one step', async () => {
    const { store } = testStore();
    const { crawl, dispatched } = await store.create({ url: START, options: options() });
    expect(crawlSchema.parse(crawl)).toEqual(crawl);
    expect(crawl).toMatchObject({
      url: START,
      status: 'running',
      counters: { discovered: 1, processed: 0, failed: 0, skipped: 0 },
    });
    expect(dispatched).toEqual([{ url: START, depth: 0, jobId: expect.stringContaining(crawl.id) }]);
    expect(dispatched[0]!.jobId).not.toContain(':');
    const events = await allEvents(store, crawl.id);
    expect(events.map((e) => e.type)).toEqual(['started', 'discovered']);
    expect(parseFrame(events[0]!)).toMatchObject({ type: 'started', crawlId: crawl.id, url: START });
    expect(await store.get(crawl.id)).toEqual(crawl);
  });
});

describe('settling', () => {
  it('counts a URL once and appends one page event when 100 settles race over 10 connections', async () => {
    const { store, another } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const other = `${START}other`;
    await store.claim(crawl.id, 'sitemap', 1, [other]); // keeps the crawl from completing
    const stores = Array.from({ length: 10 }, another);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => stores[i % 10]!.settle(crawl.id, page(START))),
    );
    expect(results.filter((r) => r.result === 'settled')).toHaveLength(1);
    expect(results.filter((r) => r.result === 'duplicate')).toHaveLength(99);
    expect(await store.counters(crawl.id)).toEqual({ discovered: 2, processed: 1, failed: 0, skipped: 0 });
    expect(ofType(await allEvents(store, crawl.id), 'page')).toHaveLength(1);
    expect((await store.pages(crawl.id, 0, 10)).items.map((p) => p.url)).toEqual([START]);
  });

  it('rejects a URL that was never accepted', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    expect(await store.settle(crawl.id, page('http://127.0.0.1:9/elsewhere'))).toEqual({ result: 'unknown' });
    expect(await store.settle('00000000-0000-4000-8000-000000000000', page(START))).toEqual({
      result: 'missing',
    });
  });

  it('completes when frontier and in-flight are empty, with discovered = processed + failed + skipped', async () => {
    const { store, redis, connection } = testStore({ ttlSeconds: 600 });
    const { crawl } = await store.create({ url: START, options: options({ concurrency: 2 }) });
    const a = `${START}a`;
    const b = `${START}b`;
    const c = `${START}c`;
    const first = await store.settle(crawl.id, page(START, [a, b, c]));
    expect(first).toMatchObject({ result: 'settled', completed: false });
    expect(first.result === 'settled' && first.dispatched.map((d) => d.url)).toEqual([a, b]);
    const second = await store.settle(crawl.id, { kind: 'failed', url: a, reason: 'http_5xx', message: 'HTTP 503', status: 503, attempts: 3 });
    expect(second.result === 'settled' && second.dispatched.map((d) => d.url)).toEqual([c]);
    await store.settle(crawl.id, { kind: 'skipped', url: b, reason: 'not_html' });
    const last = await store.settle(crawl.id, page(c, [], 1));
    expect(last).toMatchObject({ result: 'settled', completed: true, counters: { discovered: 4, processed: 2, failed: 1, skipped: 1 } });

    const done = await store.get(crawl.id);
    expect(done).toMatchObject({ status: 'completed', counters: { discovered: 4, processed: 2, failed: 1, skipped: 1 } });
    expect(done!.finishedAt).toBeDefined();
    const events = await allEvents(store, crawl.id);
    const terminal = events.filter((e) => isTerminalEvent(e.type));
    expect(terminal.map((e) => e.type)).toEqual(['completed']);
    expect(events[events.length - 1]!.type).toBe('completed');
    const progress = ofType(events, 'progress');
    expect(progress[progress.length - 1]!.counters).toEqual(done!.counters);
    expect(await store.errors(crawl.id)).toEqual([
      { url: a, kind: 'failed', reason: 'http_5xx', message: 'HTTP 503', status: 503 },
      { url: b, kind: 'skipped', reason: 'not_html', message: 'not html' },
    ]);
    const ttls = await ttlOfAllKeys(connection, store, crawl.id);
    expect(ttls.length).toBeGreaterThanOrEqual(8);
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(500);
    // Nothing counts after the end.
    expect(await store.settle(crawl.id, page(a))).toEqual({ result: 'finished', status: 'completed' });
    expect(redis.prefix).toBeTruthy();
  });
});

describe('claiming', () => {
  it('never accepts more than maxPages, whatever the concurrency', async () => {
    const { store, another } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxPages: 50, maxDepth: 5 }) });
    const stores = Array.from({ length: 8 }, another);
    // 40 parents, each with 30 links overlapping their neighbours'.
    await Promise.all(
      Array.from({ length: 40 }, (_, p) =>
        stores[p % 8]!.claim(
          crawl.id,
          `${START}parent${p}`,
          1,
          Array.from({ length: 30 }, (_, i) => `${START}p${(p * 10 + i) % 200}`),
        ),
      ),
    );
    const counters = await store.counters(crawl.id);
    expect(counters.discovered).toBe(50);
    const discovered = ofType(await allEvents(store, crawl.id), 'discovered').flatMap((e) => e.urls);
    expect(discovered).toHaveLength(50);
    expect(new Set(discovered).size).toBe(50);
  });

  it('refuses links past maxDepth', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxDepth: 1 }) });
    await store.settle(crawl.id, page(START, [`${START}d1`]));
    const deep = await store.settle(crawl.id, page(`${START}d1`, [`${START}d2`], 1));
    expect(deep).toMatchObject({ result: 'settled', completed: true, counters: { discovered: 2, processed: 2 } });
  });

  it('gives a retried parent its own children again and nobody else’s', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxDepth: 5 }) });
    const first = await store.claim(crawl.id, 'parentA', 1, [`${START}x`, `${START}y`]);
    const other = await store.claim(crawl.id, 'parentB', 1, [`${START}y`, `${START}z`]);
    const retry = await store.claim(crawl.id, 'parentA', 1, [`${START}x`, `${START}y`, `${START}z`]);
    expect(first).toMatchObject({ accepted: [`${START}x`, `${START}y`], fresh: true });
    expect(other).toMatchObject({ accepted: [`${START}z`], fresh: true });
    expect(retry).toMatchObject({ accepted: [`${START}x`, `${START}y`], fresh: false, dispatched: [] });
    expect((await store.counters(crawl.id)).discovered).toBe(4);
  });
});

describe('terminal transitions', () => {
  it('exactly one terminal event per crawl when completions and cancels race', async () => {
    const { store, another } = testStore();
    const stores = Array.from({ length: 6 }, another);
    const crawls = await Promise.all(
      Array.from({ length: 30 }, () => store.create({ url: START, options: options() })),
    );
    await Promise.all(
      crawls.flatMap(({ crawl }, i) => [
        stores[i % 6]!.settle(crawl.id, page(START)),
        stores[(i + 1) % 6]!.cancel(crawl.id),
        stores[(i + 2) % 6]!.cancel(crawl.id),
        stores[(i + 3) % 6]!.fail(crawl.id, { code: 'boom', message: 'raced' }),
        stores[(i + 4) % 6]!.settle(crawl.id, page(START)),
      ]),
    );
    const outcomes = new Set<string>();
    for (const { crawl } of crawls) {
      const events = await allEvents(store, crawl.id);
      const terminal = events.filter((e) => isTerminalEvent(e.type));
      expect(terminal).toHaveLength(1);
      expect(events[events.length - 1]).toEqual(terminal[0]);
      const final = await store.get(crawl.id);
      expect(final!.status).toBe(terminal[0]!.type);
      outcomes.add(final!.status);
      // Status never changes after the terminal event.
      await store.cancel(crawl.id);
      await store.fail(crawl.id, { code: 'late', message: 'too late' });
      await store.settle(crawl.id, page(START));
      expect((await store.get(crawl.id))!.status).toBe(final!.status);
      expect(await allEvents(store, crawl.id)).toHaveLength(events.length);
    }
    expect(outcomes.size).toBeGreaterThanOrEqual(1);
  });

  it('cancel is idempotent and reports the finished status; fail records the error', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    expect(await store.cancel(crawl.id)).toEqual({ result: 'done' });
    expect(await store.cancel(crawl.id)).toEqual({ result: 'finished', status: 'cancelled' });
    const other = await store.create({ url: START, options: options() });
    expect(await store.fail(other.crawl.id, { code: 'robots_unreachable', message: 'x' })).toEqual({ result: 'done' });
    expect(await store.get(other.crawl.id)).toMatchObject({ status: 'failed', error: { code: 'robots_unreachable' } });
    const failed = ofType(await allEvents(store, other.crawl.id), 'failed');
    expect(failed[0]).toMatchObject({ error: { code: 'robots_unreachable', message: 'x' }, counters: { discovered: 1 } });
  });
});

describe('politeness and robots across workers', () => {
  it('hands out host slots at least the gap apart, whatever the concurrency', async () => {
    const { store, another } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const stores = Array.from({ length: 5 }, another);
    const slots = (
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => stores[i % 5]!.reserveHostSlot(crawl.id, '127.0.0.1:9', 100)),
      )
    ).map((slot) => slot!);
    const times = slots.map((s) => s.slotAt).sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
    expect(slots.filter((s) => s.waitMs === 0)).toHaveLength(1);
    expect(times[times.length - 1]! - times[0]!).toBeGreaterThanOrEqual(1900);
    // Another host is not held up.
    expect((await store.reserveHostSlot(crawl.id, 'other.test', 100))!.waitMs).toBe(0);
  });

  it('lets one worker fetch a host’s robots.txt and every worker read it', async () => {
    const { store, another } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const locks = await Promise.all(Array.from({ length: 10 }, () => another().lockRobots(crawl.id, 'h', 5_000)));
    expect(locks.filter((lock) => lock === 'locked')).toHaveLength(1);
    expect(locks.filter((lock) => lock === 'busy')).toHaveLength(9);
    expect(await store.robots(crawl.id, 'h')).toBeNull();
    expect(await store.saveRobots(crawl.id, 'h', '{"status":200}')).toBe(true);
    expect(await another().robots(crawl.id, 'h')).toBe('{"status":200}');
    expect(await store.lockRobots(crawl.id, 'h', 5_000)).toBe('stored');
  });
});
