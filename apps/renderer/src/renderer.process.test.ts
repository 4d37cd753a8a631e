// Two renderer processes (the built main.js, as `npm run start:renderer` runs
// it) on a private Redis: the one holding a slow render is killed with -9, and
// the job completes from the other once its lock expires; the killed one's
// heartbeat goes stale. A graceful stop leaves the renderers set at once.
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { liveRenderers, RENDERER_STALE_MS, renderJobId } from '@crawlstream/jobs';
import { globalKeys, DEFAULT_KEY_PREFIX } from '@crawlstream/shared';
import { connect, startExtraRedis } from '@crawlstream/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { descendants } from './process-tree.js';
import { type Spa, startSpa } from './test-support/fixtures.js';
import { createCrawl, renderClient } from './test-support/render.js';
import { chromiumPath } from './test-support/renderer.js';

const mainJs = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const children: ChildProcess[] = [];
let redisUrl: string;
let spa: Spa;

beforeAll(async () => {
  redisUrl = (await startExtraRedis()).url;
  spa = await startSpa({ slowMs: 3_000 });
  return () => spa.close();
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    const browsers = child.pid ? descendants(child.pid) : [];
    child.kill('SIGKILL');
    for (const entry of browsers) {
      try {
        process.kill(entry.pid, 'SIGKILL');
      } catch {}
    }
  }
});

function startRendererProcess(): Promise<ChildProcess> {
  const env = { ...process.env, REDIS_URL: redisUrl, REDIS_CLUSTER: 'false', SSRF_ALLOW: '127.0.0.1', CHROMIUM_PATH: chromiumPath(), RENDER_CONCURRENCY: '1', LOG_LEVEL: 'info' };
  const child = spawn(process.execPath, [mainJs], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (/renderer ready/.test(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`renderer exited early (${code}): ${out}`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code, signal) => resolve(code ?? (signal as unknown as number)));
  });

describe('renderer processes', () => {
  it('a render held by a renderer killed with -9 completes from the other one; the dead one goes stale', async () => {
    const redis = connect(redisUrl);
    const client = await renderClient((options) => connect(redisUrl, options), DEFAULT_KEY_PREFIX);
    try {
      const crawlId = await createCrawl(redis, DEFAULT_KEY_PREFIX, `${spa.origin}/`);
      const [a, b] = await Promise.all([startRendererProcess(), startRendererProcess()]);
      expect(await liveRenderers(redis)).toBe(2);
      const data = { crawlId, url: `${spa.origin}/slow/killed`, timeoutMs: 30_000, maxBytes: 1_000_000 };
      const job = await client.queue.add('render', data, { jobId: renderJobId(crawlId, data.url) });
      const done = job.waitUntilFinished(client.events, 120_000);
      // The holder is the renderer whose name (hostname:pid:random) the active job carries.
      let holder: string | undefined;
      while (!holder) {
        holder = (await client.queue.getJob(job.id!))?.processedBy;
        if (!holder) await sleep(20);
      }
      while ((spa.hits.get('/app.js') ?? 0) === 0) await sleep(20);
      const pid = Number(holder.split(':').at(-2));
      const killed = [a, b].find((child) => child.pid === pid)!;
      expect(killed).toBeDefined();
      const browsers = descendants(pid);
      killed.kill('SIGKILL');
      await exited(killed);
      for (const entry of browsers) {
        try {
          process.kill(entry.pid, 'SIGKILL');
        } catch {}
      }
      const result = await client.withDom(await done);
      expect(result.kind).toBe('rendered');
      if (result.kind === 'rendered') expect(result.html).toContain('Heading of /slow/killed');
      expect((await client.queue.getJob(job.id!))?.processedBy).not.toBe(holder);
      // The killed renderer's heartbeat stops: it leaves the live count once stale.
      for (;;) {
        const score = Number(await redis.zscore(globalKeys().renderers, holder));
        if (Date.now() - score > RENDERER_STALE_MS) break;
        await sleep(250);
      }
      expect(await liveRenderers(redis)).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('SIGTERM stops a renderer cleanly (exit 0) and removes it from the live renderers', async () => {
    const redis = connect(redisUrl);
    const before = await liveRenderers(redis);
    const child = await startRendererProcess();
    expect(await liveRenderers(redis)).toBe(before + 1);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(await liveRenderers(redis)).toBe(before);
  });
});
