// @crawlstream/jobs: the page queue on BullMQ, shared by the API and the
// workers, and the progress core's page-job sink on it (QueuePageJobs): the
// store enqueues one job per dispatched URL, under the id the progress core
// chose and stored with the URL, so enqueueing twice is harmless and a
// vanished job can be detected by id.
import type { PageJob, PageJobs } from '@crawlstream/progress';
import { DEFAULT_KEY_PREFIX, queuePrefix } from '@crawlstream/shared';
import { Queue, type QueueOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const PAGE_QUEUE = 'pages';
/** Fetch attempts per page before it is settled as failed. */
export const PAGE_JOB_ATTEMPTS = 4;
/** Name of the backoff strategy the worker registers (exponential, jitter, Retry-After). */
export const PAGE_BACKOFF = 'crawl';

export const pageJobData = z.object({
  crawlId: z.string(),
  url: z.string(),
  depth: z.number().int().min(0),
  /** Set once the job holds a politeness slot for its host (epoch ms). */
  slotAt: z.number().optional(),
});
export type PageJobData = z.infer<typeof pageJobData>;

export type PageQueue = Queue<PageJobData, void, string>;

export function pageQueueOptions(connection: Redis, prefix: string = DEFAULT_KEY_PREFIX): QueueOptions {
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

export function createPageQueue(connection: Redis, prefix: string = DEFAULT_KEY_PREFIX): PageQueue {
  return new Queue<PageJobData, void, string>(PAGE_QUEUE, pageQueueOptions(connection, prefix));
}

const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/** The progress core's page-job sink on a BullMQ page queue. */
export class QueuePageJobs implements PageJobs {
  constructor(readonly queue: PageQueue) {}

  /** One job per dispatch, in one round trip. */
  async add(crawlId: string, jobs: readonly PageJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue.addBulk(
      jobs.map((job) => ({
        name: 'page',
        data: { crawlId, url: job.url, depth: job.depth },
        opts: { jobId: job.jobId },
      })),
    );
  }

  /** Whether a page job still exists and will run (or is running). */
  async alive(jobId: string): Promise<boolean> {
    return LIVE_STATES.has(await this.queue.getJobState(jobId));
  }
}
