// API kill -9 during a burst of POSTs with Idempotency-Keys: the API runs as
// its own process (`node dist/main.js`) on a private redis-server, is killed
// with SIGKILL while requests are in flight, and a second process answers
// the clients' retries. Every key then stands for one crawl, running with its
// start page queued; no crawl exists that no key returns; nothing is left for
// the sweep; and every crawl completes.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPageQueue, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { freePort } from '@crawlstream/redis-runner';
import { crawl, DEFAULT_KEY_PREFIX } from '@crawlstream/shared';
import { connect, startExtraRedis } from '@crawlstream/testkit';
import { afterAll, expect, it } from 'vitest';
import { START } from './test-support/harness.js';

const API_MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

async function startApiProcess(redisUrl: string) {
  const port = await freePort();
  const child = spawn(process.execPath, [API_MAIN], {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: redisUrl, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  await expect
    .poll(() => fetch(`${base}/readyz`).then((r) => r.ok, () => false), { timeout: 20_000, interval: 100 })
    .toBe(true);
  return {
    base,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function post(base: string, key: string): Promise<{ status: number; id?: string }> {
  try {
    const response = await fetch(`${base}/api/crawl-v2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ url: START }),
    });
    const body = await response.json();
    return response.status < 300 ? { status: response.status, id: crawl.parse(body).id } : { status: response.status };
  } catch {
    return { status: 0 }; // no answer: the process died
  }
}

it('API kill -9 during a burst of POSTs: every Idempotency-Key retry returns a running crawl with its start page queued, and every crawl completes', async () => {
  const server = await startExtraRedis();
  const first = await startApiProcess(server.url);
  const keys = Array.from({ length: 300 }, (_, i) => `burst-${i}`);
  const answered: { status: number }[] = [];
  let next = 0;
  let killing: Promise<void> | null = null;
  // 40 clients, each posting one key after another; the process dies once 80 were answered.
  const clients = Array.from({ length: 40 }, async () => {
    while (next < keys.length) {
      const key = keys[next++]!;
      const result = await post(first.base, key);
      answered.push(result);
      if (answered.filter((r) => r.status === 201).length === 80) killing ??= first.kill();
    }
  });
  await Promise.all(clients);
  await killing;
  expect(answered.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(80);
  expect(answered.filter((r) => r.status !== 201).length).toBeGreaterThan(0); // some were cut off

  const redis = connect(server.url, { maxRetriesPerRequest: 1 });
  const queue = createPageQueue(connect(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false }), DEFAULT_KEY_PREFIX);
  const store = new CrawlStore({ redis, jobs: new QueuePageJobs(queue) });

  // Every client retries its key on another process.
  const second = await startApiProcess(server.url);
  const retried = await Promise.all(keys.map((key) => post(second.base, key)));
  expect(retried.every((r) => r.status === 200 || r.status === 201)).toBe(true);
  const ids = retried.map((r) => r.id!);
  expect(new Set(ids).size).toBe(keys.length);
  for (const id of ids) {
    const inflight = await store.inflight(id);
    expect(inflight.map((e) => e.url), id).toEqual([START]);
    expect(await queue.getJobState(inflight[0]!.jobId), id).toBe('waiting');
  }
  // No crawl that no key returns (a create cut off before its crawl was stored left only its key).
  expect((await store.activeIds()).sort()).toEqual([...ids].sort());
  expect(await store.sweep({ staleMs: 0, maxGenerations: 3 })).toMatchObject({ redispatched: 0, removed: 0 });

  // The worker's part: each start page settled; every crawl ends.
  for (const id of ids) {
    await store.settle(id, { kind: 'processed', url: START, title: 'S', depth: 0, status: 200, bytes: 1, durationMs: 1, markdown: '' });
  }
  for (const id of ids) expect((await store.get(id))?.status).toBe('completed');
  expect(await store.activeIds()).toEqual([]);
  await second.kill();
  await queue.close();
});
