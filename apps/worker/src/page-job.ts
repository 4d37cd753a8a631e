// One page job, start to end: a well-formed job for a URL in its crawl's
// scope? crawl still running? robots.txt allows it?
// its host's politeness slot (a waiting job is delayed, never holding a
// worker slot), room in the process's byte budget, sitemap seeding for the
// start page, the guarded fetch,
// extraction, and one settle that stores the result, claims the links and
// dispatches what comes next (the store enqueues it).
import { type PageJobData, pageJobData } from '@crawlstream/jobs';
import type { CrawlStore, PageOutcome, ProgressPublisher, SettleResult } from '@crawlstream/progress';
import { MAX_LINKS_PER_PAGE, MAX_MESSAGE_LENGTH, MAX_PAGE_BYTES } from '@crawlstream/shared';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Dispatcher } from 'undici';
import type { ByteBudget } from './byte-budget.js';
import type { CrawlContext, CrawlContexts } from './crawl-context.js';
import {
  cutChars,
  type ExtractedPage,
  type FetchFailed,
  type FetchOptions,
  fetchPage,
  keepLinks,
  ROBOTS_TOKEN,
  type RobotsRules,
  USER_AGENT,
} from '@crawlstream/pipeline';
import type { RobotsCache } from './robots-cache.js';
import { sitemapUrls } from './sitemaps.js';

export interface PageJobDeps {
  store: CrawlStore;
  publisher: ProgressPublisher;
  contexts: CrawlContexts;
  robots: RobotsCache;
  /** SSRF-guarded undici dispatcher. */
  dispatcher: Dispatcher;
  /** Aborted when the worker shuts down: in-flight fetches stop and their jobs are handed back. */
  shutdown: AbortSignal;
  /** Bytes of bodies this process may hold at once (WORKER_MAX_BYTES_IN_FLIGHT). */
  budget: ByteBudget;
  /** A page's title, links and markdown, computed off the event loop (page-extractor.ts). */
  extract(html: string, url: string, signal?: AbortSignal): Promise<ExtractedPage>;
}

/** A failure worth another attempt; BullMQ's backoff strategy reads `retryAfterMs`. */
export class RetryablePageError extends Error {
  constructor(readonly failure: FetchFailed) {
    super(`${failure.reason}: ${failure.message}`);
    this.name = 'RetryablePageError';
  }
}

export function forgetCrawl(deps: PageJobDeps, crawlId: string): void {
  deps.publisher.finish(crawlId);
  deps.contexts.forget(crawlId);
  deps.robots.forget(crawlId);
}

/** Keeps progress and caches up to date after a settle (the store enqueued what it dispatched). */
export function afterSettle(deps: PageJobDeps, crawlId: string, result: SettleResult): void {
  if (result.result === 'settled') {
    if (result.completed) forgetCrawl(deps, crawlId);
    else deps.publisher.notify(crawlId);
  } else if (result.result === 'finished' || result.result === 'missing') {
    forgetCrawl(deps, crawlId);
  }
}

export async function settlePage(deps: PageJobDeps, crawlId: string, outcome: PageOutcome): Promise<void> {
  // Messages quote URLs and server errors: bounded like every other field of an event.
  const bounded = outcome.kind === 'processed' || outcome.message === undefined
    ? outcome
    : { ...outcome, message: cutChars(outcome.message, MAX_MESSAGE_LENGTH) };
  afterSettle(deps, crawlId, await deps.store.settle(crawlId, bounded));
}

/**
 * Jobs come from the queue, which the queue board can write to: a job is
 * checked against the job schema before anything else, and fails for good
 * (no retry, nothing fetched) when it does not match.
 */
