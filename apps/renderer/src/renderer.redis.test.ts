// The renderer against real Redis and real Chromium: render jobs added and
// awaited as a worker does, loopback fixture sites.
import { liveRenderers, RENDER_RESULT_TTL_SECONDS, renderJobId } from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import { crawlKeys, renderedDomKey, renderQueuePrefix } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Renderer } from './renderer.js';
import { type Spa, startSpa } from './test-support/fixtures.js';
import { createCrawl, type RenderClient, renderClient } from './test-support/render.js';
import { startRenderer } from './test-support/renderer.js';

const redis = useRedis('rnd');
let spa: Spa;
let thirdParty: Spa;
let client: RenderClient;
let renderer: Renderer;
let crawlId: string;

beforeAll(async () => {
  thirdParty = await startSpa();
  spa = await startSpa({ thirdParty: thirdParty.origin });
  client = await renderClient(redis.connect, redis.prefix);
  crawlId = await createCrawl(redis.connect(), redis.prefix, `${spa.origin}/`);
  renderer = await startRenderer(redis, { contextPages: 2 });
});
afterAll(async () => {
  await renderer?.close();
  await client?.close();
  await spa?.close();
  await thirdParty?.close();
});

const job = (path: string, extra = {}) => ({ crawlId, url: `${spa.origin}${path}`, timeoutMs: 20_000, maxBytes: 1_000_000, ...extra });

