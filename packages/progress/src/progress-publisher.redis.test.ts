import { describe, expect, it } from 'vitest';
import { ProgressPublisher } from './progress-publisher.js';
import { allEvents, ofType, options, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function crawlWithPages(n: number) {
  const { store } = testStore();
  const { crawl } = await store.create({ url: START, options: options({ maxPages: n + 1 }) });
  const urls = Array.from({ length: n }, (_, i) => `${START}p${i}`);
  await store.claim(crawl.id, 'sitemap', 1, urls);
  return { store, id: crawl.id, urls };
}

describe('throttled progress', () => {
  it('emits leading and trailing events, far fewer than settles, and the last one has the final counters', async () => {
    const { store, id, urls } = await crawlWithPages(200);
    const publisher = new ProgressPublisher({ store, minIntervalMs: 50, maxIntervalMs: 200 });
    for (const url of urls) {
      const result = await store.settle(id, { kind: 'skipped', url, reason: 'robots' });
      if (result.result === 'settled') publisher.notify(id);
    }
    await sleep(400); // let the trailing emission fire
    const progress = ofType(await allEvents(store, id), 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(2); // leading + trailing at least
    expect(progress.length).toBeLessThan(100);
    expect(progress[0]!.counters.skipped).toBeLessThanOrEqual(5); // leading: right away
    expect(progress[progress.length - 1]!.counters).toEqual(await store.counters(id)); // trailing: latest
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.counters.skipped).toBeGreaterThanOrEqual(progress[i - 1]!.counters.skipped);
    }
    expect(publisher.size).toBe(1);
    publisher.close();
  });

  it.each(['completed', 'failed', 'cancelled'] as const)(
    'forgets a crawl that %s, and the last progress before the terminal event has the final counters',
    async (end) => {
      const { store, id, urls } = await crawlWithPages(3);
      const publisher = new ProgressPublisher({ store, minIntervalMs: 10, maxIntervalMs: 50 });
      for (const url of urls) {
        await store.settle(id, { kind: 'skipped', url, reason: 'robots' });
        publisher.notify(id);
      }
      expect(publisher.size).toBe(1);
      if (end === 'completed') {
        const last = await store.settle(id, { kind: 'skipped', url: START, reason: 'robots' });
        expect(last).toMatchObject({ completed: true });
        publisher.finish(id);
      } else if (end === 'failed') {
        await store.fail(id, { code: 'x', message: 'y' });
        publisher.notify(id); // this process does not know yet: its next emission finds out
      } else {
        await store.cancel(id);
        publisher.notify(id);
      }
      await sleep(150);
      expect(publisher.size).toBe(0);
      const events = await allEvents(store, id);
      expect(events[events.length - 1]!.type).toBe(end);
      expect(events[events.length - 2]!.type).toBe('progress');
      const progress = ofType(events, 'progress');
      expect(progress[progress.length - 1]!.counters).toEqual(await store.counters(id));
      publisher.close();
    },
  );

  it('forgets an idle crawl', async () => {
    const { store, id, urls } = await crawlWithPages(1);
    const publisher = new ProgressPublisher({ store, minIntervalMs: 10, idleMs: 100 });
    await store.settle(id, { kind: 'skipped', url: urls[0]!, reason: 'robots' });
    publisher.notify(id);
    expect(publisher.size).toBe(1);
    await sleep(300);
    expect(publisher.size).toBe(0);
    publisher.close();
  });

  it('throttles across processes: many publishers on one crawl do not multiply the events', async () => {
    const { store, another } = testStore();
    const { crawl } = await store.create({ url: START, options: options() });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => another().appendProgress(crawl.id, 1_000)),
    );
    expect(results.filter((r) => r.result === 'appended')).toHaveLength(1);
    expect(results.filter((r) => r.result === 'throttled')).toHaveLength(19);
  });
});