export function validPageJob(data: unknown): PageJobData {
  const parsed = pageJobData.safeParse(data);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'data'}: ${issue.message}`);
  throw new UnrecoverableError(`invalid page job: ${problems.join('; ')}`);
}

export async function processPageJob(deps: PageJobDeps, job: Job<PageJobData>, token?: string): Promise<void> {
  const { crawlId, url } = validPageJob(job.data);
  if ((await deps.store.status(crawlId)) !== 'running') {
    forgetCrawl(deps, crawlId); // cancelled, failed or expired: fetch nothing more
    return;
  }
  const context = await deps.contexts.get(crawlId);
  if (!context) return;
  const { options, scope } = context;
  if (!scope.inScope(url)) {
    // Never fetched. A URL the crawl knows is settled (so the crawl can
    // complete); for any other the settle is a no-op and the job is dropped.
    await settlePage(deps, crawlId, { kind: 'skipped', url, reason: 'out_of_scope', message: 'outside the crawl\'s scope' });
    return;
  }
  // Crawls stored before the ceiling was lowered may ask for more.
  const maxBytes = Math.min(options.maxBytes, MAX_PAGE_BYTES);
  const fetchOptions: FetchOptions = {
    timeoutMs: options.timeoutMs,
    maxBytes,
    userAgent: USER_AGENT,
    dispatcher: deps.dispatcher,
    signal: deps.shutdown,
  };

  let gapMs = options.delayMs;
  let rules: RobotsRules | undefined;
  if (options.respectRobotsTxt) {
    rules = await deps.robots.rules(crawlId, url, options.timeoutMs);
    if (!rules.isAllowed(url, ROBOTS_TOKEN)) {
      await settlePage(deps, crawlId, { kind: 'skipped', url, reason: 'robots', message: 'disallowed by robots.txt' });
      return;
    }
    gapMs = Math.max(gapMs, rules.crawlDelayMs(ROBOTS_TOKEN) ?? 0);
  }

  if (gapMs > 0) {
    // A job woken for the slot it holds sends only once the gap since the host's last request has passed.
    const slot = await deps.store.reserveHostSlot(crawlId, new URL(url).host, gapMs, job.data.slotAt);
    if (!slot) {
      forgetCrawl(deps, crawlId); // ended meanwhile: fetch nothing more
      return;
    }
    const { waitMs, slotAt } = slot;
    if (waitMs > 0) {
      // Wait for the slot as a delayed job, not in a worker slot.
      if (job.data.slotAt !== slotAt) await job.updateData({ ...job.data, slotAt });
      await job.moveToDelayed(Date.now() + waitMs, token);
      throw new DelayedError();
    }
  }

  // Bodies (sitemaps, then the page) are held from the fetch to the settle.
  const release = await deps.budget.reserve(maxBytes);
  try {
    await fetchAndSettle(deps, job, context, rules, fetchOptions);
  } finally {
    release();
  }
}

async function fetchAndSettle(
  deps: PageJobDeps,
  job: Job<PageJobData>,
  context: CrawlContext,
  rules: RobotsRules | undefined,
  fetchOptions: FetchOptions,
): Promise<void> {
  const { crawlId, url, depth } = job.data;
  const { options, scope } = context;
  if (depth === 0 && options.useSitemap && url === context.startUrl) {
    const seeds = await sitemapUrls(url, rules, options.maxPages, scope.inScope, fetchOptions);
    if (deps.shutdown.aborted) throw new Error('worker shutting down: page handed back');
    if (seeds.length > 0) {
      await deps.store.claim(crawlId, `sitemap:${url}`, 1, seeds);
    }
  }

  const fetched = await fetchPage(url, { ...fetchOptions, isInScope: scope.inScope });
  if (deps.shutdown.aborted) throw new Error('worker shutting down: page handed back');
  if (fetched.kind === 'failed') {
    const attempts = job.attemptsMade + 1;
    if (fetched.retryable && attempts < (job.opts.attempts ?? 1)) {
      if (job.data.slotAt !== undefined) await job.updateData({ crawlId, url, depth });
      throw new RetryablePageError(fetched);
    }
    const status = fetched.status === undefined ? {} : { status: fetched.status };
    await settlePage(deps, crawlId, {
      kind: 'failed',
      url,
      reason: fetched.reason,
      message: fetched.message,
      attempts,
      ...status,
    });
    return;
  }
  if (fetched.kind === 'skipped') {
    await settlePage(deps, crawlId, { kind: 'skipped', url, reason: fetched.reason, message: fetched.message });
    return;
  }
  const page = await deps.extract(fetched.html, fetched.finalUrl, deps.shutdown);
  // A redirect target is claimed by the settle itself (redirect_known when the crawl already has it).
  const links = keepLinks(page.links, scope.inScope, MAX_LINKS_PER_PAGE);
  await settlePage(deps, crawlId, {
    kind: 'processed',
    url,
    finalUrl: fetched.finalUrl,
    title: page.title,
    depth,
    status: fetched.status,
    bytes: fetched.bytes,
    durationMs: Math.round(fetched.durationMs),
    markdown: page.markdown,
    links: links.links,
    ...(page.truncated ? { truncated: true } : {}),
    ...(links.dropped > 0 ? { linksDropped: links.dropped } : {}),
  });
}
