// A crawlstream worker process for the benchmark: the real worker, with the
// benchmark's key prefix so runs do not see each other.
import { loadConfig } from '@crawlstream/shared';
import { createCrawlWorker } from '@crawlstream/worker';

const config = loadConfig();
const worker = await createCrawlWorker({
  redisUrl: config.REDIS_URL,
  prefix: process.env.CRAWLSTREAM_BENCH_PREFIX,
  concurrency: config.WORKER_CONCURRENCY,
  ssrfAllow: config.SSRF_ALLOW,
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => worker.close().then(() => process.exit(0)));
