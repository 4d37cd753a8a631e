// One page job, start to end: crawl still running? robots.txt allows it?
// its host's politeness slot (a waiting job is delayed, never holding a
// worker slot), sitemap seeding for the start page, the guarded fetch,
// extraction, and one settle that stores the result, claims the links and
// dispatches what comes next.
import { enqueuePages, type PageJobData, type PageQueue } from '@crawlstream/jobs';
import type { CrawlStore, PageOutcome, ProgressPublisher, SettleResult } from '@crawlstream/progress';
import { DelayedError, type Job } from 'bullmq';
import type { Dispatcher } from 'undici';
import type { CrawlContexts } from './crawl-context.js';
import {
  extractPage,
  type FetchFailed,
  type FetchOptions,
  fetchPage,
  ROBOTS_TOKEN,
  type RobotsRules,
  USER_AGENT,
} from './pipeline/index.js';
import type { RobotsCache } from './robots-cache.js';
import { sitemapUrls } from './sitemaps.js';

export interface PageJobDeps {
  store: CrawlStore;
  queue: PageQueue;
  publisher: ProgressPublisher;
  contexts: CrawlContexts;
  robots: RobotsCache;
  /** SSRF-guarded undici dispatcher. */
  dispatcher: Dispatcher;
  /** Aborted when the worker shuts down: in-flight fetches stop and their jobs are handed back. */
  shutdown: AbortSignal;
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

/** Enqueues what a settle dispatched and keeps progress and caches up to date. */
export async function afterSettle(deps: PageJobDeps, crawlId: string, result: SettleResult): Promise<void> {
  if (result.result === 'settled') {
    await enqueuePages(deps.queue, crawlId, result.dispatched);
    if (result.completed) forgetCrawl(deps, crawlId);
    else deps.publisher.notify(crawlId);
  } else if (result.result === 'finished' || result.result === 'missing') {
    forgetCrawl(deps, crawlId);
  }
}

export async function settlePage(deps: PageJobDeps, crawlId: string, outcome: PageOutcome): Promise<void> {
  await afterSettle(deps, crawlId, await deps.store.settle(crawlId, outcome));
}

export async function processPageJob(deps: PageJobDeps, job: Job<PageJobData>, token?: string): Promise<void> {
  const { crawlId, url, depth } = job.data;
  if ((await deps.store.status(crawlId)) !== 'running') {
    forgetCrawl(deps, crawlId); // cancelled, failed or expired: fetch nothing more
    return;
  }
  const context = await deps.contexts.get(crawlId);
  if (!context) return;
  const { options, scope } = context;
  const fetchOptions: FetchOptions = {
    timeoutMs: options.timeoutMs,
    maxBytes: options.maxBytes,
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

  if (gapMs > 0 && job.data.slotAt === undefined) {
    const slot = await deps.store.reserveHostSlot(crawlId, new URL(url).host, gapMs);
    if (!slot) {
      forgetCrawl(deps, crawlId); // ended meanwhile: fetch nothing more
      return;
    }
    const { waitMs, slotAt } = slot;
    if (waitMs > 0) {
      // Wait for the slot as a delayed job, not in a worker slot.
      await job.updateData({ ...job.data, slotAt });
      await job.moveToDelayed(slotAt, token);
      throw new DelayedError();
    }
  }

  if (depth === 0 && options.useSitemap && url === context.startUrl) {
    const seeds = await sitemapUrls(url, rules, options.maxPages, scope.inScope, fetchOptions);
    if (seeds.length > 0) {
      const claimed = await deps.store.claim(crawlId, `sitemap:${url}`, 1, seeds);
      if (claimed.result === 'claimed') await enqueuePages(deps.queue, crawlId, claimed.dispatched);
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
  const page = extractPage(fetched.html, fetched.finalUrl);
  // A redirect target is claimed by the settle itself (redirect_known when the crawl already has it).
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
    links: page.links.filter((link) => scope.inScope(link)),
  });
}
