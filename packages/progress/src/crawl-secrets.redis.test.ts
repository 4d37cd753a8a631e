// A crawl's request headers (`options.headers`) in the progress core: stored
// apart from the crawl, in its secrets hash, with the crawl TTL from the
// start; the crawl and its events name them only; every way a crawl ends
// (completed, cancelled, failed) deletes them.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allEvents, options, page, testStore } from './test-support/setup.js';

const START = 'http://127.0.0.1:9/docs/';
const SECRET = 'Bearer never-shown-0123456789';
const TTL = 600;

describe('request headers of a crawl', () => {
  const { store, connection: redis, keys } = testStore({ ttlSeconds: TTL });
  const create = () => store.create({ url: START, options: options({ headers: { Authorization: SECRET, 'X-Team': 'docs' } }) });

  it('are kept in the secrets hash alone, with the crawl TTL, and the crawl shows their names', async () => {
    const { crawl } = await create();
    expect(crawl.options).not.toHaveProperty('headers');
    expect(crawl.options.headerNames).toEqual(['authorization', 'x-team']);
    expect(await store.requestHeaders(crawl.id)).toEqual({ Authorization: SECRET, 'X-Team': 'docs' });
    const ttl = await redis.ttl(keys(crawl.id).secrets);
    expect(ttl).toBeGreaterThan(TTL - 60);
    expect(ttl).toBeLessThanOrEqual(TTL);
    expect(JSON.stringify(await redis.hgetall(keys(crawl.id).meta))).not.toContain('never-shown');
    expect(JSON.stringify(await allEvents(store, crawl.id))).not.toContain('never-shown');
  });

  it('a crawl without headers has no secrets hash and no headerNames', async () => {
    const { crawl } = await store.create({ url: START, options: options() });
    expect(crawl.options).not.toHaveProperty('headerNames');
    expect(await redis.exists(keys(crawl.id).secrets)).toBe(0);
  });

  it('are deleted when the crawl completes, is cancelled or fails', async () => {
    const completed = (await create()).crawl.id;
    expect(await store.settle(completed, page(START))).toMatchObject({ result: 'settled', completed: true });
    const cancelled = (await create()).crawl.id;
    expect(await store.cancel(cancelled)).toEqual({ result: 'done' });
    const failed = (await create()).crawl.id;
    expect(await store.fail(failed, { code: 'internal', message: 'test' })).toEqual({ result: 'done' });
    for (const id of [completed, cancelled, failed]) {
      expect(await redis.exists(keys(id).secrets), id).toBe(0);
      expect(await store.requestHeaders(id)).toEqual({});
      // The rest of the crawl is kept for its TTL.
      expect(await redis.ttl(keys(id).meta)).toBeGreaterThan(0);
    }
  });

  it("a create refused by Redis throws an error that a logger prints without them (ioredis puts a command's arguments on its error)", async () => {
    const id = randomUUID();
    // A key of the wrong type makes the create script's first write fail.
    await redis.set(keys(id).secrets, 'in the way');
    const error = await store.create({ id, url: START, options: options({ headers: { Authorization: SECRET } }) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/WRONGTYPE/);
    // What pino's error serializer prints: message, stack and every enumerable property.
    const logged = JSON.stringify({ ...(error as object), message: (error as Error).message, stack: (error as Error).stack });
    // The command is named (EVALSHA, or EVAL where a cluster node had not loaded the script yet), its arguments are not.
    expect(logged).toMatch(/"name":"eval(sha)?"/);
    expect(logged).not.toContain('never-shown');
    // Nothing else was written.
    expect(await redis.exists(keys(id).meta)).toBe(0);
  });
});
