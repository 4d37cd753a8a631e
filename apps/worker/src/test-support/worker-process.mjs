// A worker in its own OS process, as the process tests need it: the real
// createCrawlWorker with the production lock, stall check, sweep and close
// settings (packages/shared/src/limits.ts), on the test's key prefix.
// argv: redisUrl prefix concurrency [queueShards]
import { createCrawlWorker } from '../../dist/index.js';

const [redisUrl, prefix, concurrency, queueShards = '1'] = process.argv.slice(2);
const worker = await createCrawlWorker({
  redisUrl,
  prefix,
  concurrency: Number(concurrency),
  queueShards: Number(queueShards),
  ssrfAllow: ['127.0.0.1/32'],
  retryBaseMs: 100,
});
process.stdout.write('ready\n');
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => worker.close().then(() => process.exit(0)));
}
