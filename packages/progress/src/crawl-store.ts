// All of a crawl's state in Redis, behind one facade over small parts, each
// with one role:
//   scripts.ts            the script layer: packs arguments, decodes replies
//   crawl-transitions.ts  create, claim, dispatch, re-dispatch, cancel, fail
//   settle-batcher.ts     settling pages, with group commit
//   crawl-results.ts      reads: the crawl, counters, pages, errors, events
//   host-state.ts         robots.txt and politeness slots per host
//   crawl-index.ts        the indexes across crawls (list, active, statuses)
//   sweep.ts              the stalled-work sweep
// The store owns the crawl loop: whatever a call dispatches is enqueued on
// the page queue it was given (page-jobs.ts) before the call resolves, so
// callers never see dispatches, job ids or Redis keys. Every write refuses
// once the crawl has ended, so no key is written after its TTL is set.
import {
  CREATE_AOF_WAIT_MS,
  type Counters,
  type Crawl,
  type CrawlErrorItem,
  type RejectedItem,
  DEFAULT_KEY_PREFIX,
  type ErrorInfo,
  globalKeys,
  type PageResult,
} from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { AofBarrier, type Durability } from './aof-barrier.js';
import { CrawlIndex } from './crawl-index.js';
import { CrawlResults, type InflightEntry, type OpenedCrawl } from './crawl-results.js';
import { type CreateInput, type CreateStep, CrawlTransitions, type TransitionResult } from './crawl-transitions.js';
import type { EventFrame } from './frames.js';
import { HostState } from './host-state.js';
import { NO_PAGE_JOBS, type PageJobs } from './page-jobs.js';
import { type Refused, Scripts } from './scripts.js';
import { SettleBatcher, type SettleResult } from './settle-batcher.js';
import type { PageOutcome } from './settle-records.js';
import { type SweepOptions, type SweepReport, sweep } from './sweep.js';

export interface CrawlStoreOptions {
  redis: RedisConnection;
  /** Where dispatched URLs go (the page queue); without it, anything that dispatches throws. */
  jobs?: PageJobs;
  /** Key prefix (tests use one each). */
  prefix?: string;
  /** How long a finished crawl is kept (CRAWL_TTL_SECONDS). */
  ttlSeconds?: number;
  /** Approximate cap of the event log (XADD MAXLEN ~). */
  maxEvents?: number;
  /** Called after each step of a create (crash tests stop it there). */
  afterCreateStep?: (step: CreateStep) => void | Promise<void>;
  /** Longest wait for a created crawl's AOF fsync (WAITAOF, Redis 7.2+); default CREATE_AOF_WAIT_MS. */
  aofWaitMs?: number;
}

export class CrawlStore {
  private readonly scripts: Scripts;
  private readonly index: CrawlIndex;
  /** How long a crawl's keys live after it ends (CRAWL_TTL_SECONDS). */
  private readonly ttlSeconds: number;
  private readonly results: CrawlResults;
  private readonly transitions: CrawlTransitions;
  private readonly settler: SettleBatcher;
  private readonly hosts: HostState;
  private readonly jobs: PageJobs;
  private readonly barrier: AofBarrier;
  /** Per crawl, the requeue of lost jobs under way in this process (duplicate settles share it). */
  private readonly requeues = new Map<string, Promise<number>>();

  constructor(options: CrawlStoreOptions) {
    const { redis } = options;
    const prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.jobs = options.jobs ?? NO_PAGE_JOBS;
    this.scripts = new Scripts(redis, prefix);
    this.ttlSeconds = options.ttlSeconds ?? 86_400;
    this.index = new CrawlIndex(redis, prefix);
    this.results = new CrawlResults(redis, prefix, this.scripts);
    this.hosts = new HostState(redis, prefix, this.scripts);
    this.settler = new SettleBatcher(this.scripts, this.jobs, this.index);
    this.barrier = new AofBarrier({ redis, markerKey: globalKeys(prefix).aofBarrier, timeoutMs: options.aofWaitMs ?? CREATE_AOF_WAIT_MS });
    this.transitions = new CrawlTransitions(this.scripts, this.jobs, this.index, this.results, {
      ttlSeconds: this.ttlSeconds,
      maxEvents: options.maxEvents ?? 100_000,
      barrier: this.barrier,
      ...(options.afterCreateStep ? { afterCreateStep: options.afterCreateStep } : {}),
    });
  }

