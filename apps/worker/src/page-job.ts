// One page job, start to end. A job carries 1 to PAGES_PER_JOB URLs of one
// crawl (one dispatch's); the crawl's status and context are read once per
// job, then each URL goes its own way: in the crawl's scope? robots.txt
// allows it? its host's politeness slot, room in the process's page slots
// and byte budget, sitemap seeding for the start page, the guarded fetch,
// extraction (of the browser's DOM instead when the crawl's `render` option
// hands the page to a renderer: render-handoff.ts, docs/rendering.md; the
// page holds its slot while it waits), and one settle that stores the result, claims the links and
// dispatches what comes next (the store enqueues it). Settles of the job's
// URLs share Redis calls (the store's group commit).
//
// URLs with no politeness gap run at once; URLs with a gap run one after
// another, and the first that must wait for its slot delays the job with
// the URLs not yet done (a waiting URL never holds a worker slot). A URL
// that fails and may be retried stays in the job, every settled URL leaves
// it, and the job is retried with BullMQ's backoff: so every URL in a job
// has failed as often as the job's attemptsMade says, and each URL settles
// exactly once whatever happens to the job.
import { type JobPage, jobPages, type PageJobData, type PageJobPages, parsePageJob } from '@crawlstream/jobs';
import type { CrawlStore, PageOutcome, ProgressPublisher, SettleResult } from '@crawlstream/progress';
import { crawlLinks, DEFAULT_DEDUPE, DEFAULT_RENDER, type RenderMode, MAX_LINKS_PER_PAGE, MAX_MESSAGE_LENGTH, MAX_PAGE_BYTES, type PageFormat } from '@crawlstream/shared';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Dispatcher } from 'undici';
import type { LimitFunction } from 'p-limit';
import type { ByteBudget } from './byte-budget.js';
import type { CrawlContext, CrawlContexts } from './crawl-context.js';
import {
  cutChars,
  type ExtractedPage,
  type ExtractOptions,
  type FetchFailed,
  type FetchOptions,
  fetchPage,
  type HtmlPage,
  keepLinks,
  ROBOTS_TOKEN,
  type RobotsRules,
  USER_AGENT,
  withoutRepeatedBlocks,
} from '@crawlstream/pipeline';
import type { RenderHandoff, RenderOutcome } from './render-handoff.js';
import type { RobotsCache } from './robots-cache.js';
import type { RunningCrawls } from './running-crawls.js';
import { sortLinks } from './rejected-links.js';
import { sitemapUrls } from './sitemaps.js';

export interface PageJobDeps {
  store: CrawlStore;
  /** Which crawls run, without a Redis read per job (running-crawls.ts). */
  running: RunningCrawls;
  publisher: ProgressPublisher;
  contexts: CrawlContexts;
  robots: RobotsCache;
  /** SSRF-guarded undici dispatcher. */
  dispatcher: Dispatcher;
  /** Aborted when the worker starts to stop: no page of a job starts after it (the job hands those back). */
  stopping: AbortSignal;
  /** Aborted when the worker's grace for in-flight pages is over: in-flight fetches stop and their jobs are handed back. */
  shutdown: AbortSignal;
  /** Bytes of bodies this process may hold at once (WORKER_MAX_BYTES_IN_FLIGHT). */
  budget: ByteBudget;
  /** Pages fetched and settled at once in this process (WORKER_CONCURRENCY), whatever job they are in. */
  pageSlots: LimitFunction;
  /** A page's title, links and markdown, computed off the event loop (page-extractor.ts). */
  extract(html: string, url: string, signal?: AbortSignal, options?: ExtractOptions): Promise<ExtractedPage>;
  /** Renderers alive, and the render queue a page that needs a browser is handed to (render-handoff.ts). */
  render: RenderHandoff;
}

