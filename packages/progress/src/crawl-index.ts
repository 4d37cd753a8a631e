// The indexes across crawls: the crawl list (`crawls`), the crawls the sweep
// watches (`active`), the status sets of the metrics (crawl-counts.ts) and
// the pages-processed rate. Not per crawl, so not in a crawl's Lua scripts
// (another Cluster slot): plain commands, each step safe to repeat.
import { CRAWL_STATUSES, type CrawlStatus, crawlKeys, globalKeys, isTerminalStatus } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { moveCrawlStatus, notePagesProcessed, pruneCrawlStatuses } from './crawl-counts.js';

/** How often a process writes the pages it processed (see noteProcessed). */
const RATE_WRITE_INTERVAL_MS = 1000;

export interface ActiveCrawl {
  id: string;
  /** When it entered `active` (epoch ms): a create that is still under way is this recent. */
  since: number;
}

export class CrawlIndex {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  /**
   * A crawl about to be created enters every index first, so the sweep sees
   * it whatever step of its creation a crash interrupts. The list keeps the
   * first time (a retried create does not move it); `active` takes the
   * latest, so a retry is not taken for an abandoned create.
   * `active` first: the three keys live in different slots on a Redis
   * Cluster (no MULTI across them), and a crawl in `active` is one the sweep
   * looks at, and takes out of every index when its create never finished.
   */
  async add(id: string, now: number): Promise<void> {
    const global = globalKeys(this.prefix);
    await this.redis.zadd(global.active, 'GT', now, id);
    await Promise.all([
      this.redis.zadd(global.crawlIndex, 'NX', now, id),
      this.redis.zadd(global.crawlsByStatus('running'), 'NX', now, id),
    ]);
  }

  /**
   * The stalled-work sweep's turn for the next `ms` (one `SET NX PX`): one
   * process across the deployment gets it, so the sweep's Redis cost per
   * interval does not grow with the number of workers.
   */
  async takeSweepTurn(ms: number): Promise<boolean> {
    return (await this.redis.set(globalKeys(this.prefix).sweepTurn, String(Date.now()), 'PX', ms, 'NX')) === 'OK';
  }

  /** Crawls that may still be running (for the sweep). */
  async active(): Promise<ActiveCrawl[]> {
    const flat = await this.redis.zrange(globalKeys(this.prefix).active, 0, -1, 'WITHSCORES');
    const out: ActiveCrawl[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ id: flat[i]!, since: Number(flat[i + 1]) });
    return out;
  }

  /**
   * A crawl ended: moved to its terminal status's set (crawl-counts.ts), then
   * out of `active`. In that order: a crash in between leaves it in `active`,
   * and the sweep calls this again. A crawl with no meta (expired, or a
   * create interrupted before its script) leaves every index. A running
   * crawl is left alone.
   */
  async forget(id: string): Promise<void> {
    const meta = crawlKeys(id, this.prefix).meta;
    const [status = null, finishedAt = null] = await this.redis.hmget(meta, 'status', 'finishedAt');
    // Running: its caller saw it missing (the sweep) just before a create stored it; it stays.
    if (status === 'running') return;
    const terminal = status !== null && isTerminalStatus(status) ? (status as CrawlStatus) : null;
    await moveCrawlStatus(this.redis, this.prefix, id, terminal, Number(finishedAt) || Date.now());
    if (status === null) await this.redis.zrem(globalKeys(this.prefix).crawlIndex, id);
    await this.redis.zrem(globalKeys(this.prefix).active, id);
    if (status !== null) return;
    // A create may have stored the crawl between the read above and the removals
    // (a retry re-creating it): it goes back in. A create stored after this check
    // indexes itself again after its script (CrawlTransitions.create), so either
    // way a crawl that exists is never left out of the indexes.
    const [createdAt = null, now = null] = await this.redis.hmget(meta, 'createdAt', 'status');
    if (createdAt !== null && now === 'running') await this.add(id, Number(createdAt));
  }

  /**
   * Takes expired crawls out of the crawl list (the `limit` oldest ids
   * entered before `before` are checked: an id whose meta is gone leaves the
   * list and every status set) and finished crawls older than `keepSeconds`
   * out of the status sets, so neither grows when nobody lists crawls or reads
   * the metrics. An id whose create is still under way is younger than
   * `before`; one held up longer indexes itself again once stored
   * (CrawlTransitions.create). Returns the ids removed from the list.
   */
  async prune(before: number, limit: number, keepSeconds: number): Promise<number> {
    const keys = globalKeys(this.prefix);
    await pruneCrawlStatuses(this.redis, this.prefix, keepSeconds);
    const ids = await this.redis.zrangebyscore(keys.crawlIndex, '-inf', `(${before}`, 'LIMIT', 0, limit);
    if (ids.length === 0) return 0;
    // One command per crawl, all sent at once (each crawl's meta is in its own slot).
    const exists = await Promise.all(ids.map((id) => this.redis.exists(crawlKeys(id, this.prefix).meta)));
    const gone = ids.filter((_, i) => exists[i] === 0);
    if (gone.length === 0) return 0;
    // The status sets share a hash tag (one MULTI); the list is in another slot.
    const multi = this.redis.multi();
    for (const status of CRAWL_STATUSES) multi.zrem(keys.crawlsByStatus(status), ...gone);
    await multi.exec();
    await this.redis.zrem(keys.crawlIndex, ...gone);
    return gone.length;
  }

  /**
   * Pages processed by a settle call, for the cluster-wide pages per second.
   * Added up in the process and written at most once a second (one MULTI),
   * not once per settle call: bench/crawl measured that per call as ~0.7
   * extra Redis commands per page. The rate lags by up to a second, and a
   * process that exits loses at most its last second of counts (a metric).
   */
  noteProcessed(count: number): void {
    if (count <= 0) return;
    this.unwritten += count;
    if (this.writeTimer) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      const count = this.unwritten;
      this.unwritten = 0;
      notePagesProcessed(this.redis, this.prefix, count).catch(() => {});
    }, RATE_WRITE_INTERVAL_MS);
    this.writeTimer.unref();
  }

  private unwritten = 0;
  private writeTimer: NodeJS.Timeout | undefined;
}
