import { crawl as crawlSchema, isTerminalEvent, MAX_START_URLS } from '@crawlstream/shared';
import { scanKeys } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { parseFrame } from './frames.js';
import { Scripts } from './scripts.js';
import { allEvents, ofType, options, page, testStore, ttlOfAllKeys } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

describe('creating a crawl', () => {
  it('stores the crawl, appends started and discovered, and dispatches the start URL in one step', async () => {
    const { store, jobs } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const dispatched = jobs.take();
    expect(crawlSchema.parse(crawl)).toEqual(crawl);
    expect(crawl).toMatchObject({
      url: START,
      status: 'running',
      counters: { discovered: 1, processed: 0, failed: 0, skipped: 0 },
    });
    expect(dispatched).toEqual([{ url: START, depth: 0, jobId: expect.stringContaining(crawl.id) }]);
    expect(dispatched[0]!.jobId).not.toContain(':');
    // The job id is stored with the in-flight record (the sweep reads it there).
    expect(await store.inflight(crawl.id)).toEqual([expect.objectContaining({ url: START, generation: 1, jobId: dispatched[0]!.jobId })]);
    const events = await allEvents(store, crawl.id);
    expect(events.map((e) => e.type)).toEqual(['started', 'discovered']);
    expect(parseFrame(events[0]!)).toMatchObject({ type: 'started', crawlId: crawl.id, url: START });
    expect(await store.get(crawl.id)).toEqual(crawl);
  });

  it('accepts every start URL (url, then options.urls) at depth 0 and dispatches them, in the same one step', async () => {
    const { store, jobs } = testStore();
    const urls = Array.from({ length: MAX_START_URLS }, (_, i) => `http://127.0.0.1:9/s${i}/`);
    const { crawl } = await store.create({ url: START, options: options({ urls, maxPages: 500, concurrency: 256 }) });
    const starts = [START, ...urls];
    expect(crawl.options.urls).toEqual(urls);
    expect(crawl.counters).toEqual({ discovered: starts.length, processed: 0, failed: 0, skipped: 0 });
    const dispatched = jobs.take();
    expect(dispatched.map((job) => job.url)).toEqual(starts);
    expect(dispatched.every((job) => job.depth === 0)).toBe(true);
    expect((await store.inflight(crawl.id)).map((entry) => entry.url).sort()).toEqual([...starts].sort());
    const events = await allEvents(store, crawl.id);
    expect(ofType(events, 'started')[0]!.options.urls).toEqual(urls);
    expect(ofType(events, 'discovered')).toEqual([expect.objectContaining({ urls: starts, depth: 0 })]);

    // Past `concurrency`, the rest wait in the frontier at depth 0 and go out as slots free.
    const { store: other, jobs: otherJobs } = testStore();
    const small = await other.create({ url: START, options: options({ urls: urls.slice(0, 3), concurrency: 2 }) });
    expect(otherJobs.urls()).toEqual([START, urls[0]]);
    await other.settle(small.crawl.id, page(START));
    expect(otherJobs.take()).toEqual([expect.objectContaining({ url: urls[1], depth: 0 })]);
  });

  it('keeps the first start URLs when maxPages is smaller than their number', async () => {
    const { store, jobs } = testStore();
    const urls = ['http://127.0.0.1:9/a/', 'http://127.0.0.1:9/b/', 'http://127.0.0.1:9/c/', 'http://127.0.0.1:9/d/'];
    const { crawl } = await store.create({ url: START, options: options({ urls, maxPages: 3 }) });
    expect(jobs.urls()).toEqual([START, urls[0], urls[1]]);
    expect(crawl.counters.discovered).toBe(3);
    expect(ofType(await allEvents(store, crawl.id), 'discovered')).toEqual([expect.objectContaining({ urls: [START, urls[0], urls[1]], depth: 0 })]);
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
    const { store, redis, connection, jobs } = testStore({ ttlSeconds: 600 });
    const { crawl } = await store.create({ url: START, options: options({ concurrency: 2 }) });
    expect(jobs.urls()).toEqual([START]);
    const a = `${START}a`;
    const b = `${START}b`;
    const c = `${START}c`;
    const first = await store.settle(crawl.id, page(START, [a, b, c]));
    expect(first).toMatchObject({ result: 'settled', completed: false });
    expect(jobs.urls()).toEqual([a, b]);
    const second = await store.settle(crawl.id, { kind: 'failed', url: a, reason: 'http_5xx', message: 'HTTP 503', status: 503, attempts: 3 });
    expect(second).toMatchObject({ result: 'settled', completed: false });
    expect(jobs.urls()).toEqual([c]);
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
    const ttls = await ttlOfAllKeys(connection, redis.prefix, crawl.id);
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
    const { store, jobs } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxDepth: 5 }) });
    const first = await store.claim(crawl.id, 'parentA', 1, [`${START}x`, `${START}y`]);
    const other = await store.claim(crawl.id, 'parentB', 1, [`${START}y`, `${START}z`]);
    expect(jobs.urls()).toEqual([START, `${START}x`, `${START}y`, `${START}z`]);
    const retry = await store.claim(crawl.id, 'parentA', 1, [`${START}x`, `${START}y`, `${START}z`]);
    expect(first).toMatchObject({ accepted: [`${START}x`, `${START}y`], fresh: true });
    expect(other).toMatchObject({ accepted: [`${START}z`], fresh: true });
    expect(retry).toMatchObject({ accepted: [`${START}x`, `${START}y`], fresh: false });
    expect(jobs.take()).toEqual([]);
    expect((await store.counters(crawl.id)).discovered).toBe(4);
  });
});

