// Webhook delivery (#16) end to end in one process: a real worker crawls a
// small loopback site and POSTs each event of the crawl's log to a loopback
// receiver, signed; the receiver's answers (2xx, 5xx, Retry-After, a
// redirect to an address outside SSRF_ALLOW) drive the retries. What is
// delivered is compared with the event log itself, and every signature is
// checked with the `standardwebhooks` package a receiver would use.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createWebhookQueue, enqueueWebhook } from '@crawlstream/jobs';
import { type CrawlStore, CrawlWebhooks, type EventFrame } from '@crawlstream/progress';
import { crawlKeys, isTerminalEvent, WEBHOOK_EVENT_TYPES, type WebhookStatus } from '@crawlstream/shared';
import { type TestRedis, useRedis } from '@crawlstream/testkit';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CrawlWorker, createCrawlWorker } from './crawl-worker.js';
import { useLoopbackServer } from './test-support/loopback-server.js';
import { startCrawl, testWorkerOptions, waitForEnd } from './test-support/crawl.js';

const SECRET = `whsec_${Buffer.from('webhook-test-secret-of-32-bytes!').toString('base64')}`;

const site = useLoopbackServer((req, res) => {
  const links = req.url === '/docs/' ? '<a href="/docs/a">a</a><a href="/docs/b">b</a><a href="/docs/c">c</a>' : '';
  res.writeHead(200, { 'content-type': 'text/html' }).end(`<title>${req.url}</title><main><p>Page ${req.url}</p>${links}</main>`);
});

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** Epoch ms it arrived. */
  at: number;
}

