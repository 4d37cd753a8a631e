// One tab per context slot, reused from render to render (RENDER_CONCURRENCY
// 1: every job below runs in the same tab): the rules of one job (robots.txt,
// private headers) never apply to the next job's requests, and the previous
// document is stopped before the next one loads, so its timers reach nothing
// in the next job's name.
import { crawlKeys } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Renderer } from './renderer.js';
import { type Spa, startSpa } from './test-support/fixtures.js';
import { createCrawl, type RenderClient, renderClient } from './test-support/render.js';
import { startRenderer } from './test-support/renderer.js';

const redis = useRedis('rtb');
let spa: Spa;
let thirdParty: Spa;
let client: RenderClient;
let renderer: Renderer;

beforeAll(async () => {
  thirdParty = await startSpa();
  spa = await startSpa({ thirdParty: thirdParty.origin, heldMs: 1_000 });
  client = await renderClient(redis.connect, redis.prefix);
  renderer = await startRenderer(redis, { concurrency: 1 });
});
afterAll(async () => {
  await renderer?.close();
  await client?.close();
  await spa?.close();
  await thirdParty?.close();
});

const job = (crawlId: string, path: string, extra = {}) => ({ crawlId, url: `${spa.origin}${path}`, timeoutMs: 20_000, maxBytes: 1_000_000, ...extra });

describe('a reused tab', () => {
  it("applies crawl A's robots.txt and headers to A's render only, not to crawl B's next render in the same tab", async () => {
    const crawlA = await createCrawl(redis.connect(), redis.prefix, `${spa.origin}/api/`, { headers: { 'x-docs-token': 'token-a' } });
    const crawlB = await createCrawl(redis.connect(), redis.prefix, `${spa.origin}/api/`);
    const host = new URL(spa.origin).host;
    await redis.connect().hset(crawlKeys(crawlA, redis.prefix).robots, host, JSON.stringify({ status: 200, body: 'User-agent: *\nDisallow: /private-api/\n' }));

    const a = await client.render({ ...job(crawlA, '/api/a'), respectRobotsTxt: true });
    expect(a.kind === 'rendered' && a.html).toContain('refused | answer of /public-api/data');
    expect(spa.hits.get('/private-api/data') ?? 0).toBe(0);
    expect(spa.seen.get('/public-api/data')?.['x-docs-token']).toBe('token-a');

    // Crawl B stored no robots.txt and has no headers: its page's fetch of the same path goes through, without A's header.
    const b = await client.render({ ...job(crawlB, '/api/b'), respectRobotsTxt: true });
    expect(b.kind === 'rendered' && b.html).toContain('answer of /private-api/data | answer of /public-api/data');
    expect(spa.hits.get('/private-api/data')).toBe(1);
    expect(spa.seen.get('/api/b')?.['x-docs-token']).toBeUndefined();
    expect(spa.seen.get('/private-api/data')?.['x-docs-token']).toBeUndefined();
    expect(spa.seen.get('/public-api/data')?.['x-docs-token']).toBeUndefined();
    // Both renders ran in one tab.
    expect(renderer.stats().tabsOpened).toBe(1);
  });

  it("stops the previous document: a timer of job 1's page reaches nothing once job 2 has started", async () => {
    const crawl = await createCrawl(redis.connect(), redis.prefix, `${spa.origin}/`);
    const first = await client.render(job(crawl, '/poll/page', { waitFor: '#polling' }));
    expect(first.kind === 'rendered' && first.html).toContain('polling page');
    // Job 2's document is held back for a second by the server: a document still alive meanwhile would keep asking every 50 ms.
    const second = await client.render(job(crawl, '/held/next'));
    expect(second.kind === 'rendered' && second.html).toContain('Heading of /held/next');
    const started = spa.order.indexOf('/held/next');
    expect(started).toBeGreaterThan(-1);
    expect(spa.order.slice(started).filter((path) => path === '/poll-ping')).toEqual([]);
    expect(renderer.stats().tabsOpened).toBe(1);
  });

  it('lets no popup of the page load anything: window.open, noopener, a target=_blank link', async () => {
    const crawlId = await createCrawl(redis.connect(), redis.prefix, `${spa.origin}/popup/`);
    const result = await client.render(job(crawlId, '/popup/one'));
    expect(result.kind === 'rendered' && result.html).toContain('popups tried');
    // The page's script ran (its bundle was fetched) and asked for three popups; none of them reached the site.
    expect(spa.hits.get('/popup.js') ?? 0).toBeGreaterThan(0);
    expect(spa.hits.get('/popup-target') ?? 0).toBe(0);
    // The tab itself goes on rendering.
    const next = await client.render(job(crawlId, '/docs/after-popups'));
    expect(next.kind === 'rendered' && next.html).toContain('Heading of /docs/after-popups');
    expect(spa.hits.get('/popup-target') ?? 0).toBe(0);
  });
});
