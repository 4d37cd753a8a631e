// @crawlstream/jobs: the page queue on BullMQ, shared by the API and the
// workers, and the progress core's page-job sink on it (QueuePageJobs): the
// store enqueues the URLs it dispatched, under the job ids the progress core
// chose and stored with each URL (URLs of one dispatch share a job, at most
// PAGES_PER_JOB), so enqueueing twice is harmless and a vanished job can be
// detected by id. The queue is split into shards (QUEUE_SHARDS, PageQueues):
// a crawl's jobs go to the shard of its id, a job is looked up on every shard.
import type { PageJob, PageJobs } from '@crawlstream/progress';
import { DEFAULT_KEY_PREFIX, globalKeys, MAX_QUEUE_SHARDS, PAGES_PER_JOB, queuePrefix, queueShardOf } from '@crawlstream/shared';
import { Queue, type QueueOptions } from 'bullmq';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { z } from 'zod';

export const PAGE_QUEUE = 'pages';
/** Fetch attempts per page before it is settled as failed. */
export const PAGE_JOB_ATTEMPTS = 4;
/** Name of the backoff strategy the worker registers (exponential, jitter, Retry-After). */
export const PAGE_BACKOFF = 'crawl';

const jobPage = z.object({ url: z.string(), depth: z.number().int().min(0) });
export type JobPage = z.infer<typeof jobPage>;

/** Set once the job holds a politeness slot for its first page's host (epoch ms). */
const slotAt = z.number().optional();

/**
 * A page job: URLs of one crawl (1 to PAGES_PER_JOB), or one URL in the form
 * every job had before jobs carried several (still accepted: jobs queued by
 * an earlier version, or added by hand).
 */
const pagesJob = z.object({ crawlId: z.string(), pages: z.array(jobPage).min(1).max(PAGES_PER_JOB), slotAt });
const oneUrlJob = z.object({ crawlId: z.string(), url: z.string(), depth: z.number().int().min(0), slotAt });
export const pageJobData = z.union([pagesJob, oneUrlJob]);
export type PageJobData = z.infer<typeof pageJobData>;

/** Checks job data against the form it claims (`pages` or not), so the issues name that form's fields. */
export function parsePageJob(data: unknown) {
  return (typeof data === 'object' && data !== null && 'pages' in data ? pagesJob : oneUrlJob).safeParse(data);
}

/** A page job's data in the one form the worker works with. */
export interface PageJobPages {
  crawlId: string;
  pages: JobPage[];
  slotAt?: number;
}

export function jobPages(data: PageJobData): PageJobPages {
  const pages = 'pages' in data ? data.pages : [{ url: data.url, depth: data.depth }];
  return { crawlId: data.crawlId, pages, ...(data.slotAt === undefined ? {} : { slotAt: data.slotAt }) };
}

export type PageQueue = Queue<PageJobData, void, string>;

export function pageQueueOptions(connection: RedisConnection, prefix: string = DEFAULT_KEY_PREFIX, shard = 0): QueueOptions {
  return {
    connection,
    prefix: queuePrefix(prefix, shard),
    defaultJobOptions: {
      attempts: PAGE_JOB_ATTEMPTS,
      backoff: { type: PAGE_BACKOFF },
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}

/** Shard `shard` of the page queue (shard 0: the queue as it was before shards). */
export function createPageQueue(connection: RedisConnection, prefix: string = DEFAULT_KEY_PREFIX, shard = 0): PageQueue {
  return new Queue<PageJobData, void, string>(PAGE_QUEUE, pageQueueOptions(connection, prefix, shard));
}

/**
 * Raises the announced shard count (globalKeys().queueShards) to `shards` if
 * it is lower; returns the count after. One key, one script: atomic on a
 * cluster too. A count is never lowered by a process: a shard once used may
 * still hold jobs of a running crawl.
 */
const ANNOUNCE = `local n = tonumber(redis.call('GET', KEYS[1])) or 0
local k = tonumber(ARGV[1])
if k > n then redis.call('SET', KEYS[1], k) return k end
return n`;

/**
 * The page queue's shards known to one process: `shards` (QUEUE_SHARDS) is
 * where its new crawls' jobs go; `queues` holds at least that many, and as
 * many as any process announced (workers consume them all).
 */
export class PageQueues {
  readonly queues: PageQueue[] = [];

  constructor(
    private readonly connection: RedisConnection,
    readonly prefix: string,
    readonly shards: number,
  ) {
    this.extend(shards);
  }

  /** The shard that takes this crawl's new jobs. */
  of(crawlId: string): PageQueue {
    return this.queues[queueShardOf(crawlId, this.shards)]!;
  }

  /** Opens shards up to `count`; returns the ones it opened. */
  extend(count: number): PageQueue[] {
    const opened = [];
    while (this.queues.length < count) {
      const queue = createPageQueue(this.connection, this.prefix, this.queues.length);
      this.queues.push(queue);
      opened.push(queue);
    }
    return opened;
  }

  /**
   * Announces `shards` (raising the deployment's count), opens every shard
   * announced; returns the ones opened. `via`: a connection that queues
   * commands until it is connected (the queue's may fail fast).
   */
  async announce(via: RedisConnection = this.connection): Promise<PageQueue[]> {
    const count = Number(await via.eval(ANNOUNCE, 1, globalKeys(this.prefix).queueShards, this.shards));
    // A count written by hand past the bound opens no more than MAX_QUEUE_SHARDS.
    return this.extend(Math.min(count, MAX_QUEUE_SHARDS));
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.close()));
  }
}

