// Where the progress core puts the work it decides: the URLs it dispatched,
// each under the job id it chose (URLs of one dispatch share a job id, at
// most PAGES_PER_JOB of them: one job carries them all). The store enqueues through this sink itself, before the call that
// dispatched resolves; @crawlstream/jobs implements it on BullMQ. Progress
// knows nothing of the queue behind it.

/** One URL handed to a job, under the job id the create/dispatch script chose (frontier.lua); URLs with one job id are one job. */
export interface PageJob {
  url: string;
  depth: number;
  jobId: string;
}

export interface PageJobs {
  /** Enqueues one job per job id, carrying that id's URLs; adding a job id twice adds one job. */
  add(crawlId: string, jobs: readonly PageJob[]): Promise<void>;
  /** Whether the job with this id still exists and will run (waiting, delayed, active or retrying). */
  alive(jobId: string): Promise<boolean>;
}

/** The sink of a store given none: reads work, anything that dispatches throws. */
export const NO_PAGE_JOBS: PageJobs = {
  add: async (_crawlId, jobs) => {
    if (jobs.length > 0) throw new Error('this CrawlStore was given no page queue (CrawlStoreOptions.jobs)');
  },
  alive: async () => {
    throw new Error('this CrawlStore was given no page queue (CrawlStoreOptions.jobs)');
  },
};
