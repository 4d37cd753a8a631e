// A crawl worker process's moving parts, built from config: the BullMQ
// worker that runs page jobs, the page queue it feeds, the progress store
// and publisher, the budget of body bytes in flight, the stalled-work sweep,
// and a bounded graceful close. It logs through the pino logger it is given
// (a `crawlId` child for what concerns one crawl; errors as `err`, stack kept).
import { setMaxListeners } from 'node:events';
import { createPageQueue, PAGE_QUEUE, type PageJobData, type PageQueue, pageJobData, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore, ProgressPublisher } from '@crawlstream/progress';
import { backoffDelay, DEFAULT_KEY_PREFIX, queuePrefix } from '@crawlstream/shared';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import { ByteBudget } from './byte-budget.js';
import { CrawlContexts } from './crawl-context.js';
import { type PageJobDeps, processPageJob, RetryablePageError, settlePage } from './page-job.js';
import { createSsrfGuard, type Resolver, USER_AGENT } from '@crawlstream/pipeline';
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
  /** Replaces the system resolver of the SSRF guard (tests give host names loopback addresses). */
  ssrfResolve?: Resolver;
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
  /** Where the worker logs (main.ts builds it from LOG_LEVEL); silent when absent. */
  logger?: Logger;
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
/** A job whose worker vanished is handed to another this many times; one more stall fails it (`stalled`). */
const MAX_STALLED_COUNT = 1;
/** WORKER_MAX_BYTES_IN_FLIGHT's default. */
export const DEFAULT_MAX_BYTES_IN_FLIGHT = 256 * 1024 * 1024;

export async function createCrawlWorker(options: CrawlWorkerOptions): Promise<CrawlWorker> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const logger = options.logger ?? pino({ level: 'silent' });
  const storeConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queueConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  for (const connection of [storeConnection, queueConnection, workerConnection]) {
    connection.on('error', (err) => logger.error({ err }, 'redis connection error'));
  }
  const queue = createPageQueue(queueConnection, prefix);
  const store = new CrawlStore({ redis: storeConnection, prefix, ttlSeconds: options.ttlSeconds, jobs: new QueuePageJobs(queue) });
  const publisher = new ProgressPublisher({ store, onError: (err) => logger.error({ err }, 'progress error') });
  const shutdown = new AbortController();
  // Every in-flight fetch listens to this one signal.
  setMaxListeners(options.concurrency * 4 + 16, shutdown.signal);
  const guard = createSsrfGuard(options.ssrfAllow, options.ssrfResolve ? { resolve: options.ssrfResolve } : {});
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
    maxStalledCount: MAX_STALLED_COUNT,
    settings: {
      backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
        backoffDelay(attemptsMade, error instanceof RetryablePageError ? error.failure.retryAfterMs : undefined, {
          baseMs: options.retryBaseMs ?? 1_000,
        }),
    },
  });
  worker.on('error', (err) => logger.error({ err }, 'worker error'));
  worker.on('stalled', (jobId) => logger.warn({ jobId }, 'page job stalled (its worker went away): back in the queue'));

  // A job that ran out of attempts by throwing (or stalled too often) still
  // settles its page, so the crawl can complete.
  worker.on('failed', (job: Job<PageJobData> | undefined, err: Error) => {
    if (!job || shutdown.signal.aborted) return;
    // A malformed job (refused by processPageJob) names no page to settle.
    if (!pageJobData.safeParse(job.data).success) {
      logger.warn({ err, jobId: job.id }, 'malformed page job refused');
      return;
    }
    const { crawlId, url } = job.data;
    const log = logger.child({ crawlId });
    // BullMQ counts the stalls; past maxStalledCount it fails the job with no attempt left to make.
    const stalled = job.stalledCounter > MAX_STALLED_COUNT;
    const retryable = err instanceof RetryablePageError;
    if (!stalled && job.attemptsMade < (job.opts.attempts ?? 1)) {
      log.debug({ url, attempt: job.attemptsMade, ...(retryable ? { reason: err.failure.reason } : { err }) }, 'page retry');
      return;
    }
    const failure = retryable
      ? { reason: err.failure.reason, message: err.failure.message }
      : { reason: stalled ? ('stalled' as const) : ('internal' as const), message: err.message };
    // The site's failures are the crawl's business (page_failed); anything else is ours: keep its stack.
    if (!retryable) log.error({ err, url, stalledCounter: job.stalledCounter }, `page failed (${failure.reason})`);
    settlePage(deps, crawlId, { kind: 'failed', url, attempts: job.attemptsMade, ...failure })
      .catch((settleError: unknown) => log.error({ err: settleError, url }, 'could not settle a failed job'));
  });

  let sweeping: Promise<unknown> | undefined;
  const sweepTimer = setInterval(() => {
    if (sweeping) return;
    sweeping = store
      .sweep({ staleMs: options.sweepStaleMs ?? 60_000, maxGenerations: MAX_GENERATIONS })
      .then((report) => {
        if (report.redispatched || report.failed || report.completed) logger.info({ ...report }, 'sweep');
      })
      .catch((err) => logger.error({ err }, 'sweep failed'))
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