const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/** The progress core's page-job sink on the page queue's shards (one queue: one shard). */
export class QueuePageJobs implements PageJobs {
  readonly queues: PageQueues | { of(crawlId: string): PageQueue; readonly queues: readonly PageQueue[] };

  constructor(queues: PageQueues | PageQueue) {
    this.queues = queues instanceof PageQueues ? queues : { of: () => queues, queues: [queues] };
  }

  /** One job per job id (its URLs in dispatch order), all in one round trip. */
  async add(crawlId: string, jobs: readonly PageJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const byId = new Map<string, JobPage[]>();
    for (const job of jobs) {
      const pages = byId.get(job.jobId);
      if (pages) pages.push({ url: job.url, depth: job.depth });
      else byId.set(job.jobId, [{ url: job.url, depth: job.depth }]);
    }
    const bulk = [];
    for (const [jobId, pages] of byId) {
      // The progress core gives a job id to PAGES_PER_JOB URLs at most (frontier.lua).
      if (pages.length > PAGES_PER_JOB) throw new RangeError(`job ${jobId}: ${pages.length} URLs, more than ${PAGES_PER_JOB}`);
      bulk.push({ name: 'page', data: { crawlId, pages }, opts: { jobId } });
    }
    await this.queues.of(crawlId).addBulk(bulk);
  }

  /**
   * Whether a page job still exists and will run (or is running), on any
   * shard: a process with another QUEUE_SHARDS, or an earlier one, may have
   * put it on a shard other than the one this process would choose.
   */
  async alive(jobId: string): Promise<boolean> {
    const states = await Promise.all(this.queues.queues.map((queue) => queue.getJobState(jobId)));
    return states.some((state) => LIVE_STATES.has(state));
  }
}

// ---- webhooks (#16) ----

/**
 * The webhook queue: one job per crawl with a webhook (job id = crawl id),
 * added by the API at create, run by the workers until the crawl's terminal
 * event is delivered or the webhook fails. It lives under shard 0's prefix.
 */
export const WEBHOOK_QUEUE = 'webhooks';
export const webhookJobData = z.object({ crawlId: z.string() });
export type WebhookJobData = z.infer<typeof webhookJobData>;
export type WebhookQueue = Queue<WebhookJobData, void, string>;

/** Attempts of a webhook job that throws (Redis trouble; the receiver's failures are counted in the webhook's own state). */
const WEBHOOK_JOB_ATTEMPTS = 20;

export function createWebhookQueue(connection: RedisConnection, prefix: string = DEFAULT_KEY_PREFIX): WebhookQueue {
  return new Queue<WebhookJobData, void, string>(WEBHOOK_QUEUE, {
    connection,
    prefix: queuePrefix(prefix),
    defaultJobOptions: {
      attempts: WEBHOOK_JOB_ATTEMPTS,
      backoff: { type: 'exponential', delay: 1_000 },
      removeOnComplete: true,
      removeOnFail: true,
    },
  });
}

/** Starts delivering a crawl's webhook (a no-op when its job exists). */
export async function enqueueWebhook(queue: WebhookQueue, crawlId: string): Promise<void> {
  await queue.add('deliver', { crawlId }, { jobId: crawlId });
}

export {
  beatRenderer,
  createRenderQueue,
  liveRenderers,
  RENDER_JOB_ATTEMPTS,
  RENDER_LOCK_MS,
  RENDER_QUEUE,
  RENDER_RESULT_TTL_SECONDS,
  RENDER_STALLED_INTERVAL_MS,
  RENDERER_HEARTBEAT_MS,
  RENDERER_STALE_MS,
  type RenderJobData,
  renderJobData,
  renderJobId,
  type RenderQueue,
  type RenderOutput,
  type RenderResult,
  dropRenderedDom,
  readRenderedDom,
  saveRenderedDom,
  removeRenderer,
  renderQueueOptions,
} from './render-queue.js';
