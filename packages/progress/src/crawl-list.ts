// Read-only listing of crawls, newest first, for `GET /api/crawl-v2`: walks the
// crawl index (ids scored by creation ms) from a score cursor, reads each
// crawl in one pipeline, filters by status and owner, and drops ids whose
// crawl expired from the index on the way.
import { type Counters, type Crawl, type CrawlStatus, crawlKeys, DEFAULT_KEY_PREFIX, globalKeys } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { crawlFromMeta } from './crawl-results.js';

export interface CrawlListQuery {
  status?: CrawlStatus;
  /** Only crawls created by this owner (as stored on the crawl); undefined = any. */
  owner?: string;
  limit: number;
  /** From a previous page's `nextCursor`. */
  cursor?: string;
}

export interface CrawlListPage {
  items: Crawl[];
  nextCursor: string | null;
}

/** Position after a crawl in the index: `<creation ms>.<id>`; ties are ordered by id, descending. */
const CURSOR = /^(\d{1,16})\.([0-9a-f-]{36})$/;

export function isCrawlListCursor(value: string): boolean {
  return CURSOR.test(value);
}

function cursorOf(score: string, id: string): string {
  return `${score}.${id}`;
}

/** Ids read per round trip, and at most this many per call, so that a filter matching nothing stays cheap. */
const PAGE = 200;
const MAX_SCANNED = 2_000;

export async function listCrawls(
  redis: RedisConnection,
  query: CrawlListQuery,
  prefix: string = DEFAULT_KEY_PREFIX,
): Promise<CrawlListPage> {
  const index = globalKeys(prefix).crawlIndex;
  const items: Crawl[] = [];
  const parsed = query.cursor ? CURSOR.exec(query.cursor) : null;
  let maxScore = parsed ? parsed[1]! : '+inf';
  // Within the cursor's own score, only ids below the cursor's id are after it.
  let belowId = parsed ? parsed[2]! : null;
  let offset = 0;
  let scanned = 0;
  let last: { score: string; id: string } | null = null;

  while (scanned < MAX_SCANNED) {
    const flat = await redis.zrevrangebyscore(index, maxScore, '-inf', 'WITHSCORES', 'LIMIT', offset, PAGE);
    if (flat.length === 0) return { items, nextCursor: null };
    const entries: { id: string; score: string }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ id: flat[i]!, score: flat[i + 1]! });
    const fresh = entries.filter(
      (entry) => belowId === null || entry.score !== maxScore || entry.id < belowId,
    );
    const exhausted = entries.length < PAGE;
    // Commands sent at once, not a pipeline: on a Redis Cluster each crawl's keys live in their own slot.
    const replies = await Promise.all(
      fresh.map(({ id }) => {
        const keys = crawlKeys(id, prefix);
        return Promise.all([
          redis.hgetall(keys.meta),
          redis.hmget(keys.counters, 'discovered', 'processed', 'failed', 'skipped'),
        ]);
      }),
    );
    const expired: string[] = [];
    for (const [i, entry] of fresh.entries()) {
      scanned++;
      last = entry;
      const [meta, raw] = replies[i]!;
      if (!meta?.id) {
        expired.push(entry.id);
        continue;
      }
      if (query.owner !== undefined && (meta.owner ?? '') !== query.owner) continue;
      if (query.status !== undefined && meta.status !== query.status) continue;
      const counters: Counters = {
        discovered: Number(raw?.[0] ?? 0),
        processed: Number(raw?.[1] ?? 0),
        failed: Number(raw?.[2] ?? 0),
        skipped: Number(raw?.[3] ?? 0),
      };
      items.push(crawlFromMeta(meta, counters));
      if (items.length === query.limit) break;
    }
    if (expired.length > 0) await redis.zrem(index, ...expired);
    if (items.length === query.limit) {
      return { items, nextCursor: last ? cursorOf(last.score, last.id) : null };
    }
    if (exhausted) return { items, nextCursor: null };
    if (fresh.length === 0) {
      // A whole page of ties at the cursor's score, all at or before the cursor: look further.
      offset += entries.length;
      continue;
    }
    maxScore = last!.score;
    belowId = last!.id;
    offset = 0;
  }
  // Scan budget spent: hand back where we stopped; the client asks again.
  return { items, nextCursor: last ? cursorOf(last.score, last.id) : null };
}