describe('terminal transitions', () => {
  // The race of settles, cancels and fails over many connections: terminal-race.redis.test.ts.
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

  it('hands the robots.txt lock to another worker once it expires (its holder died)', async () => {
    const { store, another } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    expect(await store.lockRobots(crawl.id, 'h', 1)).toBe('locked');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await another().lockRobots(crawl.id, 'h', 60_000)).toBe('locked');
    expect(await store.lockRobots(crawl.id, 'h', 60_000)).toBe('busy');
  });
});

describe('redirects', () => {
  const target = `${START}target`;
  const redirected = (url: string, links: string[] = [], depth = 1) => ({ ...page(url, links, depth), finalUrl: target });

  it('stores a redirected page once when it is settled twice, as a retry would, and claims its target', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const a = `${START}a`;
    await store.claim(crawl.id, 'sitemap', 1, [a, `${START}keep`]);
    expect(await store.settle(crawl.id, redirected(a))).toMatchObject({ result: 'settled' });
    expect(await store.settle(crawl.id, redirected(a))).toEqual({ result: 'duplicate' });
    expect((await store.pages(crawl.id, 0, 10)).items.map((p) => p.url)).toEqual([a]);
    expect(await store.errors(crawl.id)).toEqual([]);
    expect(await store.counters(crawl.id)).toMatchObject({ processed: 1, skipped: 0 });
    // The target is known now: a link to it is not claimed again.
    await store.settle(crawl.id, page(START, [target]));
    expect((await store.counters(crawl.id)).discovered).toBe(3);
  });

  it('stores one of two pages that redirect to one target and settles the other as redirect_known', async () => {
    const { store, another } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const [a, b] = [`${START}a`, `${START}b`];
    await store.claim(crawl.id, 'sitemap', 1, [a, b, `${START}keep`]);
    const results = await Promise.all([store.settle(crawl.id, redirected(a)), another().settle(crawl.id, redirected(b))]);
    expect(results.map((r) => r.result)).toEqual(['settled', 'settled']);
    const stored = (await store.pages(crawl.id, 0, 10)).items.map((p) => p.url);
    expect(stored).toHaveLength(1);
    const other = stored[0] === a ? b : a;
    expect(await store.errors(crawl.id)).toEqual([
      { url: other, kind: 'skipped', reason: 'redirect_known', message: `redirects to ${target}, which this crawl already has` },
    ]);
    expect(ofType(await allEvents(store, crawl.id), 'page_skipped')).toMatchObject([{ url: other, reason: 'redirect_known' }]);
    expect(await store.counters(crawl.id)).toMatchObject({ discovered: 4, processed: 1, skipped: 1 });
  });

  it('settles a page that redirects onto a URL the crawl already has as redirect_known, claiming none of its links', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const a = `${START}a`;
    await store.claim(crawl.id, 'sitemap', 1, [a, target]);
    // Enough links for several chunks: none is claimed.
    const links = Array.from({ length: 450 }, (_, i) => `${START}from-a/${i}`);
    expect(await store.settle(crawl.id, redirected(a, links))).toMatchObject({
      result: 'settled',
      counters: { discovered: 3, processed: 0, skipped: 1 },
    });
    expect(await store.errors(crawl.id)).toMatchObject([{ url: a, reason: 'redirect_known' }]);
    expect(await store.pages(crawl.id, 0, 10)).toEqual({ items: [], next: null });
  });

  it('stores a redirected page with thousands of links, one of them its own target', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxPages: 10_000 }) });
    const a = `${START}a`;
    await store.claim(crawl.id, 'sitemap', 1, [a]);
    const links = [target, ...Array.from({ length: 2_500 }, (_, i) => `${START}from-a/${i}`), target];
    expect(await store.settle(crawl.id, redirected(a, links))).toMatchObject({
      result: 'settled',
      counters: { discovered: 2 + 2_500, processed: 1, skipped: 0 },
    });
    const discovered = ofType(await allEvents(store, crawl.id), 'discovered').flatMap((e) => e.urls);
    expect(discovered).not.toContain(target);
  });
});