  /** The pub/sub channel that wakes readers of one crawl (the stream hub subscribes to it). */
  channel(id: string): string {
    return this.scripts.channel(id);
  }

  /** The pub/sub channel where the id of each crawl that ends is published (workers' status caches subscribe to it). */
  endedChannel(): string {
    return this.scripts.endedChannel();
  }

  // Transitions: each enqueues what it dispatched before it resolves.

  /**
   * Creates a crawl and enqueues its start URL; throws when the id exists
   * already. Resolves once the crawl is on disk where Redis can say so
   * (WAITAOF, Redis 7.2+); `durability` tells which (aof-barrier.ts).
   */
  create(input: CreateInput): Promise<{ crawl: Crawl; durability: Durability }> {
    return this.transitions.create(input);
  }

  /** Closes the connection of its AOF barrier, if it opened one (the caller owns `redis`). */
  close(): Promise<void> {
    return this.barrier.close();
  }

  /**
   * Settles one URL exactly once (group commit; see settle-batcher.ts). A
   * `duplicate` answer may mean the first settle's reply was lost before its
   * dispatches were enqueued: the crawl's in-flight URLs whose job is gone
   * are enqueued again before this resolves (CrawlTransitions.requeueVanished).
   */
  async settle(id: string, outcome: PageOutcome): Promise<SettleResult> {
    const result = await this.settler.settle(id, outcome);
    if (result.result === 'duplicate') await this.requeueVanished(id);
    return result;
  }

  /** Enqueues again the in-flight URLs of a crawl whose job is gone; one pass per crawl at a time in this process. */
  requeueVanished(id: string): Promise<number> {
    let pass = this.requeues.get(id);
    if (!pass) {
      pass = this.transitions.requeueVanished(id).finally(() => this.requeues.delete(id));
      this.requeues.set(id, pass);
    }
    return pass;
  }

  /** Claims URLs found outside a settle (sitemaps), idempotent per parent. */
  claim(id: string, parent: string, depth: number, urls: string[]) {
    return this.transitions.claim(id, parent, depth, urls);
  }

  /** Fills free slots from the frontier; completes a drained crawl. */
  dispatch(id: string) {
    return this.transitions.dispatch(id);
  }

  /** Re-adds (same job id) the job of every in-flight URL the queue lost; how many. */
  requeue(id: string): Promise<number> {
    return this.transitions.requeue(id);
  }

  /** Gives an in-flight URL a new job if its generation is still `generation`. */
  redispatch(id: string, url: string, generation: number): Promise<boolean> {
    return this.transitions.redispatch(id, url, generation);
  }

  cancel(id: string): Promise<TransitionResult> {
    return this.transitions.cancel(id);
  }

  fail(id: string, error: ErrorInfo): Promise<TransitionResult> {
    return this.transitions.fail(id, error);
  }

  /** A `progress` event unless one was appended less than `minIntervalMs` ago. */
  async appendProgress(
    id: string,
    minIntervalMs: number,
  ): Promise<{ result: 'appended' } | { result: 'throttled'; msLeft: number } | { result: 'finished' | 'missing' }> {
    const reply = await this.scripts.appendProgress(id, minIntervalMs);
    if (reply.result === 'finished') return { result: 'finished' };
    return reply.result === 'appended' ? { result: 'appended' } : reply;
  }

