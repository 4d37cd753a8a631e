// Readers of one crawl that open together cost O(1) Redis commands: the hub
// shares its open read (crawl, owner, cursor verdict) per crawl and cursor,
// and the catch-up read of readers behind the feed's ring per cursor
// (StreamHub.open, CrawlFeed.catchUp); the stream's access check uses the
// open read. Counted with MONITOR on a private redis-server, so nothing else
// runs there. Without sharing each reader costs an EVALSHA (open-3.lua), an
// HGET of the owner with API keys on, and with a cursor a catch-up EVALSHA:
// 500 readers cost 500 to 1,000 commands (sharing only reads in flight still
// cost about 250 here: requests arrive a few at a time).
import net from 'node:net';
import { startExtraRedis, useRedis } from '@crawlstream/testkit';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { type Api, call, START, settleStart, startApi } from '../test-support/harness.js';

const READERS = 500;
/** The commands those readers may cost (measured: 3, one open read, SUBSCRIBE and the feed's first read). */
const MAX_COMMANDS = 8;
const ALICE = 'alice-key-0123456789';

/**
 * Counts the commands clients send (MONITOR, without the ones scripts run)
 * while `work` runs, by name.
 */
async function commandsDuring(url: string, work: () => Promise<unknown>): Promise<Record<string, number>> {
  const admin = new Redis(url);
  const monitor = await admin.monitor();
  const counts: Record<string, number> = {};
  let marked = false;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args[0] === 'echo' && args[1] === 'count-end') marked = true;
    else if (!marked && source !== 'lua') counts[args[0]!] = (counts[args[0]!] ?? 0) + 1;
  });
  try {
    await work();
    // Everything sent before this marker has been seen.
    await admin.echo('count-end');
    await expect.poll(() => marked).toBe(true);
    return counts;
  } finally {
    monitor.disconnect();
    admin.disconnect();
  }
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * Opens `count` streams together: every socket connects first, then every
 * request is written in one go. Resolves once each has its status line and
 * first event (the `data:` of the snapshot, or of the first replayed event).
 */
async function openTogether(api: Api, path: string, count: number, headers: string): Promise<string[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect({ host: '127.0.0.1', port: api.port }, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  const heads = sockets.map(
    (socket) =>
      new Promise<string>((resolve, reject) => {
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          text += chunk;
          if (/\r\n\r\n[\s\S]*\ndata: /.test(text)) resolve(text);
        });
        socket.once('close', () => reject(new Error(`closed before the first event: ${text.slice(0, 200)}`)));
      }),
  );
  for (const socket of sockets) socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n${headers}\r\n`);
  try {
    return await Promise.all(heads);
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

describe('opening many readers of one crawl', () => {
  it(`${READERS} readers opening together (API keys on, no cursor, then one cursor) cost at most ${MAX_COMMANDS} Redis commands each time`, async () => {
    const server = await startExtraRedis();
    const api = await startApi(useRedis('open', server.url), {
      env: { API_KEYS: ALICE },
      // No safety poll during the count: only the reads the readers cause.
      hub: { pollMs: 600_000 },
    });
    const auth = { authorization: `Bearer ${ALICE}` };
    const created = (await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START }, headers: auth })).json as { id: string };
    // A running crawl (the start page settled, its links in flight): its readers stay.
    await settleStart(api.store, created.id, [`${START}a`, `${START}b`]);
    const events = await api.store.readAll(created.id);
    const path = `/api/crawl-v2/${created.id}/stream`;
    const key = `Authorization: Bearer ${ALICE}\r\n`;

    // No cursor: every reader gets the same snapshot.
    let snapshots: string[] = [];
    const fresh = await commandsDuring(server.url, async () => {
      snapshots = await openTogether(api, path, READERS, key);
    });
    for (const text of snapshots) expect(text).toMatch(/^HTTP\/1\.1 200 [\s\S]*\nevent: snapshot\n/);
    expect(total(fresh), JSON.stringify(fresh)).toBeLessThanOrEqual(MAX_COMMANDS);

    // One cursor: every reader resumes after the same event.
    let resumed: string[] = [];
    const again = await commandsDuring(server.url, async () => {
      resumed = await openTogether(api, path, READERS, `${key}Last-Event-ID: ${events[0]!.id}\r\n`);
    });
    for (const text of resumed) expect(text).toContain(`\nid: ${events[1]!.id}\n`);
    expect(total(again), JSON.stringify(again)).toBeLessThanOrEqual(MAX_COMMANDS);
  });
});
