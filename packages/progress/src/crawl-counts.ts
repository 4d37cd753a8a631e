// Cluster-wide counts for metrics, kept as they change so that reading them
// costs a fixed number of Redis commands however many crawls there are:
// - crawls by status: one sorted set per status (member: crawl id, score: the
//   ms it entered that status). A crawl enters `running` when created and is
//   moved to its terminal status once it ended (CrawlIndex.forget, which
//   the sweep calls again for any crawl still in `active`, so a crash between
//   the terminal transition and the move still converges). A move is one MULTI
//   (all five sets share a hash tag) and idempotent: ZADD NX keeps the first
//   score. Terminal members older than the crawl TTL are dropped when read:
//   the counts are of the crawls still kept.
// - pages processed per second: per-second buckets (one hash per minute,
//   expiring), added to once per settle call; the rate is the sum of the last
//   60 seconds, so reading it changes nothing.
import { CRAWL_STATUSES, type CrawlStatus, globalKeys, TERMINAL_STATUSES } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import type { ChainableCommander } from 'ioredis';

/** The window of `pagesPerSecond`, in seconds. */
export const RATE_WINDOW_SECONDS = 60;
/** A minute's buckets outlive the window that reads them. */
const BUCKET_TTL_SECONDS = 3 * 60;

/**
 * Puts crawl `id` in the set of `status` (scored `at`, unless it is there
 * already) and out of every other; `null` takes it out of all (it expired).
 */
export async function moveCrawlStatus(redis: RedisConnection, prefix: string, id: string, status: CrawlStatus | null, at: number): Promise<void> {
  const keys = globalKeys(prefix);
  const multi = redis.multi();
  for (const other of CRAWL_STATUSES) if (other !== status) multi.zrem(keys.crawlsByStatus(other), id);
  if (status !== null) multi.zadd(keys.crawlsByStatus(status), 'NX', at, id);
  await multi.exec();
}

/** Queues the removal of finished crawls that ended more than `keepSeconds` ago (CRAWL_TTL_SECONDS: they expired) from their status sets. */
function queuePrune(multi: ChainableCommander, prefix: string, keepSeconds: number, now: number): void {
  const keys = globalKeys(prefix);
  for (const status of TERMINAL_STATUSES) multi.zremrangebyscore(keys.crawlsByStatus(status), '-inf', `(${now - keepSeconds * 1000}`);
}

/** Finished crawls past `keepSeconds` leave their status sets (the sweep's pruning); one MULTI. */
export async function pruneCrawlStatuses(redis: RedisConnection, prefix: string, keepSeconds: number, now = Date.now()): Promise<void> {
  const multi = redis.multi();
  queuePrune(multi, prefix, keepSeconds, now);
  await multi.exec();
}

/** Crawls by status, of those still kept (`keepSeconds`: CRAWL_TTL_SECONDS); one MULTI that prunes too. */
export async function countCrawlsByStatus(redis: RedisConnection, prefix: string, keepSeconds: number, now = Date.now()): Promise<Map<CrawlStatus, number>> {
  const keys = globalKeys(prefix);
  const multi = redis.multi();
  queuePrune(multi, prefix, keepSeconds, now);
  for (const status of CRAWL_STATUSES) multi.zcard(keys.crawlsByStatus(status));
  const replies = (await multi.exec()) ?? [];
  const counts = new Map<CrawlStatus, number>();
  for (const [i, status] of CRAWL_STATUSES.entries()) {
    const [error, n] = replies[TERMINAL_STATUSES.length + i] ?? [null, 0];
    if (error) throw error;
    counts.set(status, Number(n));
  }
  return counts;
}

/** `count` pages were processed just now (one command pair per settle call, not per page). */
export async function notePagesProcessed(redis: RedisConnection, prefix: string, count: number, now = Date.now()): Promise<void> {
  if (count <= 0) return;
  const second = Math.floor(now / 1000);
  const key = globalKeys(prefix).processedPerSecond(Math.floor(second / 60));
  await redis.multi().hincrby(key, String(second), count).expire(key, BUCKET_TTL_SECONDS).exec();
}

/** Pages processed per second over the last RATE_WINDOW_SECONDS (this second included); two reads. */
export async function pagesPerSecond(redis: RedisConnection, prefix: string, now = Date.now()): Promise<number> {
  const keys = globalKeys(prefix);
  const last = Math.floor(now / 1000);
  const first = last - RATE_WINDOW_SECONDS + 1;
  const minute = Math.floor(last / 60);
  // The window spans this minute and the one before; when it starts on a
  // minute, the one before is asked for a second outside the window (ignored),
  // so that every read costs the same two commands.
  const before: string[] = [];
  const current: string[] = [];
  for (let second = first; second <= last; second++) (Math.floor(second / 60) === minute ? current : before).push(String(second));
  const outside = before.length === 0;
  // Two commands sent at once, not a pipeline: on a Redis Cluster the two minutes may sit in different slots.
  const replies = await Promise.all([
    redis.hmget(keys.processedPerSecond(minute - 1), ...(outside ? [String(first - 1)] : before)),
    redis.hmget(keys.processedPerSecond(minute), ...current),
  ]);
  let total = 0;
  for (const [i, values] of replies.entries()) {
    if (i === 0 && outside) continue;
    for (const value of values) total += Number(value ?? 0);
  }
  return total / RATE_WINDOW_SECONDS;
}
