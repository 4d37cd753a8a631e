// Redis key names. Every key of one crawl carries the crawl id as a hash tag,
// so each Lua script touches a single slot and the design runs on Redis Cluster.
import calculateSlot from 'cluster-key-slot';

export const DEFAULT_KEY_PREFIX = 'cs';

export interface CrawlKeys {
  /** Hash: id, url, status, options (JSON), timestamps, error, owner. */
  meta: string;
  /** Hash: discovered, processed, failed, skipped. Changed only by HINCRBY in Lua. */
  counters: string;
  /** Stream: the event log; stream ids are the SSE event ids. */
  events: string;
  /** Hash: normalized URL -> depth, for every URL accepted so far (dedupe). */
  seen: string;
  /** List: accepted URLs waiting for a slot. */
  frontier: string;
  /** Hash: URL -> dispatch record, for URLs whose job is in flight. */
  inflight: string;
  /** Set: URLs settled (processed, failed or skipped); settling is once per URL. */
  done: string;
  /** Hash: URL -> stored page (compressed). */
  pages: string;
  /** List: page results in settle order, for stable pagination. */
  pageOrder: string;
  /** List: failures and skips, as JSON. */
  errors: string;
  /** Set: parent URLs whose children were already claimed (idempotent retries). */
  expanded: string;
  /**
   * Hash: host -> robots.txt as fetched once for this crawl (JSON), and
   * "lock <host>" -> epoch ms until which one worker holds the right to fetch it.
   */
  robots: string;
  /** Hash: host -> epoch ms of the next request slot (politeness across workers). */
  hosts: string;
  /**
   * Hash: request header name -> value for the crawl's fetches (`options.headers`,
   * private docs). Never read by any route; deleted when the crawl ends.
   */
  secrets: string;
  /**
   * Hash: "canonical <url>" and "content <sha256>" -> the stored page's URL
   * (`options.dedupe`).
   */
  dedupe: string;
  /** Hash: URL -> why a link found on a page was not taken (JSON), bounded per crawl. */
  rejected: string;
  /** List: rejected URLs in the order they were recorded, for stable pagination. */
  rejectedOrder: string;
  /** Pub/sub channel that wakes stream readers; carries no data that matters. */
  wake: string;
  /**
   * Hash: the crawl's webhook (#16) and its delivery state: url, events,
   * headers (JSON), cursor, attempts, state, lastError, lastStatus,
   * nextAttemptAt. Written by single-key commands (webhook-state.ts in
   * @crawlstream/progress), never by a Lua script; its TTL is the crawl's,
   * set on each write.
   */
  webhook: string;
}

export function crawlKeys(id: string, prefix: string = DEFAULT_KEY_PREFIX): CrawlKeys {
  const base = `${prefix}:{${id}}`;
  return {
    meta: `${base}:meta`,
    counters: `${base}:counters`,
    events: `${base}:events`,
    seen: `${base}:seen`,
    frontier: `${base}:frontier`,
    inflight: `${base}:inflight`,
    done: `${base}:done`,
    pages: `${base}:pages`,
    pageOrder: `${base}:pageorder`,
    errors: `${base}:errors`,
    expanded: `${base}:expanded`,
    robots: `${base}:robots`,
    hosts: `${base}:hosts`,
    secrets: `${base}:secrets`,
    dedupe: `${base}:dedupe`,
    rejected: `${base}:rejected`,
    rejectedOrder: `${base}:rejectedorder`,
    wake: `${base}:wake`,
    webhook: `${base}:webhook`,
  };
}

/**
 * Keys that are not per crawl. On a Redis Cluster each hashes to a slot of its
 * own, except the five `crawlsByStatus` sets (one tag, moved in one MULTI);
 * no MULTI or pipeline spans two of them (docs/ARCHITECTURE.md, "Redis Cluster").
 */