/** A receiver on 127.0.0.1: records every POST and answers as `answer` says (status and headers for the n-th request, 0-based). */
class Receiver {
  readonly received: Delivery[] = [];
  answer: (n: number, body: string) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 });
  private server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const n = this.received.length;
      this.received.push({ headers: req.headers, body, at: Date.now() });
      const { status, headers } = this.answer(n, body);
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(status, headers).end();
      }, this.delayMs(n));
    });
  });
  /** How long the answer to the n-th request waits. */
  delayMs: (n: number) => number = () => 0;
  url = '';
  start(): Promise<void> {
    return this.listenOn(0);
  }
  async listenOn(port: number): Promise<void> {
    await new Promise<void>((ok) => this.server.listen(port, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((ok) => this.server.close(() => ok()));
  }
}

const receiver = new Receiver();
beforeAll(() => receiver.start());
afterAll(() => receiver.close());

let worker: CrawlWorker | undefined;
afterEach(async () => {
  await worker?.close();
  worker = undefined;
  receiver.received.length = 0;
  receiver.answer = () => ({ status: 200 });
  receiver.delayMs = () => 0;
});

/** A crawl with a webhook, created as the API creates it: the crawl, then its webhook, then the delivery job. */
async function crawlWithWebhook(redis: TestRedis, webhook: { url: string; events?: string[]; headers?: Record<string, string> }) {
  const connection = redis.connect();
  const { store, crawl } = await startCrawl(connection, redis.prefix, `${site.origin}/docs/`, { respectRobotsTxt: false, useSitemap: false });
  const webhooks = new CrawlWebhooks(connection, redis.prefix, 3600);
  await webhooks.register(crawl.id, { url: webhook.url, events: webhook.events ?? [...WEBHOOK_EVENT_TYPES], headers: webhook.headers ?? {} });
  const queue = createWebhookQueue(connection, redis.prefix);
  await enqueueWebhook(queue, crawl.id);
  return { store, crawl, webhooks };
}

async function waitForWebhook(webhooks: CrawlWebhooks, id: string, states: WebhookStatus['state'][]): Promise<WebhookStatus> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await webhooks.status(id);
    if (status && states.includes(status.state)) return status;
    if (Date.now() > deadline) throw new Error(`webhook did not reach ${states.join('/')}: ${JSON.stringify(status)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Checks each delivery's signature as a receiver would, and returns the verified bodies' ids in order. */
function verifiedIds(deliveries: Delivery[]): string[] {
  const verifier = new Webhook(SECRET);
  return deliveries.map((delivery) => {
    verifier.verify(delivery.body, delivery.headers as Record<string, string>);
    return delivery.headers['webhook-id'] as string;
  });
}

async function eventLog(store: CrawlStore, id: string): Promise<EventFrame[]> {
  return store.readAll(id);
}

describe('webhook delivery', () => {
  it('delivers every event of the log once, in order, signed, with the body the stream sends and the extra headers', async () => {
    const redis = useRedis('wh');
    worker = await createCrawlWorker(testWorkerOptions(redis, { webhookSecret: SECRET, webhookRetryBaseMs: 20, webhookPollMs: 50 }));
    const { store, crawl, webhooks } = await crawlWithWebhook(redis, { url: receiver.url, headers: { 'X-Receiver-Key': 'k-123' } });
    expect((await waitForEnd(store, crawl.id, 60_000)).status).toBe('completed');
    const status = await waitForWebhook(webhooks, crawl.id, ['done', 'failed']);
    const log = await eventLog(store, crawl.id);
    expect(log.length).toBeGreaterThan(5);
    expect(isTerminalEvent(log.at(-1)!.type)).toBe(true);
    expect(verifiedIds(receiver.received)).toEqual(log.map((frame) => frame.id));
    expect(receiver.received.map((d) => d.body)).toEqual(log.map((frame) => frame.data));
    for (const delivery of receiver.received) {
      expect(delivery.headers['x-receiver-key']).toBe('k-123');
      expect(delivery.headers['content-type']).toBe('application/json');
    }
    expect(status).toMatchObject({ state: 'done', lastDeliveredId: log.at(-1)!.id, pending: 0, attempts: 0, lastStatus: 200 });
    // The receiver's headers are deleted once delivery is over.
    expect(await redis.connect().hexists(crawlKeys(crawl.id, redis.prefix).webhook, 'headers')).toBe(0);
  });

  it('delivers only the event types of the filter (the terminal event ends the delivery even when filtered out)', async () => {
    const redis = useRedis('wh');
    worker = await createCrawlWorker(testWorkerOptions(redis, { webhookSecret: SECRET, webhookRetryBaseMs: 20, webhookPollMs: 50 }));
    const { store, crawl, webhooks } = await crawlWithWebhook(redis, { url: receiver.url, events: ['page', 'started'] });
    await waitForEnd(store, crawl.id, 60_000);
    const status = await waitForWebhook(webhooks, crawl.id, ['done', 'failed']);
    const log = await eventLog(store, crawl.id);
    const wanted = log.filter((frame) => frame.type === 'page' || frame.type === 'started');
    expect(wanted.filter((frame) => frame.type === 'page')).toHaveLength(4);
    expect(verifiedIds(receiver.received)).toEqual(wanted.map((frame) => frame.id));
    expect(status).toMatchObject({ state: 'done', events: ['page', 'started'], lastDeliveredId: log.at(-1)!.id });
  });

  it('retries a receiver that answers 500 twice, keeping the order, and honours Retry-After', async () => {
    const redis = useRedis('wh');
    worker = await createCrawlWorker(testWorkerOptions(redis, { webhookSecret: SECRET, webhookRetryBaseMs: 20, webhookPollMs: 50 }));
    // The second event fails twice (500, then 503 with Retry-After: 1), then is taken.
    receiver.answer = (n) => {
      if (n === 1) return { status: 500 };
      if (n === 2) return { status: 503, headers: { 'retry-after': '1' } };
      return { status: 204 };
    };
    const { store, crawl, webhooks } = await crawlWithWebhook(redis, { url: receiver.url });
    await waitForEnd(store, crawl.id, 60_000);
    const status = await waitForWebhook(webhooks, crawl.id, ['done', 'failed']);
    const log = await eventLog(store, crawl.id);
    const ids = verifiedIds(receiver.received);
    // The failed event is sent three times in a row, nothing overtakes it.
    expect(ids.slice(0, 4)).toEqual([log[0]!.id, log[1]!.id, log[1]!.id, log[1]!.id]);
    expect(ids.slice(3)).toEqual(log.slice(1).map((frame) => frame.id));
    // Retry-After: 1 is a floor of one second (the backoff alone would be 40 ms at most).
    expect(receiver.received[3]!.at - receiver.received[2]!.at).toBeGreaterThanOrEqual(1000);
    expect(status).toMatchObject({ state: 'done', attempts: 0, lastStatus: 204, lastError: 'HTTP 503' });
  });

  it('retries a receiver that is down (connection refused) until it is back on its port, then delivers everything in order', async () => {
    const redis = useRedis('wh');
    const away = new Receiver();
    await away.start();
    const port = new URL(away.url).port;
    await away.close();
    worker = await createCrawlWorker(testWorkerOptions(redis, { webhookSecret: SECRET, webhookRetryBaseMs: 50, webhookPollMs: 50 }));
    const { store, crawl, webhooks } = await crawlWithWebhook(redis, { url: away.url });
    const failing = await waitForWebhook(webhooks, crawl.id, ['failing', 'failed']);
    expect(failing.lastError).toMatch(/ECONNREFUSED/);
    const back = new Receiver();
    await back.listenOn(Number(port));
    try {
      await waitForEnd(store, crawl.id, 60_000);
      expect(await waitForWebhook(webhooks, crawl.id, ['done', 'failed'])).toMatchObject({ state: 'done' });
      expect(verifiedIds(back.received)).toEqual((await eventLog(store, crawl.id)).map((frame) => frame.id));
    } finally {
      await back.close();
    }
  });

  it('counts a receiver that does not answer within the timeout as a failed attempt, and sends that event again', async () => {
    const redis = useRedis('wh');
    worker = await createCrawlWorker(testWorkerOptions(redis, { webhookSecret: SECRET, webhookRetryBaseMs: 20, webhookPollMs: 50, webhookTimeoutMs: 300 }));
    receiver.delayMs = (n) => (n === 0 ? 2_000 : 0);
    const { store, crawl, webhooks } = await crawlWithWebhook(redis, { url: receiver.url });
    await waitForEnd(store, crawl.id, 60_000);
    const status = await waitForWebhook(webhooks, crawl.id, ['done', 'failed']);
    const log = await eventLog(store, crawl.id);
    const ids = verifiedIds(receiver.received);
    expect(ids.slice(0, 2)).toEqual([log[0]!.id, log[0]!.id]);
    expect(ids.slice(1)).toEqual(log.map((frame) => frame.id));
    expect(status).toMatchObject({ state: 'done', lastError: 'no answer within 300 ms' });
  });

  it('marks the webhook failed after WEBHOOK_MAX_ATTEMPTS failures, and the crawl is not affected', async () => {
    const redis = useRedis('wh');
    worker = await createCrawlWorker(testWorkerOptions(redis, { webhookSecret: SECRET, webhookRetryBaseMs: 1, webhookPollMs: 50 }));
    receiver.answer = () => ({ status: 410 });
    const { store, crawl, webhooks } = await crawlWithWebhook(redis, { url: receiver.url });
    const status = await waitForWebhook(webhooks, crawl.id, ['failed']);
    expect(status).toMatchObject({ state: 'failed', attempts: 10, lastStatus: 410, lastError: 'HTTP 410', lastDeliveredId: null });
    expect(receiver.received).toHaveLength(10);
    expect(new Set(receiver.received.map((d) => d.headers['webhook-id'])).size).toBe(1);
    expect(await redis.connect().hexists(crawlKeys(crawl.id, redis.prefix).webhook, 'headers')).toBe(0);
    expect((await waitForEnd(store, crawl.id, 60_000)).status).toBe('completed');
  });

  it('never connects to a webhook URL outside SSRF_ALLOW (the connect-time guard): the attempts fail as blocked', async () => {
    const redis = useRedis('wh');
    worker = await createCrawlWorker(testWorkerOptions(redis, { webhookSecret: SECRET, webhookRetryBaseMs: 1, webhookPollMs: 50 }));
    const blocked = receiver.url.replace('127.0.0.1', '127.0.0.2');
    const { webhooks, crawl } = await crawlWithWebhook(redis, { url: blocked });
    const status = await waitForWebhook(webhooks, crawl.id, ['failed']);
    expect(status.lastError).toMatch(/blocked/);
    expect(receiver.received).toHaveLength(0);
  });
});
