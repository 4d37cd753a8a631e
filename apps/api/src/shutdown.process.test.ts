// SIGTERM through dist/main.js, as `npm run start:api` runs it: N streams
// open on a running crawl each end cleanly at a frame boundary (the chunked
// response's last chunk arrives: no reset, no cut frame), the process counts
// them in crawlstream_streams_cut_off_total{reason="shutdown"} (read from its
// last log line, which renders the counter as /metrics does: a scrape cannot
// reach a process that stopped listening) and exits 0 within its shutdown
// limit (past it, main.js exits 1), and every client resumes on a second
// instance by Last-Event-ID with no gap and no duplicate.
// Without the clean shutdown the sockets are destroyed: `complete` is false
// (Node's client sees "aborted" / ECONNRESET), the counter is absent, and
// without Last-Event-ID resume the ids on the second instance do not line up.
import http from 'node:http';
import { CrawlStore } from '@crawlstream/progress';
import { DEFAULT_KEY_PREFIX } from '@crawlstream/shared';
import { startExtraRedis } from '@crawlstream/testkit';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from './test-support/api-process.js';
import { call, START, settlePage, settleStart } from './test-support/harness.js';

const STREAMS = 20;
const PAGES = 9;

/** One stream read with Node's HTTP client, which tells a whole response from a cut one. */
class RawStream {
  status = 0;
  body = '';
  /** The response ended with its last chunk (res.complete). */
  complete = false;
  aborted = false;
  readonly ended: Promise<void>;
  readonly opened: Promise<void>;

  constructor(api: ApiProcess, path: string, lastEventId?: string) {
    let resolveOpened!: () => void;
    let resolveEnded!: () => void;
    this.opened = new Promise((resolve) => {
      resolveOpened = resolve;
    });
    this.ended = new Promise((resolve) => {
      resolveEnded = resolve;
    });
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    const req = http.get({ host: '127.0.0.1', port: api.port, path, headers, agent: false }, (res) => {
      this.status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        this.body += chunk;
      });
      res.on('aborted', () => {
        this.aborted = true;
      });
      res.on('error', () => {
        this.aborted = true;
      });
      res.on('close', () => {
        this.complete = res.complete;
        resolveEnded();
      });
      resolveOpened();
    });
    req.on('error', () => {
      this.aborted = true;
      resolveOpened();
      resolveEnded();
    });
  }

  /** The events received, in order (`retry:` and `: ping` lines are not events). */
  get events(): { id: string; event: string }[] {
    return this.body
      .split('\n\n')
      .filter((block) => block.includes('\nevent: '))
      .map((block) => ({ id: /^id: (.*)$/m.exec(block)![1]!, event: /^event: (.*)$/m.exec(block)![1]! }));
  }
}

const stores: Redis[] = [];
afterAll(() => {
  for (const redis of stores) redis.disconnect();
});

describe('API SIGTERM (dist/main.js)', () => {
  it(`ends ${STREAMS} open streams at a frame boundary, counts them, exits 0, and every client resumes on a second instance`, async () => {
    const redis = await startExtraRedis();
    const connection = new Redis(redis.url);
    stores.push(connection);
    // Plays the worker (settles pages by hand); what it dispatches is dropped.
    const store = new CrawlStore({ redis: connection, prefix: DEFAULT_KEY_PREFIX, jobs: { add: async () => {}, alive: async () => true } });
    const a = await startApiProcess({ REDIS_URL: redis.url });
    const b = await startApiProcess({ REDIS_URL: redis.url });
    const { id } = (await call(a.base, 'POST', '/api/crawl-v2', { body: { url: START } })).json as { id: string };
    const links = Array.from({ length: PAGES }, (_, i) => `${START}p${i}`);
    await settleStart(store, id, links);
    const path = `/api/crawl-v2/${id}/stream`;

    const first = Array.from({ length: STREAMS }, () => new RawStream(a, path));
    await Promise.all(first.map((s) => s.opened));
    for (const s of first) expect(s.status).toBe(200);
    await expect.poll(() => first.every((s) => s.events[0]?.event === 'snapshot'), { timeout: 15_000 }).toBe(true);
    for (let i = 0; i < 3; i++) await settlePage(store, id, links[i]!, i);
    await expect.poll(() => first.every((s) => s.events.filter((e) => e.event === 'page').length === 3), { timeout: 15_000 }).toBe(true);

    a.child.kill('SIGTERM');
    await Promise.all(first.map((s) => s.ended));
    for (const s of first) {
      expect(s.aborted).toBe(false);
      expect(s.complete).toBe(true);
      // Ends at a frame boundary: the last thing written is a whole event or comment.
      expect(s.body.endsWith('\n\n')).toBe(true);
    }
    expect(await a.exited).toBe(0);
    const stopped = a.logs.find((line) => line.msg === 'stopped');
    expect(String(stopped?.metrics)).toMatch(new RegExp(`^crawlstream_streams_cut_off_total\\{reason="shutdown"\\} ${STREAMS}$`, 'm'));

    // Events appended while no one is connected, then resume on B by Last-Event-ID.
    for (let i = 3; i < 6; i++) await settlePage(store, id, links[i]!, i);
    const second = first.map((s) => new RawStream(b, path, s.events[s.events.length - 1]!.id));
    await Promise.all(second.map((s) => s.opened));
    for (let i = 6; i < PAGES; i++) await settlePage(store, id, links[i]!, i);
    await Promise.all(second.map((s) => s.ended));

    const stored = (await store.readAll(id)).map((frame) => frame.id);
    expect(stored.length).toBeGreaterThan(PAGES);
    for (const [i, s] of second.entries()) {
      expect(s.status).toBe(200);
      expect(s.complete).toBe(true);
      const before = first[i]!.events;
      const snapshotId = before[0]!.id;
      const seen = [...before.slice(1), ...s.events].map((e) => e.id);
      // Every event after the snapshot, once each, in order, through `completed`.
      expect(seen).toEqual(stored.slice(stored.indexOf(snapshotId) + 1));
      expect(s.events[s.events.length - 1]!.event).toBe('completed');
    }
    b.child.kill('SIGTERM');
    expect(await b.exited).toBe(0);
  });
});
