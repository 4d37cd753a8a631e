import { crawlKeys } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { options, page, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';

describe('the ended channel', () => {
  it('announces each crawl that ends (completed, cancelled, failed) once, however many callers race', async () => {
    const { store, another, redis } = testStore();
    const subscriber = redis.connect();
    const heard: string[] = [];
    subscriber.on('message', (_channel, id) => heard.push(id));
    await subscriber.subscribe(store.endedChannel());

    const completed = (await store.create({ url: START, options: options() })).crawl.id;
    const cancelled = (await store.create({ url: START, options: options() })).crawl.id;
    const failed = (await store.create({ url: START, options: options() })).crawl.id;
    const running = (await store.create({ url: START, options: options() })).crawl.id;
    const stores = Array.from({ length: 5 }, another);
    await Promise.all([
      ...stores.map((s) => s.settle(completed, page(START))),
      ...stores.map((s) => s.cancel(cancelled)),
      ...stores.map((s) => s.fail(failed, { code: 'internal', message: 'broken' })),
    ]);
    expect((await store.get(completed))?.status).toBe('completed');
    // A marker published after them, from each crawl's own server (a script on
    // its keys: on a Redis Cluster, messages from different masters are not
    // ordered with each other): every announcement has arrived when they have.
    const admin = redis.connect();
    const ids = [completed, cancelled, failed, running];
    for (const id of ids) {
      await admin.eval("return redis.call('PUBLISH', ARGV[1], ARGV[2])", 1, crawlKeys(id, redis.prefix).meta, store.endedChannel(), `marker ${id}`);
    }
    await expect.poll(() => heard.filter((id) => id.startsWith('marker ')).length).toBe(ids.length);
    expect(heard.filter((id) => !id.startsWith('marker ')).sort()).toEqual([completed, cancelled, failed].sort());
    expect(heard).not.toContain(running);
  });
});
