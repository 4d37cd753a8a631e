// The real system for the browser tests, all on 127.0.0.1: API instances
// built with `buildApp` in this process (a Redis prefix per file) or started
// as `node apps/api/dist/main.js` processes (for killing and restarting),
// a real crawl worker, and the ground truth read straight from a crawl's
// event log. Everything started here is stopped after the file.
import { type ChildProcess, spawn } from 'node:child_process';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { buildApp } from '@crawlstream/api';
import { CrawlStore, type CrawlStoreOptions, type EventFrame } from '@crawlstream/progress';
import { loadConfig } from '@crawlstream/shared';
import { type CrawlWorker, createCrawlWorker } from '@crawlstream/worker';
import { afterAll } from 'vitest';

const API_MAIN = fileURLToPath(new URL('../../../api/dist/main.js', import.meta.url));
/** This package's build, which the API serves at `/`. */
const DASHBOARD_DIR = fileURLToPath(new URL('../../dist/', import.meta.url));

export interface TestApi {
  base: string;
  port: number;
  close(): Promise<void>;
}

export interface InProcessApi extends TestApi {
  /** Destroys every open connection (streams included) without stopping the server. */
  dropConnections(): number;
}

const apis = new Set<TestApi>();
const workers = new Set<CrawlWorker>();
const processes = new Set<ChildProcess>();

afterAll(async () => {
  for (const child of processes) child.kill('SIGKILL');
  await Promise.allSettled([...apis].map((api) => api.close()));
  await Promise.allSettled([...workers].map((worker) => worker.close()));
});

/** An API in this process, from `buildApp`, on a free port. */
export async function startApi(options: {
  redisUrl: string;
  prefix: string;
  env?: Record<string, string>;
  streamTokenTtlSeconds?: number;
}): Promise<InProcessApi> {
  const app = await buildApp({
    config: loadConfig({ LOG_LEVEL: 'silent', ...options.env }),
    redisUrl: options.redisUrl,
    prefix: options.prefix,
    dashboardDir: DASHBOARD_DIR,
    settings: { rateLimitPerMinute: 0, ...(options.streamTokenTtlSeconds ? { streamTokenTtlSeconds: options.streamTokenTtlSeconds } : {}) },
  });
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const api: InProcessApi = {
    base: `http://127.0.0.1:${port}`,
    port,
    dropConnections() {
      const n = sockets.size;
      for (const socket of sockets) socket.destroy();
      return n;
    },
    async close() {
      apis.delete(api);
      await app.close();
    },
  };
  apis.add(api);
  return api;
}

export interface ApiProcess extends TestApi {
  readonly child: ChildProcess;
  /** What the process wrote to stderr (for failure messages). */
  stderr(): string;
  /** SIGKILL, as in a crash; resolves when the process is gone. */
  kill(): Promise<void>;
}

/** `node apps/api/dist/main.js` with REDIS_URL and PORT, as `npm run start:api` runs it; resolves once /readyz answers 200. */
export async function startApiProcess(options: { redisUrl: string; port: number; env?: Record<string, string> }): Promise<ApiProcess> {
  const child = spawn(process.execPath, [API_MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: options.redisUrl,
      PORT: String(options.port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  processes.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => processes.delete(child));
  const base = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API process exited with ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${base}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the API process did not get ready: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return { base, port: options.port, child, stderr: () => stderr, kill, close: kill };
}

export async function startWorker(options: { redisUrl: string; prefix?: string; concurrency?: number; webhookSecret?: string }): Promise<CrawlWorker> {
  const worker = await createCrawlWorker({
    redisUrl: options.redisUrl,
    ...(options.prefix ? { prefix: options.prefix } : {}),
    ...(options.webhookSecret ? { webhookSecret: options.webhookSecret, webhookRetryBaseMs: 20, webhookPollMs: 50 } : {}),
    concurrency: options.concurrency ?? 4,
    ssrfAllow: ['127.0.0.1/32'],
    retryBaseMs: 50,
  });
  workers.add(worker);
  return worker;
}

/** Every stored event of a crawl, in order: what a reader from '0' must see. */
export function storedEvents(redis: CrawlStoreOptions['redis'], prefix: string | undefined, id: string): Promise<EventFrame[]> {
  return new CrawlStore({ redis, ...(prefix ? { prefix } : {}) }).readAll(id);
}
