// The terminal transition is a compare-and-set: when the last settles, cancels
// and fails of a crawl race over many connections, exactly one of the calls
// ends the crawl, the log gets exactly one terminal event, and the counters in
// it, in the crawl and in the status indexes agree with what was settled.
import { CRAWL_STATUSES, globalKeys, isTerminalEvent } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import type { SettleResult, TransitionResult } from './crawl-store.js';
import { allEvents, ofType, options, page, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
const SECOND = `${START}second`;
const CRAWLS = 40;
const CONNECTIONS = 8;

type Call =
  | { kind: 'settle'; url: string; reply: SettleResult }
  | { kind: 'cancel'; reply: TransitionResult }
  | { kind: 'fail'; reply: TransitionResult };

/** The status a call's reply says it moved the crawl to, or null when it did not end the crawl. */
function endedBy(call: Call): string | null {
  if (call.kind === 'settle') return call.reply.result === 'settled' && call.reply.completed ? 'completed' : null;
  if (call.reply.result !== 'done') return null;
  return call.kind === 'cancel' ? 'cancelled' : 'failed';
}

describe('terminal transitions under a race', () => {
  // Without the compare-and-set on the status (a cancel or fail that only
  // checks `running` outside the script, or a settle that completes whatever
  // the status), two calls report winning, the log holds two terminal
  // events, or a settle that lost still bumps `processed`: each expect below
  // fails on one of those.
  it(`one winner, one terminal event and exact counters when settles, cancels and fails race over ${CONNECTIONS} connections`, async () => {
    const { store, another, redis, connection } = testStore();
    const stores = Array.from({ length: CONNECTIONS }, another);
    const crawls = await Promise.all(
      Array.from({ length: CRAWLS }, () => store.create({ url: START, options: options({ concurrency: 2 }) })),
    );
    // Half the crawls have a second page in flight, so that two settles must both land to complete.
    for (const [i, { crawl }] of crawls.entries()) if (i % 2 === 1) await store.claim(crawl.id, 'sitemap', 1, [SECOND]);

    const calls: Promise<Call & { crawlId: string }>[] = [];
    let n = 0;
    const on = () => stores[n++ % CONNECTIONS]!;
    for (const [i, { crawl }] of crawls.entries()) {
      const id = crawl.id;
      const urls = i % 2 === 1 ? [START, SECOND] : [START];
      const racers: (() => Promise<Call & { crawlId: string }>)[] = [];
      for (const url of urls) {
        for (let k = 0; k < 3; k++) {
          const s = on();
          racers.push(async () => ({ crawlId: id, kind: 'settle', url, reply: await s.settle(id, page(url, [], url === START ? 0 : 1)) }));
        }
      }
      for (let k = 0; k < 3; k++) {
        const s = on();
        racers.push(async () => ({ crawlId: id, kind: 'cancel', reply: await s.cancel(id) }));
      }
      for (let k = 0; k < 2; k++) {
        const s = on();
        racers.push(async () => ({ crawlId: id, kind: 'fail', reply: await s.fail(id, { code: 'boom', message: 'raced' }) }));
      }
      // A different interleaving per crawl: rotate who goes first.
      const rotated = [...racers.slice(i % racers.length), ...racers.slice(0, i % racers.length)];
      for (const racer of rotated) calls.push(racer());
    }
    const settled = await Promise.all(calls);

    const winners = new Map<string, number>();
    const byStatus = globalKeys(redis.prefix).crawlsByStatus;
    for (const [i, { crawl }] of crawls.entries()) {
      const mine = settled.filter((call) => call.crawlId === crawl.id);
      const won = mine.map(endedBy).filter((status) => status !== null);
      // Exactly one call ended the crawl, and the crawl has the status it says.
      expect(won, crawl.id).toHaveLength(1);
      const final = await store.get(crawl.id);
      expect(final!.status).toBe(won[0]);
      winners.set(won[0]!, (winners.get(won[0]!) ?? 0) + 1);

      // Exactly one terminal event, the last one, of that status.
      const events = await allEvents(store, crawl.id);
      const terminal = events.filter((e) => isTerminalEvent(e.type));
      expect(terminal.map((e) => e.type)).toEqual([final!.status]);
      expect(events[events.length - 1]).toEqual(terminal[0]);

      // Exact counters: one processed per URL whose settle landed (once, however many raced), nothing else.
      const landed = mine.filter((call) => call.kind === 'settle' && call.reply.result === 'settled');
      const landedUrls = landed.map((call) => (call.kind === 'settle' ? call.url : ''));
      expect(new Set(landedUrls).size).toBe(landedUrls.length);
      const discovered = i % 2 === 1 ? 2 : 1;
      const counters = { discovered, processed: landed.length, failed: 0, skipped: 0 };
      expect(final!.counters).toEqual(counters);
      expect(ofType(events, 'page')).toHaveLength(landed.length);
      const end = ofType(events, final!.status as 'completed' | 'cancelled' | 'failed')[0]!;
      expect(end.counters).toEqual(counters);
      // Completed only when every page landed; every settle that lost says so.
      if (final!.status === 'completed') expect(landed).toHaveLength(discovered);
      for (const call of mine) {
        if (call.kind !== 'settle' || call.reply.result === 'settled') continue;
        expect(['duplicate', 'finished']).toContain(call.reply.result);
      }

      // The status indexes agree: in the set of its final status only, out of `active`.
      for (const status of CRAWL_STATUSES) {
        const score = await connection.zscore(byStatus(status), crawl.id);
        expect([status, score !== null]).toEqual([status, status === final!.status]);
      }
      expect(await connection.zscore(globalKeys(redis.prefix).active, crawl.id)).toBeNull();

      // Late calls change nothing: no status change, no event, no count.
      expect(await store.cancel(crawl.id)).toEqual({ result: 'finished', status: final!.status });
      expect(await store.fail(crawl.id, { code: 'late', message: 'too late' })).toEqual({ result: 'finished', status: final!.status });
      expect(await store.settle(crawl.id, page(START))).toEqual({ result: 'finished', status: final!.status });
      expect(await store.get(crawl.id)).toEqual(final);
      expect(await allEvents(store, crawl.id)).toHaveLength(events.length);
    }
    // Each crawl had one winner: the winners add up to the crawls.
    expect([...winners.values()].reduce((a, b) => a + b, 0)).toBe(CRAWLS);
  });
});