describe('a page’s links in chunks', () => {
  it('loses nothing and claims nothing twice when the page is retried after a crash between its chunks and its settle', async () => {
    const { store, connection, redis } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxPages: 10_000 }) });
    const links = Array.from({ length: 1_000 }, (_, i) => `${START}c/${i}`);
    // The first attempt claimed its first chunk, then died before the settle.
    await new Scripts(connection, redis.prefix).claimLinks(crawl.id, { url: START, finalUrl: '', childDepth: 1, links: links.slice(0, 100) });
    expect((await store.counters(crawl.id)).discovered).toBe(101);
    expect(await store.settle(crawl.id, page(START, links))).toMatchObject({
      result: 'settled',
      counters: { discovered: 1_001, processed: 1 },
    });
    const discovered = ofType(await allEvents(store, crawl.id), 'discovered').flatMap((e) => e.urls);
    expect(discovered).toHaveLength(1_001);
    expect(new Set(discovered)).toEqual(new Set([START, ...links]));
  });

  it('claims no links of a page that was settled already', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: options({ maxPages: 10_000 }) });
    await store.claim(crawl.id, 'sitemap', 1, [`${START}keep`]);
    await store.settle(crawl.id, page(START));
    const links = Array.from({ length: 1_000 }, (_, i) => `${START}c/${i}`);
    expect(await store.settle(crawl.id, page(START, links))).toEqual({ result: 'duplicate' });
    expect((await store.counters(crawl.id)).discovered).toBe(2);
  });
});

