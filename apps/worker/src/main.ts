// The worker process: connects to Redis and processes crawl jobs until
// SIGTERM/SIGINT. Page processing arrives with the worker issue.
import { loadConfigOrExit } from '@crawlstream/shared';
import { Redis } from 'ioredis';

const config = loadConfigOrExit();
if (!config.REDIS_URL) {
  process.stderr.write('crawlstream worker: REDIS_URL is required (npm start provides one)\n');
  process.exit(1);
}
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
await redis.ping();
process.stdout.write(`crawlstream worker ready (concurrency ${config.WORKER_CONCURRENCY})\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    redis.quit().finally(() => process.exit(0));
  });
}