describe('renderer', () => {
  it('keeps the DOM out of the job and the queue\'s event stream: under its own key, for at most RENDER_RESULT_TTL_SECONDS', async () => {
    const data = job('/docs/kept-apart');
    const result = await client.render(data);
    expect(result.kind === 'rendered' && result.html).toContain('Heading of /docs/kept-apart');
    const id = renderJobId(crawlId, data.url);
    const stored = await client.queue.getJob(id);
    expect(stored?.returnvalue).toMatchObject({ kind: 'rendered', htmlKey: renderedDomKey(crawlId, id, redis.prefix) });
    expect(JSON.stringify(stored?.returnvalue)).not.toContain('Heading of');
    const events = await redis.connect().xrange(`${renderQueuePrefix(redis.prefix)}:render:events`, '-', '+');
    expect(events.length).toBeGreaterThan(0);
    expect(JSON.stringify(events)).not.toContain('Heading of');
    const ttl = await redis.connect().ttl(renderedDomKey(crawlId, id, redis.prefix));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(RENDER_RESULT_TTL_SECONDS);
  });

  it('returns the DOM the page script built, without images, fonts or a service worker', async () => {
    const result = await client.render(job('/docs/intro'));
    expect(result.kind).toBe('rendered');
    if (result.kind !== 'rendered') return;
    expect(result.html).toMatch(/^<!DOCTYPE html>/);
    expect(result.html).toContain('<h1>Heading of /docs/intro</h1>');
    expect(result.html).toContain('href="/docs/intro/child-a"');
    expect(result.status).toBe(200);
    expect(result.finalUrl).toBe(`${spa.origin}/docs/intro`);
    expect(result.bytes).toBe(Buffer.byteLength(result.html));
    // Playwright's serviceWorkers: 'block' makes register() a no-op: the worker script is never even fetched.
    expect(spa.hits.get('/sw.js') ?? 0).toBe(0);
    expect(spa.hits.get('/logo.png') ?? 0).toBe(0);
    expect(spa.hits.get('/late.png') ?? 0).toBe(0);
    expect(spa.hits.get('/font.woff2') ?? 0).toBe(0);
    expect(result.blockedRequests).toBeGreaterThan(0);
  });

  it('recycles a context after RENDER_CONTEXT_PAGES pages, and renders every page', async () => {
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await client.render(job(`/recycle/${i}`)));
    results.forEach((result, i) => {
      expect(result.kind).toBe('rendered');
      if (result.kind === 'rendered') expect(result.html).toContain(`Heading of /recycle/${i}`);
    });
    // Six pages so far (one in the test above), two per context.
    expect(renderer.stats().contextsCreated).toBeGreaterThanOrEqual(3);
  });

  it('fails an error page as http_4xx / http_5xx, and a DOM over maxBytes as too_large', async () => {
    expect(await client.render(job('/status/404'))).toMatchObject({ kind: 'failed', reason: 'http_4xx', status: 404 });
    expect(await client.render(job('/status/503'))).toMatchObject({ kind: 'failed', reason: 'http_5xx', status: 503 });
    expect(await client.render(job('/big', { maxBytes: 1024 }))).toMatchObject({ kind: 'failed', reason: 'too_large' });
  });

  it('returns at the waitFor selector, and the DOM so far when the network never goes idle', async () => {
    const atSelector = await client.render(job('/busy/selector', { waitFor: '#ready', timeoutMs: 20_000 }));
    expect(atSelector.kind === 'rendered' && atSelector.html).toContain('busy page ready');
    // No selector: the wait for network idle runs out (a request never ends), the document loaded: what rendered is the result.
    const atTimeout = await client.render(job('/busy/idle', { timeoutMs: 2_000 }));
    expect(atTimeout.kind === 'rendered' && atTimeout.html).toContain('busy page ready');
  });

  it("applies the crawl's robots.txt to the page's own requests, and sends its headers to its start origin only", async () => {
    const privateCrawl = await createCrawl(redis.connect(), redis.prefix, `${spa.origin}/api/`, { headers: { 'x-docs-token': 'token-1' } });
    const host = new URL(spa.origin).host;
    await redis
      .connect()
      .hset(crawlKeys(privateCrawl, redis.prefix).robots, host, JSON.stringify({ status: 200, body: 'User-agent: *\nDisallow: /private-api/\n' }));
    const result = await client.render({ ...job('/api/page'), crawlId: privateCrawl, respectRobotsTxt: true });
    expect(result.kind).toBe('rendered');
    if (result.kind !== 'rendered') return;
    expect(result.html).toContain('refused | answer of /public-api/data | answer of /third');
    expect(spa.hits.get('/private-api/data') ?? 0).toBe(0);
    expect(result.blockedRequests).toBeGreaterThan(0);
    expect(spa.seen.get('/api/page')?.['x-docs-token']).toBe('token-1');
    expect(spa.seen.get('/public-api/data')?.['x-docs-token']).toBe('token-1');
    expect(thirdParty.seen.get('/third')).toBeDefined();
    expect(thirdParty.seen.get('/third')?.['x-docs-token']).toBeUndefined();
    // The same page with robots.txt not respected: the private API answers.
    const ignoring = await client.render({ ...job('/api/page2'), crawlId: privateCrawl, respectRobotsTxt: false });
    expect(ignoring.kind === 'rendered' && ignoring.html).toContain('answer of /private-api/data');
  });

  it("takes the host's politeness slot for the document when the crawl has a gap", async () => {
    const store = new CrawlStore({ redis: redis.connect(), prefix: redis.prefix });
    const host = new URL(spa.origin).host;
    expect((await client.render(job('/polite/page', { gapMs: 60_000 }))).kind).toBe('rendered');
    // The render's request took the slot: the next request to the host waits for the rest of the minute.
    expect((await store.reserveHostSlot(crawlId, host, 60_000))?.waitMs).toBeGreaterThan(0);
  });

  it('refuses malformed job data without retrying', async () => {
    const added = await client.queue.add('render', { crawlId, url: 'x' } as never, { jobId: 'malformed' });
    await expect(added.waitUntilFinished(client.events, 30_000)).rejects.toThrow(/malformed render job/);
    expect((await client.queue.getJob('malformed'))?.attemptsMade).toBe(1);
  });

  it('beats while it runs and leaves the renderers set when it stops', async () => {
    const connection = redis.connect();
    expect(await liveRenderers(connection, redis.prefix)).toBe(1);
    await renderer.close();
    expect(await liveRenderers(connection, redis.prefix)).toBe(0);
  });
});
