// Hard limits of the progress core (packages/shared/src/limits.ts): no
// Redis command over MAX_REDIS_COMMAND_MS whatever a page carries, no stream
// event over MAX_EVENT_BYTES, titles and messages cut to their lengths.
import { setPriority } from 'node:os';
import { startExtraRedis } from '@crawlstream/testkit';
import {
  crawlOptionsSchema,
  MAX_EVENT_BYTES,
  MAX_LINKS_PER_PAGE,
  MAX_MESSAGE_LENGTH,
  MAX_REDIS_COMMAND_MS,
  MAX_TITLE_LENGTH,
  MAX_URL_LENGTH,
} from '@crawlstream/shared';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { CrawlStore } from './crawl-store.js';
import type { EventFrame } from './frames.js';
import { allEvents, ofType, page, RecordingJobs, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
const bigOptions = (concurrency = 8) =>
  crawlOptionsSchema(1_000_000).parse({ maxPages: 1_000_000, maxDepth: 5, concurrency });

/** `count` distinct normalized URLs of exactly `length` characters. */
function urls(count: number, length: number, tag: string): string[] {
  return Array.from({ length: count }, (_, i) => {
    const head = `${START}${tag}/${i}/`;
    return head + 'x'.repeat(length - head.length);
  });
}


/** What one SSE event weighs on the wire: its id line and its data line (envelope included). */
const eventBytes = (frame: EventFrame) =>
  Buffer.byteLength(`id: ${frame.id}\nevent: ${frame.type}\ndata: ${frame.data}\n\n`);

describe('no Redis command over MAX_REDIS_COMMAND_MS', () => {
  // SLOWLOG times wall clock: on a loaded machine the kernel can stop redis-server for tens of ms
  // inside any call (seen here at load 7 on 2 cores: median call 0.9 ms, p99 23 ms, once 77 ms).
  // The private server gets a higher CPU priority where allowed, and a retry absorbs a stall;
  // calls that are really too big fail every attempt.
  it('settles a page of 10,000 links of 2,000 characters and 64 concurrent pages of 1,000 links in calls under 50 ms', { retry: 2 }, async () => {
    // A private server: SLOWLOG is per server, and other test files share the run's.
    const server = await startExtraRedis();
    try {
      setPriority(server.pid, -10);
    } catch {
      // Not permitted here: the retry has to do.
    }
    const admin = new Redis(server.url);
    const jobs = new RecordingJobs();
    const connections = Array.from({ length: 8 }, () => new Redis(server.url));
    const stores = connections.map((redis) => new CrawlStore({ redis, prefix: 'slow', jobs }));
    try {
      // SLOWLOG_DIAGNOSTIC=1 logs every command and prints the slowest (for the README).
      const diagnostic = process.env.SLOWLOG_DIAGNOSTIC === '1';
      await admin.config('SET', 'slowlog-log-slower-than', diagnostic ? 0 : MAX_REDIS_COMMAND_MS * 1000);
      await admin.config('SET', 'slowlog-max-len', 100_000);
      const store = stores[0]!;
      const { crawl } = await store.create({ url: START, options: bigOptions(256) });

      const big = urls(MAX_LINKS_PER_PAGE, 2000, 'big');
      const pages = Array.from({ length: 64 }, (_, i) => urls(1000, 200, `p${i}`));
      await admin.slowlog('RESET');
      const first = await store.settle(crawl.id, page(START, big));
      expect(first).toMatchObject({ result: 'settled', counters: { discovered: 1 + MAX_LINKS_PER_PAGE } });
      const dispatched = jobs.urls().filter((url) => url !== START);
      expect(dispatched).toHaveLength(256);
      const results = await Promise.all(
        dispatched
          .slice(0, 64)
          .map((url, i) => stores[i % stores.length]!.settle(crawl.id, page(url, pages[i], 1))),
      );
      expect(results.every((r) => r.result === 'settled')).toBe(true);
      expect(await store.counters(crawl.id)).toMatchObject({ discovered: 1 + MAX_LINKS_PER_PAGE + 64 * 1000 });
      // Ending a crawl with a frontier of 73,000 long URLs is one small call too.
      expect(await store.cancel(crawl.id)).toEqual({ result: 'done' });

      const log = (await admin.slowlog('GET', 100_000)) as [number, number, number, string[]][];
      if (diagnostic) {
        const byDuration = log
          .map(([, , us, args]) => ({
            us,
            command: `${args[0]} ${String(args[1]).slice(0, 12)} args=${args.length} ${args.slice(-1)[0]?.slice(0, 40)}`,
          }))
          .sort((a, b) => b.us - a.us);
        const cpu = /used_cpu_sys_main_thread:([\d.]+)\r?\nused_cpu_user_main_thread:([\d.]+)/.exec(await admin.info('cpu'))!;
        const wall = log.filter(([, , , args]) => args[0]!.startsWith('eval')).reduce((n, [, , us]) => n + us, 0);
        const scripts = log.filter(([, , , args]) => args[0]!.startsWith('eval')).map(([, , us]) => us).sort((a, b) => a - b);
        const at = (q: number) => scripts[Math.min(scripts.length - 1, Math.floor(q * scripts.length))];
        console.log(`${scripts.length} script calls (us): median ${at(0.5)}, p90 ${at(0.9)}, p99 ${at(0.99)}, max ${at(1)}`);
        console.log(`scripts' wall time ${(wall / 1000).toFixed(0)} ms, redis main thread cpu ${((Number(cpu[1]) + Number(cpu[2])) * 1000).toFixed(0)} ms (whole run)`);
        console.log(`slowest of ${log.length} commands (us):`, byDuration.slice(0, 12));
        expect(byDuration[0]!.us).toBeLessThan(MAX_REDIS_COMMAND_MS * 1000);
      } else {
        expect(log).toEqual([]);
      }
    } finally {
      for (const connection of connections) connection.disconnect();
      admin.disconnect();
      await server.stop();
    }
  });
});

describe('no stream event over MAX_EVENT_BYTES', () => {
  it('splits 10,000 accepted links of 2,000 characters into discovered events of at most 64 KiB whose union is the accepted set', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: bigOptions() });
    // Quotes, backslashes, control characters and non-ASCII need escaping (up to 6 bytes a
    // character): the events stay valid JSON, and under the limit.
    const odd = ['"', '\\', '\u0001', '\u00e9', '\u{1f600}'].flatMap((c, i) =>
      Array.from({ length: 20 }, (_, k) => {
        const head = `${START}odd${i}/${k}/`;
        return head + c.repeat((2000 - head.length) / c.length);
      }),
    );
    const links = [...urls(MAX_LINKS_PER_PAGE - odd.length, 2000, 'big'), ...odd];
    const settled = await store.settle(crawl.id, page(START, links));
    expect(settled).toMatchObject({ result: 'settled', counters: { discovered: 1 + MAX_LINKS_PER_PAGE } });
    const frames = await allEvents(store, crawl.id);
    const sizes = frames.map(eventBytes);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    // Packed up to the limit, not one URL an event.
    expect(Math.max(...sizes)).toBeGreaterThan(MAX_EVENT_BYTES - 8 * 1024);
    const union = ofType(frames, 'discovered').flatMap((e) => e.urls);
    expect(union).toHaveLength(1 + MAX_LINKS_PER_PAGE);
    expect(union.length / ofType(frames, 'discovered').length).toBeGreaterThan(10);
    expect(new Set(union)).toEqual(new Set([START, ...links]));
  });

  it('cuts a 3 MB title and a 1 MB failure message to their limits (never half a surrogate pair), so their events stay small', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: bigOptions() });
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((x) => `${START}${x}`);
    await store.claim(crawl.id, 'sitemap', 1, [a!, b!, c!, d!]);
    // At the limit: kept whole. One past: cut. A pair across the limit: dropped whole.
    const atLimit = 't'.repeat(MAX_TITLE_LENGTH);
    const pairAcross = `${'t'.repeat(MAX_TITLE_LENGTH - 1)}\u{1f600}`;
    await store.settle(crawl.id, { ...page(START), title: 'x'.repeat(3_000_000) });
    await store.settle(crawl.id, { ...page(a!, [], 1), title: atLimit });
    await store.settle(crawl.id, { ...page(b!, [], 1), title: pairAcross });
    await store.settle(crawl.id, { kind: 'failed', url: c!, reason: 'http_5xx', message: 'm'.repeat(1_000_000), attempts: 3 });
    await store.settle(crawl.id, {
      kind: 'skipped',
      url: d!,
      reason: 'not_html',
      message: 'n'.repeat(MAX_MESSAGE_LENGTH + 1),
    });
    const frames = await allEvents(store, crawl.id);
    for (const frame of frames) expect(eventBytes(frame)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    const titles = ofType(frames, 'page').map((e) => e.title);
    expect(titles).toEqual(['x'.repeat(MAX_TITLE_LENGTH), atLimit, 't'.repeat(MAX_TITLE_LENGTH - 1)]);
    expect(ofType(frames, 'page_failed')[0]!.message).toBe('m'.repeat(MAX_MESSAGE_LENGTH));
    const stored = (await store.pages(crawl.id, 0, 10)).items.map((p) => p.title);
    expect(stored).toEqual(titles);
    expect((await store.errors(crawl.id)).map((e) => e.message)).toEqual([
      'm'.repeat(MAX_MESSAGE_LENGTH),
      'n'.repeat(MAX_MESSAGE_LENGTH),
    ]);
  });

  it('cuts a failed crawl’s error message to MAX_MESSAGE_LENGTH', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: bigOptions() });
    expect(await store.fail(crawl.id, { code: 'robots_unreachable', message: 'e'.repeat(1_000_000) })).toEqual({
      result: 'done',
    });
    const failed = (await allEvents(store, crawl.id)).find((f) => f.type === 'failed')!;
    expect(eventBytes(failed)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect((await store.get(crawl.id))!.error!.message).toBe('e'.repeat(MAX_MESSAGE_LENGTH));
  });
});

