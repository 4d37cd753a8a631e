// A crawl worker process's moving parts, built from config: the BullMQ
// worker that runs page jobs, the page queue it feeds, the progress store
// and publisher, which crawls run (told by the ended channel), the budget of body bytes in flight, the extraction threads,
// the render queue that pages needing a browser are handed to (with its events, opened by the first render and closed on stop),
// the stalled-work sweep, and a bounded close that hands unfinished pages
// back. It logs through the pino logger it is given (a `crawlId` child for
// what concerns one crawl; errors as `err`, stack kept).
//
// Faults (numbers in packages/shared/src/limits.ts, docs/settings.md):
// - killed (kill -9, a lost machine): its jobs' locks (PAGE_LOCK_MS) are no
//   longer renewed; BullMQ's stall check (every STALLED_CHECK_MS, one across
//   all workers) puts them back within PAGE_LOCK_MS + STALLED_CHECK_MS = 7 s,
//   and a waiting worker takes them at once;
// - stopped (SIGTERM): no new job is taken and no page starts; in-flight
//   pages get WORKER_CLOSE_TIMEOUT_MS to finish and settle, pages not started
//   are handed back as soon as their job's started pages are done; the rest are aborted and
//   moved back to the queue with their lock released (`moveToWait`: no
//   attempt used, no stall), so another worker takes them at once.
//
// Queue shards (QUEUE_SHARDS): one BullMQ Worker per shard, every shard any
// process announced (checked every QUEUE_SHARDS_CHECK_MS); all share the
// process's page slots (WORKER_CONCURRENCY pages at once) and byte budget.
import { setMaxListeners } from 'node:events';
import {
  createRenderQueue,
  jobPages,
  PAGE_QUEUE,
  type PageJobData,
  type PageQueue,
  PageQueues,
  parsePageJob,
  QueuePageJobs,
  RENDER_QUEUE,
  type RenderQueue,
  WEBHOOK_QUEUE,
  type WebhookJobData,
} from '@crawlstream/jobs';
import { CrawlStore, CrawlWebhooks, ProgressPublisher } from '@crawlstream/progress';
import {
  backoffDelay,
  DEFAULT_KEY_PREFIX,
  PAGE_LOCK_MS,
  renderQueuePrefix,
  QUEUE_SHARDS_CHECK_MS,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOK_POLL_MS,
  WEBHOOK_RETRY_BASE_MS,
  WEBHOOK_TIMEOUT_MS,
  queuePrefix,
  STALLED_CHECK_MS,
  SWEEP_INTERVAL_MS,
  SWEEP_STALE_MS,
  WORKER_CLOSE_TIMEOUT_MS,
  WORKER_HAND_BACK_MS,
} from '@crawlstream/shared';
import { connectRedis, type RedisConnection } from '@crawlstream/redis-connection';
import { DelayedError, type Job, QueueEvents, WaitingError, Worker } from 'bullmq';
import pLimit from 'p-limit';
import { type Logger, pino } from 'pino';
import { ByteBudget } from './byte-budget.js';
import { CrawlContexts } from './crawl-context.js';
import { PagesHandedBack, type PageJobDeps, processPageJob, RetryablePageError, settlePage } from './page-job.js';
import { createSsrfGuard, type Resolver, USER_AGENT } from '@crawlstream/pipeline';
import { PageExtractor } from './page-extractor.js';
import { RenderHandoff } from './render-handoff.js';
import { RobotsCache } from './robots-cache.js';
import { RunningCrawls } from './running-crawls.js';
import { deliverWebhook } from './webhook-delivery.js';
import { Webhook } from 'standardwebhooks';