describe('nothing is written after the end', () => {
  /** Every key under the crawl's hash tag, with its TTL (SCAN, not the list of known keys). */
  async function ttls(connection: import('@crawlstream/redis-connection').RedisConnection, prefix: string, id: string) {
    const found = new Map<string, number>();
    for (const key of await scanKeys(connection, `${prefix}:{${id}}*`)) found.set(key, await connection.ttl(key));
    return found;
  }

  it('refuses robots, robots locks and host slots after cancel, and every key of the crawl keeps its TTL', async () => {
    const { store, connection, redis, keys } = testStore({ ttlSeconds: 600 });
    const { crawl } = await store.create({ url: START, options: options() });
    expect(await store.lockRobots(crawl.id, 'held', 60_000)).toBe('locked');
    expect(await store.reserveHostSlot(crawl.id, 'h', 100)).toMatchObject({ waitMs: 0 });
    await store.cancel(crawl.id);
    const before = await ttls(connection, redis.prefix, crawl.id);
    const robots = await connection.hgetall(keys(crawl.id).robots);
    const hosts = await connection.hgetall(keys(crawl.id).hosts);

    expect(await store.saveRobots(crawl.id, 'late', '{"status":200}')).toBe(false);
    expect(await store.saveRobots(crawl.id, 'held', '{"status":200}')).toBe(false);
    expect(await store.lockRobots(crawl.id, 'late', 60_000)).toBe('finished');
    expect(await store.reserveHostSlot(crawl.id, 'late', 100)).toBeNull();
    expect(await store.reserveHostSlot(crawl.id, 'h', 100)).toBeNull();
    expect(await store.claim(crawl.id, 'late', 1, [`${START}late`])).toEqual({ result: 'finished', status: 'cancelled' });
    expect(await store.settle(crawl.id, page(START, [`${START}late`]))).toEqual({ result: 'finished', status: 'cancelled' });

    expect(await connection.hgetall(keys(crawl.id).robots)).toEqual(robots);
    expect(await connection.hgetall(keys(crawl.id).hosts)).toEqual(hosts);
    const after = await ttls(connection, redis.prefix, crawl.id);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    // The robots lock and the host slots are in keys the TTL covers.
    expect(after.has(keys(crawl.id).robots)).toBe(true);
    expect(after.has(keys(crawl.id).hosts)).toBe(true);
    for (const ttl of after.values()) expect(ttl).toBeGreaterThan(500);
  });

  it('puts a TTL on every key of a completed crawl that used robots, host slots, redirects, sitemaps and chunked links', async () => {
    const { store, connection, redis, jobs, keys } = testStore({ ttlSeconds: 600 });
    const { crawl } = await store.create({ url: START, options: options({ maxPages: 10_000, concurrency: 4 }) });
    expect(jobs.urls()).toEqual([START]); // settled by hand below
    expect(await store.lockRobots(crawl.id, '127.0.0.1:9', 60_000)).toBe('locked');
    expect(await store.saveRobots(crawl.id, '127.0.0.1:9', '{"status":404}')).toBe(true);
    await store.lockRobots(crawl.id, 'other:1', 60_000); // a lock never released
    await store.reserveHostSlot(crawl.id, '127.0.0.1:9', 10);
    await store.claim(crawl.id, 'sitemap', 1, [`${START}s`]);
    const links = Array.from({ length: 300 }, (_, i) => `${START}c/${i}`);
    let result = await store.settle(crawl.id, { ...page(START, links), finalUrl: `${START}index` });
    const queue = jobs.take();
    while (queue.length > 0) {
      const next = queue.shift()!;
      result = await store.settle(crawl.id, page(next.url, [], next.depth));
      queue.push(...jobs.take());
    }
    expect(result).toMatchObject({ result: 'settled', completed: true, counters: { discovered: 302, processed: 302 } });
    const all = await ttls(connection, redis.prefix, crawl.id);
    const k = keys(crawl.id);
    // Frontier and in-flight are gone; no page failed, so there is no errors list.
    expect(new Set(all.keys())).toEqual(
      new Set([k.meta, k.counters, k.events, k.seen, k.done, k.pages, k.pageOrder, k.expanded, k.robots, k.hosts]),
    );
    for (const [key, ttl] of all) expect([key, ttl > 500]).toEqual([key, true]);
  });
});
