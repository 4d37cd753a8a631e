// The transitions of a crawl other than settling a page: create, claim
// (sitemaps), dispatch, re-dispatch, cancel and fail. Each is one Lua call;
// whatever it dispatched is enqueued before it resolves.
import { type Crawl, type CrawlOptions, type ErrorInfo, MAX_MESSAGE_LENGTH, newCrawlId, storedOptionsOf } from '@crawlstream/shared';
import type { AofBarrier, Durability } from './aof-barrier.js';
import type { CrawlIndex } from './crawl-index.js';
import type { CrawlResults } from './crawl-results.js';
import type { PageJobs } from './page-jobs.js';
import type { Refused, Scripts } from './scripts.js';
import { urlChunks } from './settle-records.js';
import { truncateText } from './truncate.js';

export type TransitionResult = { result: 'done' } | Refused;

/**
 * The steps of a create, in order: `indexed` (in the crawl list, `active` and
 * the running set), `stored` (the create script: meta, `started`, the start
 * URL in flight with its job id), `enqueued` (its job added). Whatever prefix
 * of them ran, the sweep ends or heals the crawl: an `active` id with no meta
 * leaves every index, and an in-flight URL whose job is missing gets a new one.
 */
export type CreateStep = 'indexed' | 'stored' | 'enqueued';

export interface CreateInput {
  url: string;
  /** `headers` among them go to the crawl's secrets hash alone; the stored options name them (`headerNames`). */
  options: CrawlOptions;
  owner?: string;
  id?: string;
}

export interface TransitionSettings {
  ttlSeconds: number;
  maxEvents: number;
  /** Called after each step of a create; crash tests throw from it. */
  afterCreateStep?: (step: CreateStep) => void | Promise<void>;
  /** Waits until a stored crawl is on disk (WAITAOF), where the server can say so. */
  barrier: AofBarrier;
}

export class CrawlTransitions {
  constructor(
    private readonly scripts: Scripts,
    private readonly jobs: PageJobs,
    private readonly index: CrawlIndex,
    private readonly results: CrawlResults,
    private readonly settings: TransitionSettings,
  ) {}

  /**
   * Creates a crawl: indexed, stored with its `started` event, and its start
   * URLs (`url`, then `options.urls`, within maxPages) enqueued before this resolves, so any instance can serve it at once;
   * and, where Redis has WAITAOF, on disk (`durability` says whether it is).
   * Throws when a crawl with this id exists already.
   */
  async create(input: CreateInput): Promise<{ crawl: Crawl; durability: Durability }> {
    const id = input.id ?? newCrawlId();
    const { options } = input;
    // The values go to the secrets hash alone; the stored options name them (headerNames).
    const headers = options.headers ?? {};
    const stored = storedOptionsOf(options);
    const step = this.settings.afterCreateStep ?? (() => {});
    await this.index.add(id, Date.now());
    await step('indexed');
    const created = await this.scripts.createCrawl(id, {
      url: input.url,
      optionsJson: JSON.stringify(stored),
      owner: input.owner ?? '',
      maxEvents: this.settings.maxEvents,
      ttlSeconds: this.settings.ttlSeconds,
      channel: this.scripts.channel(id),
      endedChannel: this.scripts.endedChannel(),
      maxPages: options.maxPages,
      maxDepth: options.maxDepth,
      concurrency: options.concurrency,
      // Absent from options built before the option existed.
      startUrls: options.urls ?? [],
      headers: Object.entries(headers),
    });
    if (created.result === 'exists') {
      // Indexing again put an ended crawl back in the running set: take it out.
      if ((await this.results.status(id)) !== 'running') await this.index.forget(id);
      throw new Error(`crawl ${id} exists already`);
    }
    await step('stored');
    // Started after the create script, alongside the enqueue (a lost job is the sweep's to heal).
    const durable = this.settings.barrier.wait();
    // Indexed again now that it exists: a sweep that took the id for an abandoned
    // create (no meta, older than its stale bound: a create held up by a partition,
    // or an Idempotency-Key retry re-creating it) may have just taken it out.
    await this.index.add(id, Date.now());
    await this.jobs.add(id, created.jobs);
    await step('enqueued');
    const crawl = await this.results.get(id);
    return { crawl: crawl!, durability: await durable };
  }