export interface CrawlWorkerOptions {
  redisUrl: string;
  /** REDIS_CLUSTER: `redisUrl` lists seed nodes of a Redis Cluster. */
  redisCluster?: boolean;
  /** Key prefix (tests use one each). */
  prefix?: string;
  /** Pages in flight in this process (WORKER_CONCURRENCY), and page jobs taken at once per queue shard. */
  concurrency: number;
  /** QUEUE_SHARDS (default 1): where this process puts new jobs; it consumes at least this many shards. */
  queueShards?: number;
  /** How often the shard count announced by other processes is read (QUEUE_SHARDS_CHECK_MS); tests only. */
  shardsCheckMs?: number;
  /** Body bytes this process may hold at once (WORKER_MAX_BYTES_IN_FLIGHT); each page reserves its maxBytes. */
  maxBytesInFlight?: number;
  /** SSRF_ALLOW. */
  ssrfAllow: readonly string[];
  /** Replaces the system resolver of the SSRF guard (tests give host names loopback addresses). */
  ssrfResolve?: Resolver;
  ttlSeconds?: number;
  /**
   * WEBHOOK_SECRET (`whsec_…`): with it the worker also delivers webhooks
   * (the `webhooks` queue); without it, it leaves them to workers that have it.
   */
  webhookSecret?: string | undefined;
  /** Base of the webhook retry backoff (WEBHOOK_RETRY_BASE_MS; tests shorten it). */
  webhookRetryBaseMs?: number;
  /** How often a caught-up webhook looks for new events (WEBHOOK_POLL_MS). */
  webhookPollMs?: number;
  /** Per-request timeout of a webhook delivery (WEBHOOK_TIMEOUT_MS). */
  webhookTimeoutMs?: number;
  /** The sweep's turn: one pass per this interval across all workers (SWEEP_INTERVAL_MS). */
  sweepEveryMs?: number;
  /** In-flight entries younger than this are not swept (SWEEP_STALE_MS). */
  sweepStaleMs?: number;
  /** BullMQ lock and stall check (PAGE_LOCK_MS, STALLED_CHECK_MS); tests only. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** First retry's backoff ceiling (doubles per attempt, full jitter). */
  retryBaseMs?: number;
  /** Longest wait for in-flight pages on close before they are handed back (WORKER_CLOSE_TIMEOUT_MS). */
  closeTimeoutMs?: number;
  /** Extraction threads (default: the machine's available parallelism less one, at least one). */
  extractThreads?: number;
  /** RENDER_WAIT_MS: the longest a page waits with no renderer process alive (tests shorten it). */
  renderWaitMs?: number;
  /** Where the worker logs (main.ts builds it from LOG_LEVEL); silent when absent. */
  logger?: Logger;
}

export interface CrawlWorker {
  readonly store: CrawlStore;
  /** Shard 0 of the page queue. */
  readonly queue: PageQueue;
  /** Every shard this process consumes (grows when another process announces more). */
  readonly queues: PageQueues;
  readonly publisher: ProgressPublisher;
  /** The BullMQ Worker of shard 0. */
  readonly worker: Worker<PageJobData>;
  /** One BullMQ Worker per shard, in shard order. */
  readonly workers: readonly Worker<PageJobData>[];
  /** The budget of body bytes in flight, for its counts. */
  readonly budget: ByteBudget;
  /** Stops taking jobs, lets in-flight pages finish (or hands them back past the bound), closes connections. */
  close(): Promise<void>;
}

const MAX_GENERATIONS = 3;
/** Stalls of a webhook job before BullMQ would fail it: in practice never. */
const WEBHOOK_MAX_STALLS = 1_000;
/** A job whose worker vanished is handed to another this many times; one more stall fails it (`stalled`). */
const MAX_STALLED_COUNT = 1;
/** Whether `promise` settled within `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(true);
      },
    );
  });
}

/**
 * The render queue's events, read from the stream's last entry at creation
 * (not from its end when the blocking read first starts, BullMQ's default):
 * a render that finishes while the reader is still starting is not missed
 * (it was, once in two runs, for the first pages of a process).
 */
async function renderQueueEvents(queue: RenderQueue, connection: RedisConnection, prefix: string, logger: Logger): Promise<QueueEvents> {
  const [last] = await connection.xrevrange(queue.keys.events!, '+', '-', 'COUNT', 1);
  const events = new QueueEvents(RENDER_QUEUE, { connection, prefix: renderQueuePrefix(prefix), lastEventId: last?.[0] ?? '0-0' });
  // Every page waiting for its render listens (up to the process's concurrency at once).
  events.setMaxListeners(0);
  events.on('error', (err) => logger.error({ err }, 'render queue events error'));
  return events;
}

/** RENDER_WAIT_MS's default (packages/shared/src/config.ts). */
export const DEFAULT_RENDER_WAIT_MS = 30_000;

