// The worker process (`npm run start:worker`): read config, run page jobs
// until SIGTERM/SIGINT, then stop taking jobs, finish or hand back in-flight
// pages within a bound, and exit 0.
import { loadConfigOrExit } from '@crawlstream/shared';
import { createCrawlWorker } from './crawl-worker.js';

const config = loadConfigOrExit();
if (!config.REDIS_URL) {
  process.stderr.write('crawlstream worker: REDIS_URL is required (npm start provides one)\n');
  process.exit(1);
}
const quiet = config.LOG_LEVEL === 'silent' || config.LOG_LEVEL === 'fatal' || config.LOG_LEVEL === 'error';
const log = (message: string, fields: Record<string, unknown> = {}) => {
  if (!quiet) process.stdout.write(`${JSON.stringify({ time: Date.now(), msg: message, ...fields })}\n`);
};

const worker = await createCrawlWorker({
  redisUrl: config.REDIS_URL,
  concurrency: config.WORKER_CONCURRENCY,
  maxBytesInFlight: config.WORKER_MAX_BYTES_IN_FLIGHT,
  ssrfAllow: config.SSRF_ALLOW,
  ttlSeconds: config.CRAWL_TTL_SECONDS,
  log,
});
log('crawlstream worker ready', {
  concurrency: config.WORKER_CONCURRENCY,
  maxBytesInFlight: config.WORKER_MAX_BYTES_IN_FLIGHT,
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log('worker stopping', { signal });
    worker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
