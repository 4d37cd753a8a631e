// A worker in its own OS process, as the process tests need it: the real
// createCrawlWorker with the production lock, stall check, sweep and close
// settings (packages/shared/src/limits.ts), on the test's key prefix.
// argv: redisUrl prefix concurrency [queueShards]; on the test run's Redis
// Cluster (REDIS_TEST_CLUSTER=1, inherited) redisUrl is its seed list. With
// TEST_WEBHOOK_SECRET in the environment it delivers webhooks too (short backoff).
import { createCrawlWorker } from '../../dist/index.js';

const [redisUrl, prefix, concurrency, queueShards = '1'] = process.argv.slice(2);
const worker = await createCrawlWorker({
  redisUrl,
  redisCluster: process.env.REDIS_TEST_CLUSTER === '1',
  prefix,
  concurrency: Number(concurrency),
  queueShards: Number(queueShards),
  ssrfAllow: ['127.0.0.1/32'],
  retryBaseMs: 100,
  webhookSecret: process.env.TEST_WEBHOOK_SECRET,
  webhookRetryBaseMs: 50,
  webhookPollMs: 50,
});
process.stdout.write('ready\n');
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => worker.close().then(() => process.exit(0)));
}