describe('links kept per page', () => {
  it('keeps MAX_LINKS_PER_PAGE links and counts the rest on the page record; longer than MAX_URL_LENGTH is never claimed', async () => {
    const { store } = testStore();
    const { crawl } = await store.create({ url: START, options: bigOptions() });
    const [a, b] = [`${START}a`, `${START}b`];
    await store.claim(crawl.id, 'sitemap', 1, [a, b]);
    const tooLong = `${START}${'y'.repeat(MAX_URL_LENGTH)}`;
    const atLimit = urls(MAX_LINKS_PER_PAGE, 60, 'at');
    const onePast = urls(MAX_LINKS_PER_PAGE + 1, 60, 'past');
    await store.settle(crawl.id, page(a, [...atLimit, tooLong], 1));
    await store.settle(crawl.id, { ...page(b, onePast, 1), linksDropped: 5 });
    const records = (await store.pages(crawl.id, 0, 10)).items;
    expect(records.map((p) => p.linksDropped)).toEqual([undefined, 6]);
    expect((await store.counters(crawl.id)).discovered).toBe(3 + 2 * MAX_LINKS_PER_PAGE);
    const union = new Set(ofType(await allEvents(store, crawl.id), 'discovered').flatMap((e) => e.urls));
    expect(union.has(tooLong)).toBe(false);
    expect(union.has(onePast[MAX_LINKS_PER_PAGE - 1]!)).toBe(true);
    expect(union.has(onePast[MAX_LINKS_PER_PAGE]!)).toBe(false);
  });
});
