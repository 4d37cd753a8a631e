// A worker in its own OS process, as the process tests need it: the real
// createCrawlWorker, with short BullMQ locks so that the pages of a worker
// killed with SIGKILL are handed on within seconds.
// argv: redisUrl prefix concurrency [lockDurationMs]
import { createCrawlWorker } from '../../dist/index.js';

const [redisUrl, prefix, concurrency, lockDurationMs = '4000'] = process.argv.slice(2);
const worker = await createCrawlWorker({
  redisUrl,
  prefix,
  concurrency: Number(concurrency),
  ssrfAllow: ['127.0.0.1/32'],
  lockDurationMs: Number(lockDurationMs),
  stalledIntervalMs: 2_000,
  sweepEveryMs: 2_000,
  sweepStaleMs: 10_000,
  retryBaseMs: 100,
});
process.stdout.write('ready\n');
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => worker.close().then(() => process.exit(0)));
}
