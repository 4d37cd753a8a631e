// Builds the Fastify server from a validated config; tests and benchmarks
// call this, `main` only adds listening and signals. Three Redis connections
// per process, whatever the number of clients: commands, the stream hub's
// subscriber, and the page queue's (which fails fast when Redis is away).
// The HTTP server (http-server.ts) offers each request to the open streams
// first (a plain stream request is served below Fastify, routes/stream.ts),
// then to Fastify; both apply the same rules (requests.ts, access.ts).
// The dashboard is served from the directory the caller names (`dashboardDir`).
import { setTimeout as sleep } from 'node:timers/promises';
import { createWebhookQueue, PageQueues, QueuePageJobs } from '@crawlstream/jobs';
import { CrawlStore, CrawlWebhooks, StreamHub } from '@crawlstream/progress';
import { connectRedis } from '@crawlstream/redis-connection';
import { type Config, DEFAULT_KEY_PREFIX, globalKeys } from '@crawlstream/shared';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { ApiContext } from './context.js';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './errors.js';
import { ApiKeys, StreamTokens } from './access.js';
import { createHttpServer } from './http-server.js';
import { authPlugin } from './plugins/auth.js';
import { boardRoutes } from './plugins/board.js';
import { docsPlugin, docsRoutes } from './plugins/docs.js';
import { ApiMetrics, metricsRoutes } from './plugins/metrics.js';
import { rateLimitPlugin } from './plugins/rate-limit.js';
import { crawlRoutes, type PostStep } from './routes/crawls.js';
import { llmsRoutes } from './routes/llms.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { healthRoutes } from './routes/health.js';
import { Streams, streamRoutes } from './routes/stream.js';
import { webhookRoutes } from './routes/webhooks.js';
import { checkRequestTarget, loggedRequest, RequestLog, RequestLogController, requestId, trustProxyFn } from './requests.js';
import { type ApiSettings, DEFAULT_API_SETTINGS } from './settings.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's shared state (store, hub, metrics …), for tests and benchmarks. */
    crawlstream: ApiContext;
  }
}

export interface AppOptions {
  config: Config;
  redisUrl: string;
  /** Redis key prefix (tests use one each); default 'cs'. */
  prefix?: string;
  /** API-only settings (settings.ts); defaults for what is left out. */
  settings?: Partial<ApiSettings>;
  /** The `retry:` announced on streams, in ms. */
  streamRetryMs?: number;
  /** How often the queue board looks for shards announced by other processes (QUEUE_SHARDS_CHECK_MS); tests only. */
  shardsCheckMs?: number;
  /** Stream hub tuning (tests): frames kept per crawl, safety poll, entries per read. */
  hub?: { ringSize?: number; pollMs?: number; batchSize?: number };
  /**
   * The dashboard's build (apps/dashboard's `dist`) to serve at `/`; without
   * it, or when it holds no index.html, `/` is a small page pointing at /docs.
   */
  dashboardDir?: string;
  /** Called after each step of a POST's create (crash tests stop it there: routes/crawls.ts PostStep). */
  afterCreateStep?: (step: PostStep) => void | Promise<void>;
  /** Where the log lines go (tests read them); default stdout. */
  logStream?: { write(line: string): void };
}

/** Largest request body: a crawl request with every option at its bound fits. */
const BODY_LIMIT = 256 * 1024;

