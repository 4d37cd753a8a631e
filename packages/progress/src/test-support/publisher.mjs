// A separate OS process that settles URLs of one crawl as fast as it can:
// a real concurrent publisher for the event-log tests.
// argv: redisUrl cluster(true|false) prefix crawlId urlPrefix from count
import { connectRedis } from '@crawlstream/redis-connection';
import { CrawlStore } from '../../dist/index.js';

const [redisUrl, cluster, prefix, crawlId, urlPrefix, from, count] = process.argv.slice(2);
const redis = connectRedis({ url: redisUrl, cluster: cluster === 'true' });
// Another process's queue is not this test's business: what it dispatches is dropped.
const store = new CrawlStore({ redis, prefix, jobs: { add: async () => {}, alive: async () => true } });
let settled = 0;
for (let i = Number(from); i < Number(from) + Number(count); i++) {
  const result = await store.settle(crawlId, { kind: 'skipped', url: `${urlPrefix}${i}`, reason: 'not_html' });
  if (result.result === 'settled') settled++;
}
process.stdout.write(JSON.stringify({ settled }));
redis.disconnect();
