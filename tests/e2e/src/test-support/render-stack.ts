// The rendering system as real processes (#17, docs/rendering.md): a private
// redis-server (the processes use the default key prefix, so each stack has a
// Redis of its own), the API, workers and renderers spawned with node as
// `npm run start:api`, `start:worker` and the renderer's `node
// apps/renderer/dist/main.js` run them, all with a narrow SSRF_ALLOW
// (127.0.0.1): the fixture on 127.0.0.1 is reachable, 127.0.0.2 is not.
// `close()` kills (SIGKILL) every process the stack started and waits for it.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Crawl, CrawlstreamClient, type CrawlErrorItem, type PageResult } from '@crawlstream/client';
import { createRenderQueue, liveRenderers, type RenderQueue } from '@crawlstream/jobs';
import { freePort, type RedisServer } from '@crawlstream/redis-runner';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { connect, startExtraRedis } from '@crawlstream/testkit';

const main = (app: string) => fileURLToPath(new URL(`../../../../apps/${app}/dist/main.js`, import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
/** The narrow allow-list every process of the stack runs with. */
export const SSRF_ALLOW = '127.0.0.1';
/** How long a process may take to be ready, and a crawl to end, on a loaded 2-core machine. */
const READY_TIMEOUT_MS = 60_000;
export const CRAWL_TIMEOUT_MS = 150_000;

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
  /** The last 20,000 characters it wrote (stdout and stderr), for failure messages. */
  output(): string;
}

function launch(name: string, script: string, env: Record<string, string>): Proc {
  const child: ChildProcess = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    pid: child.pid ?? -1,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    output: () => out,
  };
}

export interface RenderStack {
  redis: RedisServer;
  /** A connection to the stack's Redis. */
  connection: RedisConnection;
  /** The render queue, to see what the renderers were given. */
  renderQueue: RenderQueue;
  client: CrawlstreamClient;
  startWorker(env?: Record<string, string>): Promise<Proc>;
  /** A renderer process; ready once its heartbeat is in Redis. */
  startRenderer(env?: Record<string, string>): Promise<Proc>;
  /** Renderers whose heartbeat is fresh. */
  liveRenderers(): Promise<number>;
  /** Every process output, for a failure message. */
  logs(): string;
  close(): Promise<void>;
}

export async function openRenderStack(): Promise<RenderStack> {
  const redis = await startExtraRedis();
  const connection = connect(redis.url);
  const renderQueue = createRenderQueue(connection);
  const procs = new Set<Proc>();
  const all: Proc[] = [];
  const track = (proc: Proc) => {
    procs.add(proc);
    all.push(proc);
    proc.exited.then(() => procs.delete(proc));
    return proc;
  };
  const logs = () => all.map((p) => `--- ${p.name}\n${p.output().slice(-4000)}`).join('\n');
  const common = { REDIS_URL: redis.url, SSRF_ALLOW, LOG_LEVEL: 'info' };
  const close = async () => {
    const left = [...procs];
    for (const proc of left) proc.kill('SIGKILL');
    await Promise.all(left.map((proc) => proc.exited));
    await renderQueue.close();
  };

  const port = await freePort();
  const api = track(launch('api', main('api'), { ...common, PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_PER_MINUTE: '0' }));
  const base = `http://127.0.0.1:${port}`;
  try {
    await until(`${api.name} ready`, async () => {
      if ((await Promise.race([api.exited, sleep(0, 'running')])) !== 'running') throw new Error(`api exited: ${api.output()}`);
      return fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        (res) => res.status === 200,
        () => false,
      );
    });
  } catch (err) {
    await close();
    throw err;
  }
  let workers = 0;
  let renderers = 0;
  return {
    redis,
    connection,
    renderQueue,
    client: new CrawlstreamClient({ baseUrl: base }),
    async startWorker(env = {}) {
      const proc = track(launch(`worker${++workers}`, main('worker'), { ...common, WORKER_CONCURRENCY: '4', ...env }));
      await until(`${proc.name} ready`, async () => {
        if (/crawlstream worker ready/.test(proc.output())) return true;
        if ((await Promise.race([proc.exited, sleep(50, 'running')])) !== 'running') throw new Error(`${proc.name} exited: ${proc.output()}`);
        return false;
      });
      return proc;
    },
    async startRenderer(env = {}) {
      const before = await liveRenderers(connection);
      const proc = track(
        launch(`renderer${++renderers}`, main('renderer'), { ...common, CHROMIUM_PATH: CHROMIUM, RENDER_CONCURRENCY: '2', ...env }),
      );
      await until(`${proc.name} alive`, async () => {
        if ((await Promise.race([proc.exited, sleep(0, 'running')])) !== 'running') throw new Error(`${proc.name} exited: ${proc.output()}`);
        return (await liveRenderers(connection)) > before;
      });
      return proc;
    },
    liveRenderers: () => liveRenderers(connection),
    logs,
    close,
  };
}

/** Polls `check` every 100 ms until it is true; throws after `timeoutMs` (a bound on hanging, never a timing assertion). */
export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface CrawlOutcome {
  crawl: Crawl;
  /** Stored pages by URL; `duplicates` lists URLs stored more than once. */
  pages: Map<string, PageResult>;
  duplicates: string[];
  pageCount: number;
  /** Failed and skipped pages by URL. */
  errors: Map<string, CrawlErrorItem>;
}

/** Waits until the crawl is no longer queued or running, then reads its pages and errors. */
export async function crawlOutcome(stack: RenderStack, id: string): Promise<CrawlOutcome> {
  let crawl = await stack.client.getCrawl(id);
  await until(
    `crawl ${id} finished`,
    async () => {
      crawl = await stack.client.getCrawl(id);
      return crawl.status !== 'queued' && crawl.status !== 'running';
    },
    CRAWL_TIMEOUT_MS,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; counters ${JSON.stringify(crawl.counters)}\n${stack.logs()}`);
  });
  const pages = new Map<string, PageResult>();
  const duplicates: string[] = [];
  let pageCount = 0;
  for await (const page of stack.client.pages(id)) {
    pageCount++;
    if (pages.has(page.url)) duplicates.push(page.url);
    pages.set(page.url, page);
  }
  const errors = new Map((await stack.client.errors(id)).map((item) => [item.url, item]));
  return { crawl, pages, duplicates, pageCount, errors };
}
