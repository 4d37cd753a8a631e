// The queue board: read-only without API_KEYS (anyone who reaches the port
// may look, nobody may act); with keys, the operator key (the first) may act
// and no other key may even look.
import { PageQueues } from '@crawlstream/jobs';
import { queuePrefix } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, errorCode, startApi } from '../test-support/harness.js';

const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-0123456789ab';
const as = (key: string) => ({ authorization: `Bearer ${key}` });
const JOB = { name: 'page', data: { crawlId: '3b241101-e2bb-4255-8caf-4136c566a962', url: 'http://127.0.0.1:9/x', depth: 0 }, options: {} };

/** Every kind of write the board offers: pause, add a job, empty, pause all. */
const WRITES = [
  ['PUT', '/admin/queues/api/queues/pages/pause', undefined],
  ['POST', '/admin/queues/api/queues/pages/add', JOB],
  ['PUT', '/admin/queues/api/queues/pages/empty', undefined],
  ['PUT', '/admin/queues/api/queues/pause', undefined],
  ['PATCH', '/admin/queues/api/queues/pages/some-job/update-data', { data: {} }],
] as const;

describe('the queue board', () => {
  it('without API_KEYS: shown read-only; every write is 403 board_read_only and changes nothing', async () => {
    const api = await startApi(useRedis('bd'));
    const { queue } = api.app.crawlstream;
    const page = await call(api.base, 'GET', '/admin/queues');
    expect(page.status).toBe(200);
    const queues = await call(api.base, 'GET', '/admin/queues/api/queues');
    expect(queues.status).toBe(200);
    const pages = (queues.json as { queues: { name: string; readOnlyMode: boolean }[] }).queues.find((q) => q.name === 'pages');
    expect(pages?.readOnlyMode).toBe(true);

    const before = await queue.getJobCounts();
    for (const [method, path, body] of WRITES) {
      const refused = await call(api.base, method, path, body === undefined ? {} : { body });
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(errorCode(refused)).toBe('board_read_only');
      expect(refused.headers['content-type']).toBe('application/json; charset=utf-8');
    }
    expect(await queue.isPaused()).toBe(false);
    expect(await queue.getJobCounts()).toEqual(before);
  });

  it('with API_KEYS: only the operator key may look or act', async () => {
    const api = await startApi(useRedis('bd2'), { env: { API_KEYS: `${ALICE},${BOB}` } });
    const { queue } = api.app.crawlstream;
    const queues = await call(api.base, 'GET', '/admin/queues/api/queues', { headers: as(ALICE) });
    const pages = (queues.json as { queues: { name: string; readOnlyMode: boolean }[] }).queues.find((q) => q.name === 'pages');
    expect(pages?.readOnlyMode).toBe(false);

    for (const headers of [{}, as(BOB), as('not-a-key-0123456789')]) {
      const refused = await call(api.base, 'PUT', '/admin/queues/api/queues/pages/pause', { headers });
      expect(refused.status).toBe(401);
      expect(errorCode(refused)).toBe('unauthorized');
      expect(refused.headers['www-authenticate']).toMatch(/^Basic/);
    }
    expect(await queue.isPaused()).toBe(false);

    const basic = `Basic ${Buffer.from(`admin:${ALICE}`).toString('base64')}`;
    expect((await call(api.base, 'PUT', '/admin/queues/api/queues/pages/pause', { headers: { authorization: basic } })).status).toBe(200);
    expect(await queue.isPaused()).toBe(true);
    expect((await call(api.base, 'PUT', '/admin/queues/api/queues/pages/resume', { headers: as(ALICE) })).status).toBe(200);
    expect(await queue.isPaused()).toBe(false);
  });

  it('with QUEUE_SHARDS=3: every shard is a queue of its own on the board, with its own jobs', async () => {
    const redis = useRedis('bd3');
    const api = await startApi(redis, { env: { API_KEYS: ALICE, QUEUE_SHARDS: '3' } });
    const shards = api.app.crawlstream.queues.queues;
    expect(shards).toHaveLength(3);
    await shards[2]!.add('page', JOB.data, { jobId: 'shard-two-job' });
    const listed = await call(api.base, 'GET', '/admin/queues/api/queues', { headers: as(ALICE) });
    const queues = (listed.json as { queues: { name: string; counts: Record<string, number> }[] }).queues;
    const names = [0, 1, 2].map((shard) => `${queuePrefix(redis.prefix, shard)}pages`);
    expect(queues.map((queue) => queue.name).sort()).toEqual([...names].sort());
    expect(queues.find((queue) => queue.name === names[2])?.counts.waiting).toBe(1);
    expect(queues.find((queue) => queue.name === names[0])?.counts.waiting).toBe(0);
    // The operator acts on one shard: pausing shard 1 pauses it alone.
    const pause = await call(api.base, 'PUT', `/admin/queues/api/queues/${encodeURIComponent(names[1]!)}/pause`, { headers: as(ALICE) });
    expect(pause.status).toBe(200);
    expect(await Promise.all(shards.map((queue) => queue.isPaused()))).toEqual([false, true, false]);
  });

  it('shows the shards another process announces after the API started', async () => {
    // Fails if the board knew only the shards of the API's own QUEUE_SHARDS: crawls of shards 1 and 2 would be invisible there.
    const redis = useRedis('bd4');
    const api = await startApi(redis, { env: { API_KEYS: ALICE }, shardsCheckMs: 100 });
    const names = async () => {
      const listed = await call(api.base, 'GET', '/admin/queues/api/queues', { headers: as(ALICE) });
      return (listed.json as { queues: { name: string }[] }).queues.map((queue) => queue.name);
    };
    expect(await names()).toEqual(['pages']);
    const other = new PageQueues(redis.connect({ maxRetriesPerRequest: null }), redis.prefix, 3);
    await other.announce();
    try {
      for (let tries = 0; (await names()).length < 3 && tries < 200; tries++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await names()).sort()).toEqual(['pages', `${queuePrefix(redis.prefix, 1)}pages`, `${queuePrefix(redis.prefix, 2)}pages`].sort());
      expect(api.app.crawlstream.queues.queues).toHaveLength(3);
    } finally {
      await other.close();
    }
  });
});
