// The browser comes back: killed with -9 mid-page (the job is retried and
// completes on the relaunched browser), and restarted between pages when its
// processes pass the memory ceiling (pages still render).
import { setTimeout as sleep } from 'node:timers/promises';
import { renderJobId } from '@crawlstream/jobs';
import { useRedis } from '@crawlstream/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { commandLine, descendants } from './process-tree.js';
import type { Renderer } from './renderer.js';
import { type Spa, startSpa } from './test-support/fixtures.js';
import { createCrawl, type RenderClient, renderClient } from './test-support/render.js';
import { startRenderer } from './test-support/renderer.js';

const redis = useRedis('rrs');
let spa: Spa;
let client: RenderClient;
let crawlId: string;
let renderer: Renderer | undefined;

beforeAll(async () => {
  spa = await startSpa({ slowMs: 3_000 });
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
});

const job = (path: string) => ({ crawlId, url: `${spa.origin}${path}`, timeoutMs: 30_000, maxBytes: 1_000_000 });

/** The browser process of this test's renderer: a Chromium under this process that is not one of its helpers (--type=...). */
function browserPids(): number[] {
  return descendants()
    .map((entry) => entry.pid)
    .filter((pid) => {
      const cmd = commandLine(pid);
      return /chrom/i.test(cmd) && !cmd.includes('--type=');
    });
}

describe('browser restarts', () => {
  it('a browser killed with -9 mid-page is relaunched, and the page is rendered on the retry', async () => {
    renderer = await startRenderer(redis);
    const slowBefore = spa.hits.get('/app.js') ?? 0;
    const done = client.render(job('/slow/crash'));
    // The page is in the browser once its (held back) bundle was asked for.
    while ((spa.hits.get('/app.js') ?? 0) === slowBefore) await sleep(20);
    const pids = browserPids();
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    const result = await done;
    expect(result.kind).toBe('rendered');
    if (result.kind === 'rendered') expect(result.html).toContain('Heading of /slow/crash');
    expect(renderer.stats().crashRestarts).toBeGreaterThanOrEqual(1);
    expect((await client.queue.getJob(renderJobId(crawlId, job('/slow/crash').url)))?.attemptsMade).toBeGreaterThanOrEqual(1);
    // The relaunched browser renders the next page as usual.
    expect((await client.render(job('/after-crash'))).kind).toBe('rendered');
  });

  it('a browser over the memory ceiling is restarted between pages, and pages still render', async () => {
    renderer = await startRenderer(redis, { maxBrowserMb: 64, memoryCheckMs: 100 });
    for (let i = 0; i < 3; i++) {
      const result = await client.render(job(`/memory/${i}`));
      expect(result.kind).toBe('rendered');
      if (result.kind === 'rendered') expect(result.html).toContain(`Heading of /memory/${i}`);
    }
    expect(renderer.stats().memoryRestarts).toBeGreaterThanOrEqual(1);
  });
});