export function globalKeys(prefix: string = DEFAULT_KEY_PREFIX) {
  return {
    /** Sorted set: crawl id scored by creation time, for listing. */
    crawlIndex: `${prefix}:crawls`,
    /** Sorted set of running crawls, for the stalled-work sweep. */
    active: `${prefix}:active`,
    idempotency: (owner: string, key: string) => `${prefix}:idem:${owner}:${key}`,
    /**
     * Sorted set per crawl status: crawl id scored by the ms it entered that
     * status (for metrics). One hash tag for all five, so that a move is one MULTI.
     */
    crawlsByStatus: (status: string) => `${prefix}:bystatus:{${prefix}}:${status}`,
    /** Written (with a 60 s TTL) by each WAITAOF barrier on its own connection, so the barrier has a write to wait for. */
    aofBarrier: `${prefix}:aof-barrier`,
    /**
     * Pub/sub channel: the id of each crawl that reached a terminal status
     * (completed, failed, cancelled), published by that transition's script.
     * Workers drop their cached `running` for it (running-crawls.ts).
     */
    ended: `${prefix}:ended`,
    /** String with a TTL: held by the process whose stalled-work sweep has this interval's turn (sweep.ts). */
    sweepTurn: `${prefix}:sweep-turn`,
    /** Hash per minute (epoch minute): epoch second -> pages processed in it, cluster-wide. */
    processedPerSecond: (minute: number) => `${prefix}:processed:${minute}`,
    /**
     * String: the HMAC secret of stream tokens, shared by every API instance.
     * No TTL, deliberately: a token signed by one instance must verify on all.
     */
    streamTokenSecret: `${prefix}:streamtoken:secret`,
    /** @fastify/rate-limit's counter of one client (`key:<owner>` or `ip:<address>`); it expires with its window. */
    rateLimit: (client: string) => `${prefix}:ratelimit:${client}`,
    /**
     * String: the highest QUEUE_SHARDS any process announced (never lowered by
     * a process): workers consume that many queue shards, so no shard that
     * may hold jobs is left without a consumer (queue-shards.ts in @crawlstream/jobs).
     */
    queueShards: `${prefix}:queue-shards`,
    /**
     * Sorted set: renderer process id -> epoch ms of its last heartbeat
     * (render-queue.ts in @crawlstream/jobs). A renderer is alive while its
     * beat is at most RENDERER_STALE_MS old.
     */
    renderers: `${prefix}:renderers`,
  };
}

/**
 * String with a TTL: the DOM one render made (render job `renderId` of the
 * crawl), from the renderer to the worker that settles the page (render-queue.ts
 * in @crawlstream/jobs). In the crawl's slot; deleted once the page is settled.
 */
export function renderedDomKey(crawlId: string, renderId: string, prefix: string = DEFAULT_KEY_PREFIX): string {
  return `${prefix}:{${crawlId}}:rendered:${renderId}`;
}

/** The BullMQ prefix of the render queue: one hash tag, so each of its scripts runs on one cluster node. */
export function renderQueuePrefix(prefix: string = DEFAULT_KEY_PREFIX): string {
  return `{${prefix}-render}`;
}

const SLOTS = 16_384;
/** Each shard's slot lies within this many slots of its target (1/64 of the slots either side). */
const SLOT_WINDOW = 256;
const GOLDEN = (Math.sqrt(5) - 1) / 2;
const shardTags = new Map<string, string>();

/**
 * The hash tag of page-queue shard `shard` (> 0). Shard i aims at a slot i
 * golden-ratio steps around the slot ring from shard 0's (a low-discrepancy
 * sequence: any first K shards sit spread out evenly, whatever K), and takes
 * the first of `<prefix>-queue-<i>`, `<prefix>-queue-<i>-1`, … whose slot is
 * near it. So on a cluster whose masters own equal slot ranges (as
 * `redis-cli --cluster create` makes them), QUEUE_SHARDS = masters puts about
 * one shard on each: with the prefix `cs`, shards 0, 1, 2 sit on the first,
 * third and second of 3 masters. Plain `-<i>` names would not: `{cs-queue}`
 * and `{cs-queue-1}` share the first of 3 masters.
 */
function shardTag(prefix: string, shard: number): string {
  const cached = shardTags.get(`${prefix} ${shard}`);
  if (cached) return cached;
  const target = Math.floor(((calculateSlot(`${prefix}-queue`) / SLOTS + shard * GOLDEN) % 1) * SLOTS);
  let tag = `${prefix}-queue-${shard}`;
  for (let n = 1; ; n++) {
    const distance = Math.abs(calculateSlot(tag) - target);
    if (Math.min(distance, SLOTS - distance) <= SLOT_WINDOW) break;
    tag = `${prefix}-queue-${shard}-${n}`;
  }
  shardTags.set(`${prefix} ${shard}`, tag);
  return tag;
}

/**
 * BullMQ's prefix of page-queue shard `shard`, hash-tagged so each shard lives
 * in one Cluster slot. Shard 0 is the queue as it was before shards
 * (`{cs-queue}`), so a deployment that raises QUEUE_SHARDS keeps its queued
 * jobs; shard i > 0 is `{cs-queue-<i>}` or `{cs-queue-<i>-<n>}` (shardTag).
 */
export function queuePrefix(prefix: string = DEFAULT_KEY_PREFIX, shard = 0): string {
  return shard === 0 ? `{${prefix}-queue}` : `{${shardTag(prefix, shard)}}`;
}

/**
 * The queue shard of a crawl among `shards`: FNV-1a (32 bit) of its id, mod
 * `shards`. Stable across processes, versions and restarts; a process with a
 * different QUEUE_SHARDS may pick another shard, which is safe (workers
 * consume every shard, and a job is looked up on all: docs/ARCHITECTURE.md).
 */
export function queueShardOf(crawlId: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < crawlId.length; i++) {
    hash ^= crawlId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}
