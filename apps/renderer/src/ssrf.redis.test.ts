// The browser reaches no address the SSRF guard refuses, whatever the page's
// script tries (fetch, XHR, WebSocket, <img>, <iframe>, navigation): a server
// on 127.0.0.2 counts every connection. The control run allows 127.0.0.2 and
// shows the same scripts do reach it.
import { useRedis } from '@crawlstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Renderer } from './renderer.js';
import { type Counter, type Spa, startCounter, startSpa } from './test-support/fixtures.js';
import { createCrawl, type RenderClient, renderClient } from './test-support/render.js';
import { startRenderer } from './test-support/renderer.js';

const redis = useRedis('rss');
let spa: Spa;
let counter: Counter;
let client: RenderClient;
let crawlId: string;
let renderer: Renderer | undefined;

beforeAll(async () => {
  counter = await startCounter();
  spa = await startSpa({ target: counter.origin });
  client = await renderClient(redis.connect, redis.prefix);
  crawlId = await createCrawl(redis.connect(), redis.prefix, `${spa.origin}/`);
});
afterEach(async () => {
  await renderer?.close();
  renderer = undefined;
});
afterAll(async () => {
  await client?.close();
  await spa?.close();
  await counter?.close();
});

let run = 0;
const attack = (kind: string) => client.render({ crawlId, url: `${spa.origin}/attack/${kind}/${run++}`, timeoutMs: 15_000, maxBytes: 1_000_000 });

describe('browser SSRF guard', () => {
  it('a page script reaches nothing outside SSRF_ALLOW, and its tries are counted', async () => {
    renderer = await startRenderer(redis, { ssrfAllow: ['127.0.0.1'] });
    const results = [await attack('subresources'), await attack('websocket'), await attack('navigate')];
    for (const result of results) {
      expect(result.kind).toBe('rendered');
      if (result.kind === 'rendered') expect(result.html).toContain('attack done');
    }
    expect(counter.connections).toBe(0);
    const [subresources, , navigate] = results;
    expect(subresources?.kind === 'rendered' && subresources.blockedRequests).toBeGreaterThan(0);
    expect(navigate?.kind === 'rendered' && navigate.blockedRequests).toBeGreaterThan(0);
    // The navigation was refused: the render is still the attack page's own document.
    expect(navigate?.kind === 'rendered' && navigate.finalUrl).toMatch(/\/attack\/navigate\//);
    expect(renderer.proxy.blocked).toBeGreaterThan(0); // the WebSocket, refused by the proxy itself
  });

  it('control: with 127.0.0.2 allowed, the same scripts do reach it', async () => {
    renderer = await startRenderer(redis, { ssrfAllow: ['127.0.0.1', '127.0.0.2'] });
    const before = counter.connections;
    expect((await attack('subresources')).kind).toBe('rendered');
    expect(counter.connections).toBeGreaterThan(before);
    const afterSubresources = counter.connections;
    expect((await attack('websocket')).kind).toBe('rendered');
    expect(counter.connections).toBeGreaterThan(afterSubresources);
  });

  it('a document the guard refuses fails as ssrf_blocked', async () => {
    renderer = await startRenderer(redis, { ssrfAllow: ['127.0.0.1'] });
    const before = counter.connections;
    const result = await client.render({ crawlId, url: `${counter.origin}/private`, timeoutMs: 15_000, maxBytes: 1_000_000 });
    expect(result).toMatchObject({ kind: 'failed', reason: 'ssrf_blocked' });
    expect(counter.connections).toBe(before);
  });
});