  /**
   * Claims URLs found outside a settle (sitemaps), idempotent per parent. A
   * long list goes in chunks (one claim call each, the chunk's parent key is
   * `parent#i` past the first), so no call is big.
   */
  async claim(
    id: string,
    parent: string,
    depth: number,
    urls: string[],
  ): Promise<{ result: 'claimed'; accepted: string[]; fresh: boolean } | Refused> {
    const chunks = urlChunks(urls);
    const claimed = { result: 'claimed' as const, accepted: [] as string[], fresh: false };
    for (const [i, chunk] of (chunks.length > 0 ? chunks : [[]]).entries()) {
      const reply = await this.scripts.claim(id, i === 0 ? parent : `${parent}#${i}`, depth, chunk);
      if (reply.result !== 'claimed') return reply;
      claimed.accepted.push(...reply.accepted);
      claimed.fresh ||= reply.fresh;
      await this.jobs.add(id, reply.jobs);
    }
    return claimed;
  }

  /** Fills free slots from the frontier (enqueued); completes a drained crawl. */
  async dispatch(id: string): Promise<{ result: 'dispatched'; completed: boolean; dispatched: number } | Refused> {
    const reply = await this.scripts.dispatch(id);
    if (reply.result !== 'dispatched') return reply;
    await this.jobs.add(id, reply.jobs);
    if (reply.completed) await this.index.forget(id);
    return { result: 'dispatched', completed: reply.completed, dispatched: reply.jobs.length };
  }

  /**
   * Adds again, under the same job id, the job of every in-flight URL that
   * the queue does not have (a create stopped between storing the crawl and
   * enqueueing its start page). Adding an id the queue has is a no-op, so a
   * create still under way loses nothing to it. Returns how many were added.
   */
  async requeue(id: string): Promise<number> {
    const lost = [];
    for (const entry of await this.results.inflight(id)) {
      if (entry.jobId !== '' && !(await this.jobs.alive(entry.jobId))) lost.push({ url: entry.url, depth: entry.depth, jobId: entry.jobId });
    }
    await this.jobs.add(id, lost);
    return lost.length;
  }

  /** Gives an in-flight URL a new job (enqueued) if its generation is still `generation`; false when it is not. */
  async redispatch(id: string, url: string, generation: number): Promise<boolean> {
    const reply = await this.scripts.redispatch(id, url, generation);
    if (reply.result !== 'redispatched') return false;
    await this.jobs.add(id, [reply.job]);
    return true;
  }

  /**
   * Enqueues again, under their stored job ids, the crawl's in-flight URLs
   * whose job is gone: what a settle whose reply was lost had dispatched but
   * never enqueued (the page's retry then settles `duplicate`). An entry is
   * enqueued only if it is still in flight, same generation and job, after its
   * job was found gone: a job settles its URL before it completes, so a page
   * settled meanwhile is not fetched again. Returns how many were enqueued.
   */
  async requeueVanished(id: string): Promise<number> {
    const entries = (await this.results.inflight(id)).filter((entry) => entry.jobId !== '');
    const alive = await Promise.all(entries.map((entry) => this.jobs.alive(entry.jobId)));
    const gone = entries.filter((_, i) => !alive[i]);
    if (gone.length === 0) return 0;
    const now = new Map((await this.results.inflight(id)).map((entry) => [entry.url, entry]));
    const lost = gone.filter((entry) => {
      const current = now.get(entry.url);
      return current?.generation === entry.generation && current.jobId === entry.jobId;
    });
    await this.jobs.add(id, lost.map(({ url, depth, jobId }) => ({ url, depth, jobId })));
    return lost.length;
  }

  async cancel(id: string): Promise<TransitionResult> {
    const reply = await this.scripts.cancel(id);
    if (reply.result !== 'cancelled') return reply;
    await this.index.forget(id);
    return { result: 'done' };
  }

  async fail(id: string, error: ErrorInfo): Promise<TransitionResult> {
    const bounded = { ...error, message: truncateText(error.message, MAX_MESSAGE_LENGTH) };
    const reply = await this.scripts.fail(id, JSON.stringify(bounded));
    if (reply.result !== 'failed') return reply;
    await this.index.forget(id);
    return { result: 'done' };
  }
}
