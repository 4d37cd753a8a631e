// listCrawls (packages/progress/src/crawl-list.ts) at its edges: crawls created
// in the same millisecond, more of them than one read fetches, and a filter
// that matches rarely.
import { createPageQueue, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore, listCrawls } from '@crawlstream/progress';
import { crawlOptionsSchema, globalKeys } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { START } from '../test-support/harness.js';

describe('listCrawls', () => {
  it('walks ties (one creation ms for 250 crawls) and rare matches page by page, each crawl once', async () => {
    const redis = useRedis('cl');
    const connection = redis.connect();
    const store = new CrawlStore({ redis: connection, prefix: redis.prefix, jobs: new QueuePageJobs(createPageQueue(connection, redis.prefix)) });
    const options = crawlOptionsSchema().parse({});
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) ids.push((await store.create({ url: START, options })).crawl.id);
    const cancelled = new Set(ids.filter((_, i) => i % 50 === 7));
    for (const id of cancelled) await store.cancel(id);
    const index = globalKeys(redis.prefix).crawlIndex;
    await connection.zadd(index, ...ids.flatMap((id) => [1_700_000_000_000, id]));

    const walk = async (status?: 'cancelled') => {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = await listCrawls(connection, { limit: 7, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) }, redis.prefix);
        seen.push(...page.items.map((c) => c.id));
        if (!page.nextCursor) return seen;
        cursor = page.nextCursor;
      }
      throw new Error('did not finish');
    };
    expect(await walk()).toEqual([...ids].sort().reverse());
    expect(await walk('cancelled')).toEqual([...cancelled].sort().reverse());
  });
});
