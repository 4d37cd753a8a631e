// The renderer: a BullMQ Worker on the render queue that renders each job's
// page in the browser pool, stores the DOM for the worker and returns a RenderResult naming it. It never
// settles a page nor writes crawl state, except the host's politeness slot
// that the render's document request takes like a fetch. It beats in the
// renderers zset while it runs and leaves it when it stops.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  beatRenderer,
  RENDER_LOCK_MS,
  RENDER_QUEUE,
  RENDER_STALLED_INTERVAL_MS,
  RENDERER_HEARTBEAT_MS,
  type RenderJobData,
  type RenderResult,
  saveRenderedDom,
  removeRenderer,
  renderJobData,
  renderQueueOptions,
} from '@crawlstream/jobs';
import { headersForOrigins, parseRobots, type RobotsRules, robotsForUnavailable, robotsUrlFor } from '@crawlstream/pipeline';
import { CrawlStore } from '@crawlstream/progress';
import { connectRedis } from '@crawlstream/redis-connection';
import { DEFAULT_KEY_PREFIX } from '@crawlstream/shared';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { type Logger, pino } from 'pino';
import { BrowserPool } from './browser-pool.js';
import { type GuardProxy, startGuardProxy } from './guard-proxy.js';
import { type RenderRules, renderPage } from './render-page.js';

export interface RendererOptions {
  redisUrl: string;
  redisCluster?: boolean;
  prefix?: string;
  executablePath: string;
  ssrfAllow: readonly string[];
  concurrency: number;
  timeoutMs: number;
  contextPages: number;
  maxBrowserMb: number;
  /** How often the browser's memory is read (default 5 s). */
  memoryCheckMs?: number;
  /** Longest wait for in-flight pages when stopping (default 30 s). */
  closeTimeoutMs?: number;
  logger?: Logger;
}

export interface Renderer {
  readonly id: string;
  readonly worker: Worker<RenderJobData, RenderResult>;
  readonly proxy: GuardProxy;
  /** Contexts created, tabs opened, browser restarts (crash and memory). */
  stats(): { contextsCreated: number; tabsOpened: number; restarts: number; crashRestarts: number; memoryRestarts: number };
  close(): Promise<void>;
}

interface StoredRobots {
  status?: number;
  body?: string;
}

export async function createRenderer(options: RendererOptions): Promise<Renderer> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const logger = options.logger ?? pino({ level: 'silent' });
  const id = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const target = { url: options.redisUrl, cluster: options.redisCluster ?? false };
  const storeConnection = connectRedis(target, { maxRetriesPerRequest: null });
  const workerConnection = connectRedis(target, { maxRetriesPerRequest: null });
  for (const connection of [storeConnection, workerConnection]) connection.on('error', (err) => logger.error({ err }, 'redis connection error'));
  const store = new CrawlStore({ redis: storeConnection, prefix });
  const proxy = await startGuardProxy({ allow: options.ssrfAllow });
  const pool = new BrowserPool({
    executablePath: options.executablePath,
    proxy,
    concurrency: options.concurrency,
    contextPages: options.contextPages,
    maxBrowserMb: options.maxBrowserMb,
    ...(options.memoryCheckMs ? { memoryCheckMs: options.memoryCheckMs } : {}),
    logger,
  });
  await pool.start();

  async function rulesFor(data: ReturnType<typeof renderJobData.parse>): Promise<RenderRules | RenderResult> {
    const crawl = await store.get(data.crawlId);
    if (!crawl) return { kind: 'failed', reason: 'render_failed', message: 'the crawl is gone' };
    const rules: RenderRules = { guard: proxy.guard };
    if ((crawl.options.headerNames ?? []).length > 0) {
      const headers = await store.requestHeaders(data.crawlId);
      rules.headersFor = headersForOrigins([crawl.url, ...(crawl.options.urls ?? [])].map((url) => new URL(url).origin), headers);
    }
    if (data.respectRobotsTxt) {
      const stored = await store.robots(data.crawlId, new URL(data.url).host);
      if (stored) {
        const parsed = JSON.parse(stored) as StoredRobots;
        const robotsUrl = robotsUrlFor(data.url);
        const robots: RobotsRules =
          parsed.status !== undefined && parsed.status >= 200 && parsed.status < 300 ? parseRobots(robotsUrl, parsed.body ?? '') : robotsForUnavailable(parsed.status);
        rules.robots = robots;
      }
    }
    return rules;
  }

  const renderJob = async (job: Job<RenderJobData, RenderResult>): Promise<RenderResult> => {
    const parsed = renderJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed render job: ${parsed.error.message}`);
    const data = parsed.data;
    const rules = await rulesFor(data);
    if ('kind' in rules) return rules;
    const timeoutMs = Math.min(data.timeoutMs, options.timeoutMs);
    const lease = await pool.acquire();
    try {
      if (data.gapMs > 0) {
        const slot = await store.reserveHostSlot(data.crawlId, new URL(data.url).host, data.gapMs);
        if (!slot) return { kind: 'failed', reason: 'render_failed', message: 'the crawl ended' };
        if (slot.waitMs > 0) await sleep(slot.waitMs);
      }
      const output = await renderPage(lease, data, rules, timeoutMs);
      logger.debug({ crawlId: data.crawlId, url: data.url, kind: output.kind, jobId: job.id }, 'rendered');
      // The DOM goes under its own key: a job's return value is copied into the queue's event stream.
      return output.kind === 'rendered' ? await saveRenderedDom(storeConnection, data.crawlId, job.id!, output, prefix) : output;
    } finally {
      await lease.release();
    }
  };

  const worker = new Worker<RenderJobData, RenderResult>(RENDER_QUEUE, renderJob, {
    ...renderQueueOptions(workerConnection, prefix),
    name: id,
    concurrency: options.concurrency,
    lockDuration: RENDER_LOCK_MS,
    stalledInterval: RENDER_STALLED_INTERVAL_MS,
  });
  worker.on('error', (err) => logger.error({ err }, 'render worker error'));
  worker.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, attempt: job?.attemptsMade }, 'render attempt failed'));

  const beat = () => beatRenderer(storeConnection, id, prefix).catch((err: unknown) => logger.error({ err }, 'heartbeat failed'));
  await beat();
  const heartbeat = setInterval(() => void beat(), RENDERER_HEARTBEAT_MS);
  heartbeat.unref();

  let closing: Promise<void> | undefined;
  return {
    id,
    worker,
    proxy,
    stats: () => ({
      contextsCreated: pool.contextsCreated,
      tabsOpened: pool.tabsOpened,
      restarts: pool.restarts,
      crashRestarts: pool.crashRestarts,
      memoryRestarts: pool.memoryRestarts,
    }),
    close: () => {
      closing ??= (async () => {
        clearInterval(heartbeat);
        await removeRenderer(storeConnection, id, prefix).catch(() => {});
        // Stops taking jobs and waits for the ones in flight, within the bound; past it they stall and go to another renderer.
        const closed = worker.close();
        const bound = options.closeTimeoutMs ?? 30_000;
        await Promise.race([closed, sleep(bound)]);
        await pool.close();
        await worker.close(true).catch(() => {});
        await proxy.close();
        await Promise.all([storeConnection.quit(), workerConnection.quit()].map((p) => p.catch(() => {})));
      })();
      return closing;
    },
  };
}
