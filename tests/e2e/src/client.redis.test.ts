// The SDK against the real system: API instances from buildApp, a real crawl
// worker and the fixture site, all on 127.0.0.1, on the run's real Redis.
import { randomUUID } from 'node:crypto';
import { CrawlstreamClient, type StreamedEvent } from '@crawlstream/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Site, startSite } from './docs-site.js';
import { type TestApi, useStack } from './stack.js';
import { failure } from './test-support/failure.js';

const stack = useStack('client');
let api: TestApi;
let site: Site;
let slowSite: Site;
let steadySite: Site;

beforeAll(async () => {
  [api, site, slowSite, steadySite] = await Promise.all([
    stack.startApi(),
    startSite({ pages: 40, latencyMs: 40 }),
    startSite({ pages: 30, latencyMs: 400 }),
    startSite({ pages: 40, latencyMs: 100 }),
  ]);
  await stack.startWorker({ concurrency: 4 });
});

afterAll(async () => {
  await Promise.all([site.close(), slowSite.close(), steadySite.close()]);
});

/** A fetch that counts its calls (to prove what was not retried). */
function countingFetch() {
  const calls: { url: string; status: number }[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    calls.push({ url: String(input), status: response.status });
    return response;
  };
  return { calls, fetch: wrapped };
}

