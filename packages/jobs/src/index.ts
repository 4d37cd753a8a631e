// @crawlstream/jobs: the page queue on BullMQ, shared by the API and the
// workers, and the progress core's page-job sink on it (QueuePageJobs): the
// store enqueues the URLs it dispatched, under the job ids the progress core
// chose and stored with each URL (URLs of one dispatch share a job, at most
// PAGES_PER_JOB), so enqueueing twice is harmless and a vanished job can be
// detected by id.
import type { PageJob, PageJobs } from '@crawlstream/progress';
import { DEFAULT_KEY_PREFIX, PAGES_PER_JOB, queuePrefix } from '@crawlstream/shared';
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

export function pageQueueOptions(connection: RedisConnection, prefix: string = DEFAULT_KEY_PREFIX): QueueOptions {
  return {
    connection,
    prefix: queuePrefix(prefix),
    defaultJobOptions: {
      attempts: PAGE_JOB_ATTEMPTS,
      backoff: { type: PAGE_BACKOFF },
      removeOnComplete: true,
      removeOnFail: true,
    },
  };
}

export function createPageQueue(connection: RedisConnection, prefix: string = DEFAULT_KEY_PREFIX): PageQueue {
  return new Queue<PageJobData, void, string>(PAGE_QUEUE, pageQueueOptions(connection, prefix));
}

const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/** The progress core's page-job sink on a BullMQ page queue. */
export class QueuePageJobs implements PageJobs {
  constructor(readonly queue: PageQueue) {}

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
    await this.queue.addBulk(bulk);
  }

  /** Whether a page job still exists and will run (or is running). */
  async alive(jobId: string): Promise<boolean> {
    return LIVE_STATES.has(await this.queue.getJobState(jobId));
  }
}
