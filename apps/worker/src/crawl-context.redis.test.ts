// The worker's cache of crawl contexts: bounded by the bytes of compiled
// globs as well as by entries, and a crawl whose stored globs no longer
// compile is failed with a reason instead of failing every page job.
import type { CrawlStore } from '@crawlstream/progress';
import { crawlKeys, crawlOptionsSchema } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { CrawlContexts } from './crawl-context.js';
import { makeScope } from '@crawlstream/pipeline';
import { crawlStore } from './test-support/crawl.js';

const START = 'http://127.0.0.1:9/docs/';
// Long patterns with many distinct characters: large compiled tables.
const GLOBS = Array.from({ length: 20 }, (_, i) => `/docs/${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(8)}${i}/**`);

async function crawlWith(store: CrawlStore, include: string[]) {
  const options = { ...crawlOptionsSchema().parse({}), include };
  return (await store.create({ url: START, options })).crawl;
}

describe('CrawlContexts', () => {
  it('keeps the compiled globs under its byte budget: at the limit two crawls stay, one byte under it one', async () => {
    const redis = useRedis('wc');
    const store = crawlStore(redis.connect(), redis.prefix);
    const weight = makeScope(START, { scope: 'prefix', include: GLOBS, exclude: [] }).bytes;
    expect(weight).toBeGreaterThan(10_000);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await crawlWith(store, GLOBS)).id);

    const atLimit = new CrawlContexts(store, { maxEntries: 100, maxBytes: 2 * weight });
    for (const id of ids) expect(await atLimit.get(id)).not.toBeNull();
    expect(atLimit.size).toEqual({ entries: 2, bytes: 2 * weight });

    const pastLimit = new CrawlContexts(store, { maxEntries: 100, maxBytes: 2 * weight - 1 });
    for (const id of ids) expect(await pastLimit.get(id)).not.toBeNull();
    expect(pastLimit.size).toEqual({ entries: 1, bytes: weight });

    pastLimit.forget(ids[2]!);
    expect(pastLimit.size).toEqual({ entries: 0, bytes: 0 });
  });

  it('fails a stored crawl whose globs are outside the grammar with invalid_options, once', async () => {
    const redis = useRedis('wc');
    const store = crawlStore(redis.connect(), redis.prefix);
    // Stored as an older release accepted it; the schema refuses it today.
    const crawl = await crawlWith(store, ['/docs/@(a|b)/**']);
    const contexts = new CrawlContexts(store);
    expect(await contexts.get(crawl.id)).toBeNull();
    const failed = await store.get(crawl.id);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'invalid_options' } });
    expect(failed?.error?.message).toMatch(/^unsupported glob: /);
    expect(contexts.size.entries).toBe(0);
  });

  it('holds a crawl\'s request headers for the origins of its start URLs only', async () => {
    const redis = useRedis('wc');
    const store = crawlStore(redis.connect(), redis.prefix);
    const options = crawlOptionsSchema().parse({ urls: ['https://docs.test/api/'], scope: 'domain', headers: { Authorization: 'Bearer x' } });
    const { crawl } = await store.create({ url: START, options });
    const context = await new CrawlContexts(store).get(crawl.id);
    expect(context?.headersFor?.(`${START}deep/page`)).toEqual({ Authorization: 'Bearer x' });
    expect(context?.headersFor?.('https://docs.test/elsewhere')).toEqual({ Authorization: 'Bearer x' });
    for (const url of ['http://docs.test/api/', 'https://www.docs.test/', 'http://127.0.0.1:10/docs/', 'http://127.0.0.2:9/docs/']) {
      expect(context?.headersFor?.(url), url).toBeUndefined();
    }
    const plain = await store.create({ url: START, options: crawlOptionsSchema().parse({}) });
    expect((await new CrawlContexts(store).get(plain.crawl.id))?.headersFor).toBeUndefined();
  });

  it('fails a running crawl whose headers are gone (past the crawl TTL) with headers_expired, instead of fetching without them', async () => {
    const redis = useRedis('wc');
    const connection = redis.connect();
    const store = crawlStore(connection, redis.prefix);
    const { crawl } = await store.create({ url: START, options: crawlOptionsSchema().parse({ headers: { Cookie: 'a=b' } }) });
    await connection.del(crawlKeys(crawl.id, redis.prefix).secrets);
    expect(await new CrawlContexts(store).get(crawl.id)).toBeNull();
    expect(await store.get(crawl.id)).toMatchObject({ status: 'failed', error: { code: 'headers_expired' } });
  });
});
