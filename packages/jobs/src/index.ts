// @crawlstream/jobs: the page queue on BullMQ, shared by the API (which
// enqueues a crawl's first page) and the workers. One job per dispatched URL,
// with the deterministic id the progress core chose, so enqueueing twice is
// harmless and a vanished job can be detected by id.
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

export interface PageDispatch {
  url: string;
  depth: number;
  jobId: string;
}

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

/** One job per dispatch, in one round trip. */
export async function enqueuePages(
  queue: PageQueue,
  crawlId: string,
  dispatches: readonly PageDispatch[],
): Promise<void> {
  if (dispatches.length === 0) return;
  await queue.addBulk(
    dispatches.map((dispatch) => ({
      name: 'page',
      data: { crawlId, url: dispatch.url, depth: dispatch.depth },
      opts: { jobId: dispatch.jobId },
    })),
  );
}

const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);

/** Whether a page job still exists and will run (or is running). */
export async function jobAlive(queue: PageQueue, jobId: string): Promise<boolean> {
  return LIVE_STATES.has(await queue.getJobState(jobId));
}
