// A crawl worker process's moving parts, built from config: the BullMQ
// worker that runs page jobs, the page queue it feeds, the progress store
// and publisher, the budget of body bytes in flight, the stalled-work sweep,
// and a bounded graceful close.
import { setMaxListeners } from 'node:events';
import { createPageQueue, PAGE_QUEUE, type PageJobData, type PageQueue, pageJobData, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore, ProgressPublisher } from '@crawlstream/progress';
import { DEFAULT_KEY_PREFIX, queuePrefix } from '@crawlstream/shared';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { ByteBudget } from './byte-budget.js';
import { CrawlContexts } from './crawl-context.js';
import { type PageJobDeps, processPageJob, RetryablePageError, settlePage } from './page-job.js';
import { backoffDelay, createSsrfGuard, USER_AGENT } from './pipeline/index.js';
import { RobotsCache } from './robots-cache.js';

export interface CrawlWorkerOptions {
  redisUrl: string;
  /** Key prefix (tests use one each). */
  prefix?: string;
  /** Pages in flight in this process (WORKER_CONCURRENCY). */
  concurrency: number;
  /** Body bytes this process may hold at once (WORKER_MAX_BYTES_IN_FLIGHT); each page reserves its maxBytes. */
  maxBytesInFlight?: number;
  /** SSRF_ALLOW. */
  ssrfAllow: readonly string[];
  ttlSeconds?: number;
  /** How often this process sweeps for in-flight URLs whose job vanished. */
  sweepEveryMs?: number;
  /** In-flight entries younger than this are not swept. */
  sweepStaleMs?: number;
  /** BullMQ lock and stall check; shorter values hand a killed worker's pages on sooner. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** First retry's backoff ceiling (doubles per attempt, full jitter). */
  retryBaseMs?: number;
  /** Longest wait for in-flight pages on close before they are handed back. */
  closeTimeoutMs?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface CrawlWorker {
  readonly store: CrawlStore;
  readonly queue: PageQueue;
  readonly publisher: ProgressPublisher;
  readonly worker: Worker<PageJobData>;
  /** The budget of body bytes in flight, for its counts. */
  readonly budget: ByteBudget;
  /** Stops taking jobs, lets in-flight pages finish (or hands them back past the bound), closes connections. */
  close(): Promise<void>;
}

const MAX_GENERATIONS = 3;
/** WORKER_MAX_BYTES_IN_FLIGHT's default. */
export const DEFAULT_MAX_BYTES_IN_FLIGHT = 256 * 1024 * 1024;

export async function createCrawlWorker(options: CrawlWorkerOptions): Promise<CrawlWorker> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const log = options.log ?? (() => {});
  const storeConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queueConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  for (const connection of [storeConnection, queueConnection, workerConnection]) {
    connection.on('error', (error) => log('redis connection error', { error: String(error) }));
  }
  const queue = createPageQueue(queueConnection, prefix);
  const store = new CrawlStore({ redis: storeConnection, prefix, ttlSeconds: options.ttlSeconds, jobs: new QueuePageJobs(queue) });
  const publisher = new ProgressPublisher({ store, onError: (error) => log('progress error', { error: String(error) }) });
  const shutdown = new AbortController();
  // Every in-flight fetch listens to this one signal.
  setMaxListeners(options.concurrency * 4 + 16, shutdown.signal);
  const guard = createSsrfGuard(options.ssrfAllow);
  const dispatcher = guard.createAgent({ connections: 64, keepAliveTimeout: 4_000 });
  const fetchDefaults = { userAgent: USER_AGENT, dispatcher, signal: shutdown.signal };
  const budget = new ByteBudget(options.maxBytesInFlight ?? DEFAULT_MAX_BYTES_IN_FLIGHT);
  const deps: PageJobDeps = {
    store,
    publisher,
    contexts: new CrawlContexts(store),
    robots: new RobotsCache(store, fetchDefaults),
    dispatcher,
    shutdown: shutdown.signal,
    budget,
  };

  const worker = new Worker<PageJobData>(PAGE_QUEUE, (job, token) => processPageJob(deps, job, token), {
    connection: workerConnection,
    prefix: queuePrefix(prefix),
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: 1,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
        backoffDelay(attemptsMade, error instanceof RetryablePageError ? error.failure.retryAfterMs : undefined, {
          baseMs: options.retryBaseMs ?? 1_000,
        }),
    },
  });
  worker.on('error', (error) => log('worker error', { error: String(error) }));

  // A job that ran out of attempts by throwing (or stalled too often) still
  // settles its page, so the crawl can complete.
  worker.on('failed', (job: Job<PageJobData> | undefined, error: Error) => {
    // A malformed job (refused by processPageJob) names no page to settle.
    if (!job || shutdown.signal.aborted || !pageJobData.safeParse(job.data).success) return;
    const stalled = /stalled/i.test(error.message);
    if (!stalled && job.attemptsMade < (job.opts.attempts ?? 1)) return;
    const failure =
      error instanceof RetryablePageError
        ? { reason: error.failure.reason, message: error.failure.message }
        : { reason: stalled ? ('stalled' as const) : ('internal' as const), message: error.message };
    settlePage(deps, job.data.crawlId, { kind: 'failed', url: job.data.url, attempts: job.attemptsMade, ...failure })
      .catch((settleError) => log('could not settle a failed job', { error: String(settleError) }));
  });

  let sweeping: Promise<unknown> | undefined;
  const sweepTimer = setInterval(() => {
    if (sweeping) return;
    sweeping = store
      .sweep({ staleMs: options.sweepStaleMs ?? 60_000, maxGenerations: MAX_GENERATIONS })
      .then((report) => {
        if (report.redispatched || report.failed || report.completed) log('sweep', { ...report });
      })
      .catch((error) => log('sweep failed', { error: String(error) }))
      .finally(() => {
        sweeping = undefined;
      });
  }, options.sweepEveryMs ?? 15_000);
  sweepTimer.unref();

  await worker.waitUntilReady();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sweepTimer);
      const bound = options.closeTimeoutMs ?? 20_000;
      const graceful = worker.close();
      const timedOut = await Promise.race([
        graceful.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), bound).unref()),
      ]);
      if (timedOut) {
        // Hand the rest back: aborting fetches makes their jobs throw; the
        // jobs are retried by whichever worker is up.
        shutdown.abort();
        await worker.close(true);
      }
      await sweeping;
      publisher.close();
      await queue.close();
      await dispatcher.close();
      for (const connection of [storeConnection, queueConnection, workerConnection]) connection.disconnect();
    })();
    return closing;
  };

  return { store, queue, publisher, worker, budget, close };
}