/** Thrown by a job whose worker is stopping, once its started pages are done: the rest go back to the queue. */
export class PagesHandedBack extends Error {
  constructor(readonly count: number) {
    super(`worker stopping: ${count} page(s) not started handed back`);
    this.name = 'PagesHandedBack';
  }
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
  deps.running.forget(crawlId);
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
export function validPageJob(data: unknown): PageJobPages {
  const parsed = parsePageJob(data);
  if (parsed.success) return jobPages(parsed.data);
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'data'}: ${issue.message}`);
  throw new UnrecoverableError(`invalid page job: ${problems.join('; ')}`);
}

/** Where one URL of a job got to; a URL with no step was not reached (it waits behind a paced URL). */
type PageStep =
  | { kind: 'done' }
  | { kind: 'wait'; waitMs: number; slotAt: number }
  | { kind: 'retry'; failure: FetchFailed }
  | { kind: 'error'; error: unknown }
  /** Not started: the worker is stopping. */
  | { kind: 'stopped' };

const DONE: PageStep = { kind: 'done' };

/** A URL that may be fetched, with what robots.txt said and its host's gap. */
interface Admitted {
  page: JobPage;
  rules: RobotsRules | undefined;
  gapMs: number;
}

async function stepOf(body: () => Promise<PageStep>): Promise<PageStep> {
  try {
    return await body();
  } catch (error) {
    return { kind: 'error', error };
  }
}

export async function processPageJob(deps: PageJobDeps, job: Job<PageJobData>, token?: string): Promise<void> {
  const data = validPageJob(job.data);
  const { crawlId } = data;
  if (!(await deps.running.isRunning(crawlId))) {
    forgetCrawl(deps, crawlId); // cancelled, failed or expired: fetch nothing more
    return;
  }
  const context = await deps.contexts.get(crawlId);
  if (!context) return;
  const attempt = job.attemptsMade + 1;
  const canRetry = attempt < (job.opts.attempts ?? 1);
  const steps = new Map<JobPage, PageStep>();

  // Scope and robots.txt for every URL at once (robots.txt is read once per host).
  const admissions = await Promise.all(
    data.pages.map(async (page) => {
      try {
        return await admit(deps, context, page);
      } catch (error) {
        return { kind: 'error', error } as const;
      }
    }),
  );
  // In job order: a held slot belongs to the job's first URL.
  const admitted: Admitted[] = [];
  for (const [i, admission] of admissions.entries()) {
    if (admission === 'settled') steps.set(data.pages[i]!, DONE);
    else if ('kind' in admission) steps.set(data.pages[i]!, admission);
    else admitted.push(admission);
  }

  // The page's slot in this process and its bytes are taken before its host's
  // politeness slot: once the slot says go, the request goes (a wait after it
  // would shorten the gap to the host's next request).
  const fetchStep = (item: Admitted, heldSlotAt?: number) =>
    stepOf(() =>
      deps.pageSlots(async () => {
        if (deps.stopping.aborted) return { kind: 'stopped' };
        // Bodies (sitemaps, then the page) are held from the fetch to the settle.
        const release = await deps.budget.reserve(maxBytesOf(context));
        try {
          if (item.gapMs > 0) {
            // A URL woken for the slot it holds sends only once the gap since the host's last request has passed.
            const slot = await deps.store.reserveHostSlot(crawlId, new URL(item.page.url).host, item.gapMs, heldSlotAt);
            if (!slot) return DONE; // the crawl ended meanwhile: fetch nothing more
            if (slot.waitMs > 0) return { kind: 'wait', waitMs: slot.waitMs, slotAt: slot.slotAt };
          }
          return await fetchAndSettle(deps, context, item, attempt, canRetry);
        } finally {
          release();
        }
      }),
    );
  await Promise.all([
    ...admitted.filter((item) => item.gapMs === 0).map(async (item) => steps.set(item.page, await fetchStep(item))),
    (async () => {
      for (const item of admitted.filter((item) => item.gapMs > 0)) {
        const step = await fetchStep(item, item.page === data.pages[0] ? data.slotAt : undefined);
        steps.set(item.page, step);
        if (step.kind === 'wait' || step.kind === 'stopped' || deps.shutdown.aborted) break;
      }
    })(),
  ]);
  await endJob(job, token, data, steps);
}

/**
 * What is left of the job after its URLs ran: nothing (it completes), a URL
 * waiting for its host's slot (the job is delayed, that URL first and holding
 * the slot, with every URL not done), or URLs to retry (the job fails this
 * attempt with only those URLs, the longest Retry-After wins). An unexpected
 * error is thrown as it is (BullMQ retries; on shutdown the job is handed
 * back), after the settled URLs left the job.
 */
async function endJob(job: Job<PageJobData>, token: string | undefined, data: PageJobPages, steps: Map<JobPage, PageStep>): Promise<void> {
  const remaining = data.pages.filter((page) => steps.get(page)?.kind !== 'done');
  if (remaining.length === 0) return;
  const stepsLeft = remaining.map((page) => steps.get(page));
  const error = stepsLeft.find((step) => step?.kind === 'error');
  const stopped = stepsLeft.some((step) => step?.kind === 'stopped');
  const waiting = remaining.find((page) => steps.get(page)?.kind === 'wait');
  const wait = waiting && steps.get(waiting);
  if (!error && !stopped && wait?.kind === 'wait') {
    // A URL to retry that shares the job with a waiting one is tried again when the job wakes.
    await job.updateData({ crawlId: data.crawlId, pages: [waiting!, ...remaining.filter((page) => page !== waiting)], slotAt: wait.slotAt });
    await job.moveToDelayed(Date.now() + wait.waitMs, token);
    throw new DelayedError();
  }
  if (remaining.length !== data.pages.length || data.slotAt !== undefined || !('pages' in job.data)) {
    await job.updateData({ crawlId: data.crawlId, pages: remaining });
  }
  if (error?.kind === 'error') throw error.error;
  const failures = stepsLeft.flatMap((step) => (step?.kind === 'retry' ? [step.failure] : []));
  // Nothing to retry: what is left was not started (the worker stopping, paced URLs behind the last one sent).
  if (stopped || failures.length === 0) throw new PagesHandedBack(remaining.length);
  const longest = failures.reduce((a, b) => ((b.retryAfterMs ?? 0) > (a.retryAfterMs ?? 0) ? b : a));
  throw new RetryablePageError(longest);
}

/** Scope and robots.txt: a URL that may not be fetched is settled here as skipped. */
async function admit(deps: PageJobDeps, context: CrawlContext, page: JobPage): Promise<Admitted | 'settled'> {
  const { url } = page;
  const { options, scope } = context;
  if (!scope.inScope(url)) {
    // Never fetched. A URL the crawl knows is settled (so the crawl can
    // complete); for any other the settle is a no-op and the URL is dropped.
    await settlePage(deps, context.id, { kind: 'skipped', url, reason: 'out_of_scope', message: 'outside the crawl\'s scope' });
    return 'settled';
  }
  let gapMs = options.delayMs;
  let rules: RobotsRules | undefined;
  if (options.respectRobotsTxt) {
    rules = await deps.robots.rules(context.id, url, options.timeoutMs, context.headersFor);
    if (!rules.isAllowed(url, ROBOTS_TOKEN)) {
      await settlePage(deps, context.id, { kind: 'skipped', url, reason: 'robots', message: 'disallowed by robots.txt' });
      return 'settled';
    }
    gapMs = Math.max(gapMs, rules.crawlDelayMs(ROBOTS_TOKEN) ?? 0);
  }
  return { page, rules, gapMs };
}

/** Crawls stored before the ceiling was lowered may ask for more. */
const maxBytesOf = (context: CrawlContext) => Math.min(context.options.maxBytes, MAX_PAGE_BYTES);

async function fetchAndSettle(deps: PageJobDeps, context: CrawlContext, item: Admitted, attempt: number, canRetry: boolean): Promise<PageStep> {
  const { url, depth } = item.page;
  const { options, scope } = context;
  const crawlId = context.id;
  const fetchOptions: FetchOptions = {
    timeoutMs: options.timeoutMs,
    maxBytes: maxBytesOf(context),
    userAgent: USER_AGENT,
    dispatcher: deps.dispatcher,
    signal: deps.shutdown,
    ...(context.headersFor ? { headersFor: context.headersFor } : {}),
  };
    if (depth === 0 && options.useSitemap && url === context.startUrl) {
      const found = await sitemapUrls(url, item.rules, options.maxPages, scope.inScope, fetchOptions);
      const seeds = crawlLinks(found, options.ignoreQueryParameters);
      if (deps.shutdown.aborted) throw new Error('worker shutting down: page handed back');
      if (seeds.length > 0) {
        await deps.store.claim(crawlId, `sitemap:${url}`, 1, seeds);
      }
    }

    const fetched = await fetchPage(url, { ...fetchOptions, isInScope: scope.inScope });
    if (deps.shutdown.aborted) throw new Error('worker shutting down: page handed back');
    if (fetched.kind === 'failed') {
      if (fetched.retryable && canRetry) return { kind: 'retry', failure: fetched };
      const status = fetched.status === undefined ? {} : { status: fetched.status };
      await settlePage(deps, crawlId, {
        kind: 'failed',
        url,
        reason: fetched.reason,
        message: fetched.message,
        attempts: attempt,
        ...status,
      });
      return DONE;
    }
    if (fetched.kind === 'skipped') {
      await settlePage(deps, crawlId, { kind: 'skipped', url, reason: fetched.reason, message: fetched.message });
      return DONE;
    }
    return settleFetched(deps, context, item, fetched, attempt);
}

/**
 * A fetched HTML page to its settle, rendered first when the crawl's
 * `render` option says so (docs/rendering.md): `never` as fetched, `auto`
 * rendered when it is an app shell and a renderer is alive, `always`
 * rendered or failed.
 */
async function settleFetched(deps: PageJobDeps, context: CrawlContext, item: Admitted, fetched: HtmlPage, attempt: number): Promise<PageStep> {
    const { url } = item.page;
    const { options } = context;
    const crawlId = context.id;
    const mode = options.render ?? DEFAULT_RENDER;
    const extractOptions: ExtractOptions = options.discoverOnly ? { discoverOnly: true } : {
      onlyMainContent: options.onlyMainContent,
      includeSelectors: options.includeSelectors,
      excludeSelectors: options.excludeSelectors,
      ...(options.formats.includes('html') ? { html: true } : {}),
    };
    // `always` never uses the fetched HTML's content; `auto` extracts it first and learns from the same parse whether it is an app shell.
    const http = mode === 'always' ? undefined : await deps.extract(fetched.html, fetched.finalUrl, deps.shutdown, { ...extractOptions, appShell: mode === 'auto' });
    const wantsRender = mode === 'always' || (mode === 'auto' && http?.appShell === true && (await deps.render.liveRenderers()) > 0);
    if (!wantsRender) return settleExtracted(deps, context, item, fetched, http!, { rendered: false });
    // The rendered DOM comes within the body's byte reservation (at most maxBytes each): the fetched HTML is let go
    // for the wait, but when a shell's fallback must store it as rawHtml.
    const keepHtml = http !== undefined && options.formats.includes('rawHtml') && !options.discoverOnly;
    fetched = { ...fetched, html: keepHtml ? fetched.html : '' };

    const rendering = await renderFetched(deps, context, item, fetched, mode);
    if (rendering.kind === 'stopped' || deps.shutdown.aborted) throw new Error('worker shutting down: page handed back');
    if (rendering.kind === 'rendered') {
      const page = await deps.extract(rendering.html, rendering.finalUrl, deps.shutdown, extractOptions);
      // The rendered DOM takes the fetched body's place (the same byte reservation): its HTML is what the page is made from.
      const step = await settleExtracted(deps, context, item, { ...fetched, html: rendering.html, status: rendering.status, bytes: rendering.bytes }, page, {
        rendered: true,
        durationMs: fetched.durationMs + rendering.durationMs,
      });
      // Settled: the page is done for good, so its DOM is not needed again (a retry before this point still finds it).
      await deps.render.dropRendered(rendering);
      return step;
    }
    // A shell whose render did not happen keeps what HTTP gave (`auto`); `always` wanted the browser's page or none.
    if (http) return settleExtracted(deps, context, item, fetched, http, { rendered: false });
    await settlePage(deps, crawlId, {
      kind: 'failed',
      url,
      reason: rendering.reason,
      message: rendering.message,
      attempts: attempt,
      ...(rendering.status === undefined ? {} : { status: rendering.status }),
    });
    return DONE;
}

/**
 * Hands a fetched page to the renderers and waits for it. With no renderer
 * alive, `auto` does not wait at all (the caller checked) and `always` waits
 * up to RENDER_WAIT_MS for one to start.
 */
async function renderFetched(deps: PageJobDeps, context: CrawlContext, item: Admitted, fetched: HtmlPage, mode: RenderMode): Promise<RenderOutcome> {
  const { options } = context;
  if (mode === 'always') {
    const alive = await deps.render.awaitRenderer();
    if (alive === 'stopped') return { kind: 'stopped' };
    if (!alive) return { kind: 'failed', reason: 'renderer_unavailable', message: `no renderer process alive within ${deps.render.waitMs} ms` };
  }
  return deps.render.render({
    crawlId: context.id,
    url: fetched.finalUrl,
    timeoutMs: options.timeoutMs,
    maxBytes: maxBytesOf(context),
    ...(options.waitFor === undefined ? {} : { waitFor: options.waitFor }),
    gapMs: item.gapMs,
    respectRobotsTxt: options.respectRobotsTxt,
  });
}

/** Settles a page from its extraction: the links sorted and claimed, its metadata and formats. */
async function settleExtracted(
  deps: PageJobDeps,
  context: CrawlContext,
  item: Admitted,
  fetched: HtmlPage,
  extracted: ExtractedPage,
  how: { rendered: boolean; durationMs?: number },
): Promise<PageStep> {
    const { url, depth } = item.page;
    const { options, scope } = context;
    const crawlId = context.id;
    // After extraction, on this thread: one count per crawl and process, whichever thread extracted.
    const { repeatedBlocks } = context;
    const page = repeatedBlocks ? withoutRepeatedBlocks(extracted, fetched.finalUrl, repeatedBlocks) : extracted;
    // A redirect target is claimed by the settle itself (redirect_known when the crawl already has it).
    // Links not taken are reported with why (rejected-links.ts); robots.txt only where this process has the host's rules.
    const sorting = sortLinks(scope, context.sentRejections, (link) => (options.respectRobotsTxt ? deps.robots.known(crawlId, link) : undefined));
    const links = keepLinks(crawlLinks(page.links, options.ignoreQueryParameters), sorting.keep, MAX_LINKS_PER_PAGE);
    await settlePage(deps, crawlId, {
      kind: 'processed',
      url,
      finalUrl: fetched.finalUrl,
      title: page.title,
      depth,
      status: fetched.status,
      bytes: fetched.bytes,
      durationMs: Math.round(how.durationMs ?? fetched.durationMs),
      rendered: how.rendered,
      markdown: page.markdown,
      links: links.links,
      ...(page.truncated ? { truncated: true } : {}),
      ...(links.dropped > 0 ? { linksDropped: links.dropped } : {}),
      // Map mode stores url, title, depth, status, fetchedAt and rendered only.
      ...(options.discoverOnly ? { withoutMarkdown: true } : { ...pageMetadata(page, fetched), ...pageFormats(options.formats, page, fetched) }),
      // Crawls stored before the option have no `dedupe`: the option's default applies, as GET shows it.
      dedupe: options.dedupe ?? DEFAULT_DEDUPE,
      ...(sorting.rejected.length > 0 ? { rejected: sorting.rejected } : {}),
    });
    return DONE;
}

/** What the settle stores about the page besides its content: the document's metadata, the header's language when the document has none, the validators. */
function pageMetadata(page: ExtractedPage, fetched: HtmlPage) {
  const language = page.metadata.language ?? fetched.contentLanguage;
  return {
    ...page.metadata,
    ...(language === undefined ? {} : { language }),
    ...(fetched.etag === undefined ? {} : { etag: fetched.etag }),
    ...(fetched.lastModified === undefined ? {} : { lastModified: fetched.lastModified }),
  };
}

/** The formats a crawl asked for besides markdown (which is made whatever is asked: contentHash and wordCount come from it). */
function pageFormats(formats: readonly PageFormat[], page: ExtractedPage, fetched: HtmlPage) {
  return {
    ...(formats.includes('markdown') ? {} : { withoutMarkdown: true }),
    ...(formats.includes('html') ? { html: page.html ?? '' } : {}),
    ...(formats.includes('rawHtml') ? { rawHtml: fetched.html } : {}),
    ...(formats.includes('links') ? { pageLinks: page.links } : {}),
  };
}