/** WORKER_MAX_BYTES_IN_FLIGHT's default. */
export const DEFAULT_MAX_BYTES_IN_FLIGHT = 256 * 1024 * 1024;

export async function createCrawlWorker(options: CrawlWorkerOptions): Promise<CrawlWorker> {
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const logger = options.logger ?? pino({ level: 'silent' });
  const target = { url: options.redisUrl, cluster: options.redisCluster ?? false };
  const storeConnection = connectRedis(target, { maxRetriesPerRequest: null });
  const queueConnection = connectRedis(target, { maxRetriesPerRequest: null });
  const workerConnection = connectRedis(target, { maxRetriesPerRequest: null });
  // Subscribes to the `ended` channel, a classic (cluster-wide) one.
  const endedConnection = connectRedis(target, { maxRetriesPerRequest: null });
  const connections = [storeConnection, queueConnection, workerConnection, endedConnection];
  for (const connection of connections) {
    connection.on('error', (err) => logger.error({ err }, 'redis connection error'));
  }
  const queues = new PageQueues(queueConnection, prefix, options.queueShards ?? 1);
  await queues.announce();
  const store = new CrawlStore({ redis: storeConnection, prefix, ttlSeconds: options.ttlSeconds, jobs: new QueuePageJobs(queues) });
  const publisher = new ProgressPublisher({ store, onError: (err) => logger.error({ err }, 'progress error') });
  // Closing starts `stopping` (no page starts any more), then, past the grace, `shutdown` (in-flight pages abort).
  const stopping = new AbortController();
  const shutdown = new AbortController();
  // Every in-flight fetch listens to this one signal.
  setMaxListeners(options.concurrency * 4 + 16, shutdown.signal);
  const guard = createSsrfGuard(options.ssrfAllow, options.ssrfResolve ? { resolve: options.ssrfResolve } : {});
  const dispatcher = guard.createAgent({ connections: 64, keepAliveTimeout: 4_000 });
  const fetchDefaults = { userAgent: USER_AGENT, dispatcher, signal: shutdown.signal };
  const budget = new ByteBudget(options.maxBytesInFlight ?? DEFAULT_MAX_BYTES_IN_FLIGHT);
  const extractor = new PageExtractor(options.extractThreads);
  const running = new RunningCrawls(store);
  await running.listen(endedConnection);
  // Pages that need a browser go to the render queue; its events (a blocking connection) are opened by the first render.
  const renderQueue = createRenderQueue(queueConnection, prefix);
  let renderEvents: { events: Promise<QueueEvents>; connection: ReturnType<typeof connectRedis> } | undefined;
  const render = new RenderHandoff({
    queue: renderQueue,
    redis: storeConnection,
    prefix,
    waitMs: options.renderWaitMs ?? DEFAULT_RENDER_WAIT_MS,
    shutdown: shutdown.signal,
    events: () => {
      if (!renderEvents) {
        const connection = connectRedis(target, { maxRetriesPerRequest: null });
        connection.on('error', (err) => logger.error({ err }, 'redis connection error'));
        renderEvents = { connection, events: renderQueueEvents(renderQueue, connection, prefix, logger) };
      }
      return renderEvents.events;
    },
  });
  const deps: PageJobDeps = {
    store,
    running,
    publisher,
    contexts: new CrawlContexts(store),
    robots: new RobotsCache(store, fetchDefaults),
    dispatcher,
    stopping: stopping.signal,
    shutdown: shutdown.signal,
    budget,
    pageSlots: pLimit(options.concurrency),
    extract: (html, url, signal, extractOptions) => extractor.extract(html, url, signal, extractOptions),
    render,
  };

  /**
   * Pages of a job not started when the worker began to stop, or cut short
   * by the close's bound, go back to the queue at once (the job holding only
   * its pages not settled):
   * `moveToWait` releases its lock without using an attempt or counting a
   * stall, and WaitingError tells BullMQ the job has moved.
   */
  const runPage = async (job: Job<PageJobData>, token?: string): Promise<void> => {
    try {
      await processPageJob(deps, job, token);
    } catch (err) {
      const handBack = err instanceof PagesHandedBack || (shutdown.signal.aborted && !(err instanceof DelayedError));
      if (!handBack || token === undefined) throw err;
      await job.moveToWait(token);
      const { crawlId, pages } = jobPages(job.data);
      logger.info({ crawlId, urls: pages.map((page) => page.url), jobId: job.id }, 'pages handed back (worker stopping)');
      throw new WaitingError();
    }
  };

  const consume = (shard: number): Worker<PageJobData> => {
    const worker = new Worker<PageJobData>(PAGE_QUEUE, runPage, {
      connection: workerConnection,
      prefix: queuePrefix(prefix, shard),
      // Jobs taken at once per shard; pages at once per process are bounded by deps.pageSlots.
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs ?? PAGE_LOCK_MS,
      stalledInterval: options.stalledIntervalMs ?? STALLED_CHECK_MS,
      maxStalledCount: MAX_STALLED_COUNT,
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
          backoffDelay(attemptsMade, error instanceof RetryablePageError ? error.failure.retryAfterMs : undefined, {
            baseMs: options.retryBaseMs ?? 1_000,
          }),
      },
    });
    worker.on('error', (err) => logger.error({ err, shard }, 'worker error'));
    worker.on('stalled', (jobId) => logger.warn({ jobId, shard }, 'page job stalled (its worker went away): back in the queue'));
    worker.on('failed', onFailed);
    return worker;
  };

  // A job that ran out of attempts by throwing (or stalled too often) still
  // settles its page, so the crawl can complete.
  const onFailed = (job: Job<PageJobData> | undefined, err: Error) => {
    if (!job || shutdown.signal.aborted) return;
    // A malformed job (refused by processPageJob) names no page to settle.
    if (!parsePageJob(job.data).success) {
      logger.warn({ err, jobId: job.id }, 'malformed page job refused');
      return;
    }
    const { crawlId, pages } = jobPages(job.data);
    const log = logger.child({ crawlId });
    const urls = pages.map((page) => page.url);
    // BullMQ counts the stalls; past maxStalledCount it fails the job with no attempt left to make.
    const stalled = job.stalledCounter > MAX_STALLED_COUNT;
    const retryable = err instanceof RetryablePageError;
    if (!stalled && job.attemptsMade < (job.opts.attempts ?? 1)) {
      log.debug({ urls, attempt: job.attemptsMade, ...(retryable ? { reason: err.failure.reason } : { err }) }, 'page retry');
      return;
    }
    const failure = retryable
      ? { reason: err.failure.reason, message: err.failure.message }
      : { reason: stalled ? ('stalled' as const) : ('internal' as const), message: err.message };
    // The site's failures are the crawl's business (page_failed); anything else is ours: keep its stack.
    if (!retryable) log.error({ err, urls, stalledCounter: job.stalledCounter }, `page failed (${failure.reason})`);
    // The job holds only its URLs not settled yet (settled ones leave it).
    for (const url of urls) {
      settlePage(deps, crawlId, { kind: 'failed', url, attempts: job.attemptsMade, ...failure })
        .catch((settleError: unknown) => log.error({ err: settleError, url }, 'could not settle a failed job'));
    }
  };

  const workers = queues.queues.map((_, shard) => consume(shard));
  const webhookWorker = options.webhookSecret ? deliverWebhooks(options.webhookSecret) : undefined;

  function deliverWebhooks(secret: string): Worker<WebhookJobData> {
    const deliveryDeps = {
      store,
      webhooks: new CrawlWebhooks(storeConnection, prefix, options.ttlSeconds ?? 86_400),
      dispatcher,
      signer: new Webhook(secret),
      stopping: stopping.signal,
      logger,
      timeoutMs: options.webhookTimeoutMs ?? WEBHOOK_TIMEOUT_MS,
      maxAttempts: WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: options.webhookRetryBaseMs ?? WEBHOOK_RETRY_BASE_MS,
      pollMs: options.webhookPollMs ?? WEBHOOK_POLL_MS,
    };
    const worker = new Worker<WebhookJobData>(WEBHOOK_QUEUE, (job, token) => deliverWebhook(deliveryDeps, job, token), {
      connection: workerConnection,
      prefix: queuePrefix(prefix),
      concurrency: options.concurrency,
      lockDuration: options.lockDurationMs ?? PAGE_LOCK_MS,
      stalledInterval: options.stalledIntervalMs ?? STALLED_CHECK_MS,
      // A delivery whose worker vanished is picked up again however often that happens: its cursor is in Redis.
      maxStalledCount: WEBHOOK_MAX_STALLS,
    });
    worker.on('error', (err) => logger.error({ err }, 'webhook worker error'));
    worker.on('stalled', (jobId) => logger.warn({ crawlId: jobId }, 'webhook delivery stalled (its worker went away): back in the queue'));
    worker.on('failed', (job, err) => logger.error({ err, crawlId: job?.data.crawlId }, 'webhook job failed'));
    return worker;
  }
  let closed = false;
  // Another process may announce more shards (a higher QUEUE_SHARDS): consume them too.
  let checking: Promise<unknown> | undefined;
  const shardsTimer = setInterval(() => {
    if (checking) return;
    checking = queues
      .announce()
      .then((opened) => {
        if (closed || opened.length === 0) return;
        while (workers.length < queues.queues.length) workers.push(consume(workers.length));
        logger.info({ shards: workers.length }, 'consuming more queue shards (announced by another process)');
      })
      .catch((err) => logger.error({ err }, 'queue shard check failed'))
      .finally(() => {
        checking = undefined;
      });
  }, options.shardsCheckMs ?? QUEUE_SHARDS_CHECK_MS);
  shardsTimer.unref();

  let sweeping: Promise<unknown> | undefined;
  const sweepEveryMs = options.sweepEveryMs ?? SWEEP_INTERVAL_MS;
  const sweepTimer = setInterval(() => {
    if (sweeping) return;
    sweeping = store
      // The turn ends a little before this process's next tick, so one process can keep it.
      .sweep({ staleMs: options.sweepStaleMs ?? SWEEP_STALE_MS, maxGenerations: MAX_GENERATIONS, turnMs: Math.floor(sweepEveryMs * 0.9) })
      .then((report) => {
        if (report.redispatched || report.failed || report.completed || report.pruned) logger.info({ ...report }, 'sweep');
      })
      .catch((err) => logger.error({ err }, 'sweep failed'))
      .finally(() => {
        sweeping = undefined;
      });
  }, sweepEveryMs);
  sweepTimer.unref();

  await Promise.all([...workers, ...(webhookWorker ? [webhookWorker] : [])].map((worker) => worker.waitUntilReady()));

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sweepTimer);
      clearInterval(shardsTimer);
      closed = true;
      await checking;
      stopping.abort();
      // BullMQ stops taking jobs at once and waits for the running ones; their pages not started are handed back.
      const graceful = Promise.all([...workers, ...(webhookWorker ? [webhookWorker] : [])].map((worker) => worker.close()));
      if (!(await within(graceful, options.closeTimeoutMs ?? WORKER_CLOSE_TIMEOUT_MS))) {
        // Fetches and extractions stop; runPage hands each job back.
        shutdown.abort();
        if (!(await within(graceful, WORKER_HAND_BACK_MS))) {
          // Stuck where no abort reaches (a Redis call that never answers): its lock
          // expires and the stall check hands the page on (PAGE_LOCK_MS + STALLED_CHECK_MS).
          logger.warn('in-flight pages did not hand back in time: their locks will expire');
          await Promise.all(workers.map((worker) => worker.close(true)));
        }
      }
      // A sweep under way gets the hand-back bound too; nothing it does is lost if cut
      // (every step is safe to repeat, and another worker's sweep takes the next turn).
      if (sweeping && !(await within(sweeping, WORKER_HAND_BACK_MS))) logger.warn('the sweep under way did not finish in time');
      publisher.close();
      await store.close();
      await extractor.close();
      await queues.close();
      await renderQueue.close();
      if (renderEvents) {
        await (await renderEvents.events.catch(() => undefined))?.close();
        renderEvents.connection.disconnect();
      }
      // Every page is settled or handed back by now: whatever request is left is cut, not awaited.
      await dispatcher.destroy();
      for (const connection of connections) connection.disconnect();
    })();
    return closing;
  };

  return { store, queue: queues.queues[0]!, queues, publisher, worker: workers[0]!, workers, budget, close };
}