async function collect(iterable: AsyncIterable<StreamedEvent>): Promise<StreamedEvent[]> {
  const out: StreamedEvent[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Asserts that `seen` is the crawl's whole event log: every stored event exactly once, in order. */
async function expectWholeLog(id: string, seen: StreamedEvent[]): Promise<void> {
  const stored = await stack.storedEvents(id);
  expect(seen.map((e) => `${e.id} ${e.event.type}`)).toEqual(stored.map((f) => `${f.id} ${f.type}`));
  expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
  expect(seen.at(-1)?.event.type).toBe('completed');
}

const options = { maxPages: 100, concurrency: 2, useSitemap: false };

describe('the SDK against a real API and worker', () => {
  it('yields every event exactly once and in order while its connections are destroyed mid-crawl', async () => {
    const client = new CrawlstreamClient({ baseUrl: api.base });
    const created = await client.createCrawl(site.start, options);
    expect(created.status).toMatch(/queued|running/);
    const seen: StreamedEvent[] = [];
    let reconnects = 0;
    const dropAt = new Set([3, 12, 25, 40]);
    for await (const streamed of client.events(created.id, { lastEventId: '0', onReconnect: () => reconnects++ })) {
      seen.push(streamed);
      // The crawl goes on while the stream is cut: the resumed stream has to replay what was missed.
      if (dropAt.has(seen.length)) expect(api.dropConnections()).toBeGreaterThan(0);
    }
    expect(reconnects).toBeGreaterThanOrEqual(4);
    await expectWholeLog(created.id, seen);
    expect(seen.filter((e) => e.event.type === 'page')).toHaveLength(site.pageUrls.length);

    const crawl = await client.getCrawl(created.id);
    expect(crawl).toMatchObject({ status: 'completed', counters: { processed: 40, failed: 0, skipped: 0, discovered: 40 } });
    const pages: string[] = [];
    for await (const page of client.pages(created.id, { limit: 7 })) pages.push(page.url);
    expect(pages.sort()).toEqual([...site.pageUrls].sort());
    const markdown = await client.markdown(created.id);
    for (const url of site.pageUrls) expect(markdown).toContain(`> Source: ${url}\n`);
    expect(await client.errors(created.id)).toEqual([]);
  });

  it('resumes on a new API instance after the one it was reading from is restarted mid-crawl', async () => {
    const first = await stack.startApi();
    const port = first.port;
    const client = new CrawlstreamClient({ baseUrl: first.base, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    // Slow enough pages (2 at a time, 100 ms each) that the crawl outlasts the restart.
    const created = await client.createCrawl(steadySite.start, options);
    const seen: StreamedEvent[] = [];
    const errors: string[] = [];
    let restarted: Promise<TestApi> | undefined;
    let statusAtRestart: string | undefined;
    for await (const streamed of client.events(created.id, {
      lastEventId: '0',
      onReconnect: (info) => errors.push(info.error?.code ?? 'ended'),
    })) {
      seen.push(streamed);
      if (seen.length === 5) {
        // Stop the instance (its streams end cleanly), leave it down a moment, then start another on the same port.
        restarted = first.close().then(async () => {
          await new Promise((resolve) => setTimeout(resolve, 300));
          statusAtRestart = (await stack.store.get(created.id))?.status;
          return stack.startApi({ port });
        });
      }
    }
    const second = await restarted;
    expect(second?.port).toBe(port);
    expect(statusAtRestart).toBe('running');
    expect(errors).toContain('network_error');
    await expectWholeLog(created.id, seen);
    await second?.close();
  });

  it('throws typed errors on 404 and 400 without retrying', async () => {
    const { calls, fetch } = countingFetch();
    const client = new CrawlstreamClient({ baseUrl: api.base, fetch, reconnect: { initialDelayMs: 10 } });
    const missing = await failure(collect(client.events(randomUUID())));
    expect(missing).toMatchObject({ status: 404, code: 'not_found' });
    const malformed = await failure(collect(client.events('not-a-crawl-id')));
    expect(malformed).toMatchObject({ status: 400, code: 'invalid_id' });
    const created = await client.createCrawl(site.start, { ...options, maxPages: 1 });
    const cursor = await failure(collect(client.events(created.id, { lastEventId: 'yesterday' })));
    expect(cursor).toMatchObject({ status: 400, code: 'invalid_last_event_id' });
    expect(calls.map((c) => c.status)).toEqual([404, 400, 201, 400]);

    expect(await failure(client.getCrawl(randomUUID()))).toMatchObject({ status: 404, code: 'not_found' });
    const invalid = await failure(client.createCrawl('ftp://127.0.0.1/'));
    expect(invalid).toMatchObject({ status: 400, code: 'validation_failed' });
    expect(await failure(client.createCrawl(site.start, { maxPages: 0 }))).toMatchObject({ status: 400 });
  });

  it('ends on 204 at the terminal event, and after the snapshot of a finished crawl', async () => {
    const { calls, fetch } = countingFetch();
    const client = new CrawlstreamClient({ baseUrl: api.base, fetch });
    const created = await client.createCrawl(site.start, { ...options, maxPages: 3 });
    const all = await collect(client.events(created.id, { lastEventId: '0' }));
    const terminal = all.at(-1)!;
    expect(terminal.event.type).toBe('completed');

    calls.length = 0;
    expect(await collect(client.events(created.id, { lastEventId: terminal.id }))).toEqual([]);
    expect(calls.map((c) => c.status)).toEqual([204]);

    calls.length = 0;
    const fresh = await collect(client.events(created.id));
    expect(fresh.map((e) => e.event.type)).toEqual(['snapshot']);
    expect(fresh[0]!.event).toMatchObject({ status: 'completed', counters: { processed: 3 } });
    expect(calls.map((c) => c.status)).toEqual([200]);

    expect(await failure(client.cancelCrawl(created.id))).toMatchObject({ status: 409, code: 'already_finished' });
  });

  it('cancels a running crawl: the stream ends with the cancelled event', async () => {
    const client = new CrawlstreamClient({ baseUrl: api.base });
    const created = await client.createCrawl(slowSite.start, options);
    const seen: string[] = [];
    for await (const { event } of client.events(created.id)) {
      seen.push(event.type);
      if (event.type === 'snapshot') expect((await client.cancelCrawl(created.id)).status).toBe('cancelled');
    }
    expect(seen[0]).toBe('snapshot');
    expect(seen.at(-1)).toBe('cancelled');
    expect((await client.cancelCrawl(created.id)).status).toBe('cancelled');
    const listed = await client.listCrawls({ status: 'cancelled' });
    expect(listed.items.map((c) => c.id)).toContain(created.id);
  });

  it('returns the same crawl for the same Idempotency-Key', async () => {
    const client = new CrawlstreamClient({ baseUrl: api.base });
    const key = `test-${randomUUID()}`;
    const first = await client.createCrawl(site.start, { ...options, maxPages: 2 }, { idempotencyKey: key });
    const again = await client.createCrawl(site.start, { ...options, maxPages: 2 }, { idempotencyKey: key });
    expect(again.id).toBe(first.id);
    await collect(client.events(first.id));
  });

  it('works with API_KEYS: a key sees its crawls, no key is 401, the stream token opens the stream', async () => {
    const key = 'test-key-0123456789abcdef';
    const secured = await stack.startApi({ env: { API_KEYS: `${key},other-key-0123456789abcdef` } });
    const client = new CrawlstreamClient({ baseUrl: secured.base, apiKey: key });
    const created = await client.createCrawl(site.start, { ...options, maxPages: 5 });
    expect(created.streamToken).toMatch(/^\d+\./);

    const anonymous = new CrawlstreamClient({ baseUrl: secured.base });
    expect(await failure(anonymous.getCrawl(created.id))).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(await failure(collect(anonymous.events(created.id)))).toMatchObject({ status: 401, code: 'unauthorized' });
    const stranger = new CrawlstreamClient({ baseUrl: secured.base, apiKey: 'other-key-0123456789abcdef' });
    expect(await failure(collect(stranger.events(created.id)))).toMatchObject({ status: 404 });

    const viaToken = await collect(anonymous.events(created.id, { lastEventId: '0', token: created.streamToken! }));
    await expectWholeLog(created.id, viaToken);
    expect((await client.getCrawl(created.id)).status).toBe('completed');
  });
});