/** Waits for `work` at most `ms`; shutdown must not hang on a Redis that is gone. */
async function atMost(work: Promise<unknown>, ms: number): Promise<void> {
  const timer = new AbortController();
  await Promise.race([
    work.catch(() => {}).finally(() => timer.abort()),
    sleep(ms, undefined, { signal: timer.signal }).catch(() => {}),
  ]);
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, redisUrl } = options;
  const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  const settings: ApiSettings = { ...DEFAULT_API_SETTINGS, ...options.settings };
  const trustProxy = trustProxyFn(settings.trustProxy);
  /** Set once the context exists (below), long before the server listens. */
  let streams: Streams | null = null;

  const app = Fastify({
    logger: {
      level: config.LOG_LEVEL,
      serializers: { req: loggedRequest },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    logController: new RequestLogController(),
    bodyLimit: BODY_LIMIT,
    routerOptions: { maxParamLength: 256 },
    requestIdHeader: false,
    genReqId: requestId,
    trustProxy,
    frameworkErrors,
    clientErrorHandler,
    serverFactory: (handler) =>
      createHttpServer(settings, (request, res) => {
        if (streams === null || !streams.serve(request, res)) handler(request, res);
      }),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  // Only JSON bodies: anything else is 415, not a string that fails validation.
  app.removeContentTypeParser('text/plain');

  const target = { url: redisUrl, cluster: config.REDIS_CLUSTER };
  const redis = connectRedis(target, { maxRetriesPerRequest: 1 });
  // On a cluster, the stream hub's wake-ups are sharded channels: one subscriber connection per master.
  const subscriber = connectRedis(target, { maxRetriesPerRequest: null, shardedSubscribers: true });
  const queueConnection = connectRedis(target, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  for (const [name, connection] of [
    ['commands', redis],
    ['subscriber', subscriber],
    ['queue', queueConnection],
  ] as const) {
    connection.on('error', (error) => app.log.warn({ err: error, connection: name }, 'redis connection error'));
  }
  // Every shard any process announced, so the board shows them all (workers consume them all).
  const queues = new PageQueues(queueConnection, prefix, config.QUEUE_SHARDS);
  // Without Redis at start, the API still starts (readyz says so) on its own shards.
  await queues.announce(redis).catch((error: unknown) => app.log.warn({ err: error }, 'could not announce the queue shards'));
  const queue = queues.queues[0]!;
  const { afterCreateStep } = options;
  const store = new CrawlStore({
    redis,
    prefix,
    ttlSeconds: config.CRAWL_TTL_SECONDS,
    jobs: new QueuePageJobs(queues),
    ...(afterCreateStep ? { afterCreateStep } : {}),
  });
  const hub = new StreamHub({ store, subscriber, ...options.hub });
  for (const [shard, each] of queues.queues.entries()) {
    each.on('error', (error) => app.log.warn({ err: error, shard }, 'page queue error'));
  }
  const metrics = new ApiMetrics(redis, prefix, config.CRAWL_TTL_SECONDS);
  const webhookQueue = createWebhookQueue(queueConnection, prefix);
  webhookQueue.on('error', (error) => app.log.warn({ err: error }, 'webhook queue error'));
  const apiKeys = new ApiKeys(config.API_KEYS);
  const ctx: ApiContext = {
    config,
    settings,
    prefix,
    redis,
    store,
    hub,
    queue,
    queues,
    metrics,
    webhooks: new CrawlWebhooks(redis, prefix, config.CRAWL_TTL_SECONDS),
    webhookQueue,
    tokens: new StreamTokens(redis, globalKeys(prefix).streamTokenSecret, settings.streamTokenTtlSeconds),
    apiKeys,
  };
  app.decorate('crawlstream', ctx);
  streams = new Streams(ctx, new RequestLog(app.log, trustProxy), options.streamRetryMs ?? 1000);

  // The first rule of every request (the lean stream path applies it too).
  app.addHook('onRequest', async (request) => checkRequestTarget(request.raw));
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  await app.register(authPlugin, { keys: apiKeys });
  await app.register(metricsRoutes, { metrics, token: settings.metricsToken });
  if (settings.rateLimitPerMinute > 0) {
    await app.register(rateLimitPlugin, {
      redis,
      prefix,
      perMinute: settings.rateLimitPerMinute,
      keysEnabled: ctx.apiKeys.enabled,
    });
  }
  await app.register(docsPlugin);

  await app.register(healthRoutes, { ctx });
  await app.register(crawlRoutes, { ctx, afterStep: afterCreateStep });
  await app.register(llmsRoutes, { ctx });
  await app.register(webhookRoutes, { ctx });
  await app.register(streamRoutes, { ctx, streams });
  await app.register(boardRoutes, {
    queues,
    readOnly: !apiKeys.enabled,
    ...(options.shardsCheckMs === undefined ? {} : { shardsCheckMs: options.shardsCheckMs }),
  });
  await app.register(dashboardRoutes, { root: options.dashboardDir });
  await app.register(docsRoutes);

  app.addHook('onClose', async () => {
    await hub.close();
    await store.close();
    await atMost(Promise.all([queues.close(), webhookQueue.close()]), 2_000);
    await atMost(Promise.all([redis.quit(), subscriber.quit(), queueConnection.quit()]), 2_000);
    for (const connection of [redis, subscriber, queueConnection]) connection.disconnect();
  });
  return app;
}