  /** One pass of the stalled-work sweep (sweep.ts). */
  sweep(options: SweepOptions): Promise<SweepReport> {
    const { index, results, transitions, settler, jobs, ttlSeconds } = this;
    return sweep({ index, results, transitions, settler, jobs, keepSeconds: ttlSeconds }, options);
  }

  /** A crawl ended: out of `active` and into its terminal status's set (the sweep repeats it). */
  forgetActive(id: string): Promise<void> {
    return this.index.forget(id);
  }

  /** Ids of crawls that may still be running. */
  async activeIds(): Promise<string[]> {
    return (await this.index.active()).map((crawl) => crawl.id);
  }

  // Reads.

  get(id: string): Promise<Crawl | null> {
    return this.results.get(id);
  }

  open(id: string, cursor: string): Promise<OpenedCrawl | null> {
    return this.results.open(id, cursor);
  }

  owner(id: string): Promise<string | null> {
    return this.results.owner(id);
  }

  status(id: string): Promise<string | null> {
    return this.results.status(id);
  }

  counters(id: string): Promise<Counters> {
    return this.results.counters(id);
  }

  inflight(id: string): Promise<InflightEntry[]> {
    return this.results.inflight(id);
  }

  pages(id: string, offset: number, limit: number, maxBytes?: number): Promise<{ items: PageResult[]; next: number | null }> {
    return this.results.pages(id, offset, limit, maxBytes);
  }

  errors(id: string): Promise<CrawlErrorItem[]> {
    return this.results.errors(id);
  }

  /** Stored pages' markdown by URL, one round trip (`?include=markdown` on the stream). */
  pageMarkdowns(id: string, urls: string[]): Promise<(string | undefined)[]> {
    return this.results.pageMarkdowns(id, urls);
  }

  errorPage(id: string, offset: number, limit: number, maxBytes?: number): Promise<{ items: CrawlErrorItem[]; next: number | null }> {
    return this.results.errorPage(id, offset, limit, maxBytes);
  }

  /** Links found but not taken, in the order they were recorded (GET /rejected). */
  rejectedPage(id: string, offset: number, limit: number, maxBytes?: number): Promise<{ items: RejectedItem[]; next: number | null }> {
    return this.results.rejectedPage(id, offset, limit, maxBytes);
  }

  readAfter(id: string, cursor: string, count: number): Promise<EventFrame[] | 'lost'> {
    return this.results.readAfter(id, cursor, count);
  }

  readAll(id: string, batchSize?: number): Promise<EventFrame[]> {
    return this.results.readAll(id, batchSize);
  }

  // Host state.

  /** A host's next politeness slot, or (with `heldSlotAt`) the go-ahead to send in the slot held (host-state.ts). */
  reserveHostSlot(id: string, host: string, gapMs: number, heldSlotAt?: number): Promise<{ waitMs: number; slotAt: number } | null> {
    return this.hosts.reserveHostSlot(id, host, gapMs, heldSlotAt);
  }

  /**
   * The crawl's request headers (`options.headers`, for private docs), for
   * the worker's fetches only: no route reads them. Empty when the crawl has
   * none, or has ended (its end deletes them).
   */
  requestHeaders(id: string): Promise<Record<string, string>> {
    return this.scripts.requestHeaders(id);
  }

  robots(id: string, host: string): Promise<string | null> {
    return this.hosts.robots(id, host);
  }

  saveRobots(id: string, host: string, value: string): Promise<boolean> {
    return this.hosts.saveRobots(id, host, value);
  }

  lockRobots(id: string, host: string, ms: number): Promise<'locked' | 'busy' | 'stored' | 'finished'> {
    return this.hosts.lockRobots(id, host, ms);
  }

  /** Gives up the robots.txt fetch lock (a worker stopping mid-fetch; host-state.ts). */
  unlockRobots(id: string, host: string): Promise<void> {
    return this.hosts.unlockRobots(id, host);
  }
}

export type { CreateStep, Durability, InflightEntry, PageOutcome, Refused, SettleResult, TransitionResult };
