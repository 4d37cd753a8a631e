// Webhook delivery survives a worker's kill -9 (#16): the delivery cursor is
// in Redis and the BullMQ job is recovered by the stall check, so a second
// worker process goes on from the last event the receiver answered 2xx.
// At least once: the event in flight at the kill may be sent twice (same
// webhook-id); none is missing and the order is the log's.
import type { ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookQueue, enqueueWebhook } from '@crawlstream/jobs';
import { CrawlWebhooks } from '@crawlstream/progress';
import { WEBHOOK_EVENT_TYPES } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCrawl, waitForEnd } from './test-support/crawl.js';
import { launcher, startProcess as start } from './test-support/processes.js';
import { type Site, startSite } from './test-support/site.js';

const SECRET = `whsec_${Buffer.from('webhook-kill-secret-of-32-bytes!').toString('base64')}`;
const children: ChildProcess[] = [];
const env = { ...process.env, TEST_WEBHOOK_SECRET: SECRET };

let site: Site;
let receiver: Server;
let hookUrl = '';
/** Every delivery: its webhook-id, and whether its response was written. */
const received: { id: string; body: string; headers: Record<string, string>; answered: boolean }[] = [];

beforeAll(async () => {
  site = await startSite({ pages: 12 });
  // Each answer takes 200 ms, so a delivery is in flight most of the time.
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const entry = { id: String(req.headers['webhook-id']), body, headers: req.headers as Record<string, string>, answered: false };
      received.push(entry);
      setTimeout(() => {
        if (res.destroyed) return;
        entry.answered = true;
        res.writeHead(200).end();
      }, 200);
    });
  });
  await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((ok) => receiver.close(ok));
  await site.close();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('webhook delivery across a kill -9', () => {
  it('a worker killed mid-delivery: another delivers the rest, in order, none missing', async () => {
    const redis = useRedis('whk');
    const victim = await start(children, [launcher, redis.url, redis.prefix, '4'], env);
    const connection = redis.connect();
    const { store, crawl } = await startCrawl(connection, redis.prefix, site.start, { maxPages: 12, useSitemap: false, respectRobotsTxt: false });
    const webhooks = new CrawlWebhooks(connection, redis.prefix, 3600);
    await webhooks.register(crawl.id, { url: hookUrl, events: [...WEBHOOK_EVENT_TYPES], headers: {} });
    await enqueueWebhook(createWebhookQueue(connection, redis.prefix), crawl.id);

    await expect.poll(() => received.length, { timeout: 60_000, interval: 10 }).toBeGreaterThanOrEqual(3);
    victim.kill('SIGKILL');
    await new Promise((resolve) => victim.once('exit', resolve));
    const inFlight = received.filter((entry) => !entry.answered).map((entry) => entry.id);
    expect(inFlight.length).toBe(1);

    await start(children, [launcher, redis.url, redis.prefix, '4'], env);
    await waitForEnd(store, crawl.id, 60_000);
    await expect.poll(async () => (await webhooks.status(crawl.id))?.state, { timeout: 60_000, interval: 100 }).toBe('done');

    const log = (await store.readAll(crawl.id)).map((frame) => frame.id);
    const ids = received.map((entry) => entry.id);
    // None missing, none out of order: the deliveries, repeats folded, are the log.
    const folded = ids.filter((id, i) => i === 0 || id !== ids[i - 1]);
    expect(folded).toEqual(log);
    // The one repeat is the event in flight at the kill (never answered, so its cursor never moved).
    expect(ids.length - folded.length).toBe(1);
    expect(ids.filter((id) => id === inFlight[0])).toHaveLength(2);
    const verifier = new Webhook(SECRET);
    for (const entry of received) verifier.verify(entry.body, entry.headers);
  });
});
