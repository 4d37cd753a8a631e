// The worker process (`npm run start:worker`): read config, run page jobs
// until SIGTERM/SIGINT, then stop taking jobs, finish or hand back in-flight
// pages within a bound, and exit 0. It logs JSON lines with pino at LOG_LEVEL.
import { loadConfigOrExit } from '@crawlstream/shared';
import { pino } from 'pino';
import { createCrawlWorker } from './crawl-worker.js';

const config = loadConfigOrExit();
if (!config.REDIS_URL) {
  process.stderr.write('crawlstream worker: REDIS_URL is required (npm start provides one)\n');
  process.exit(1);
}
const logger = pino({ level: config.LOG_LEVEL });

const worker = await createCrawlWorker({
  redisUrl: config.REDIS_URL,
  redisCluster: config.REDIS_CLUSTER,
  concurrency: config.WORKER_CONCURRENCY,
  queueShards: config.QUEUE_SHARDS,
  maxBytesInFlight: config.WORKER_MAX_BYTES_IN_FLIGHT,
  ssrfAllow: config.SSRF_ALLOW,
  ttlSeconds: config.CRAWL_TTL_SECONDS,
  webhookSecret: config.WEBHOOK_SECRET,
  renderWaitMs: config.RENDER_WAIT_MS,
  logger,
});
logger.info(
  { concurrency: config.WORKER_CONCURRENCY, queueShards: worker.workers.length, maxBytesInFlight: config.WORKER_MAX_BYTES_IN_FLIGHT },
  'crawlstream worker ready',
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    logger.info({ signal }, 'worker stopping');
    worker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'worker did not close cleanly');
        process.exit(1);
      },
    );
  });
}
