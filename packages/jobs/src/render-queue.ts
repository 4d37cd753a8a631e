// The render queue (#17, docs/rendering.md): a worker whose fetched page
// needs a browser adds a render job here and waits for its result; renderer
// processes (apps/renderer) take the jobs, render the page in Chromium and
// return the DOM. The worker then extracts and settles the page as it does a
// fetched one, so a page settles exactly once whoever rendered it. Renderers
// announce themselves with a heartbeat (globalKeys().renderers), so a worker
// knows whether waiting for a browser makes sense at all.
import { createHash } from 'node:crypto';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { DEFAULT_KEY_PREFIX, type FailureReason, globalKeys, renderedDomKey, renderQueuePrefix } from '@crawlstream/shared';
import { Queue, type QueueOptions } from 'bullmq';
import { z } from 'zod';

export const RENDER_QUEUE = 'render';
/** Render attempts per job: a renderer killed or a browser crashed mid-page costs one. */
export const RENDER_JOB_ATTEMPTS = 3;
/**
 * A renderer's job lock; a renderer that stops renewing it (killed with -9)
 * has its jobs moved back to wait by another renderer's stalled check
 * within about this long plus RENDER_STALLED_INTERVAL_MS.
 */
export const RENDER_LOCK_MS = 10_000;
export const RENDER_STALLED_INTERVAL_MS = 5_000;
/** How often a renderer writes its heartbeat. */
export const RENDERER_HEARTBEAT_MS = 2_000;
/** A renderer whose last heartbeat is older than this is not alive. */
export const RENDERER_STALE_MS = 10_000;
/** Finished render jobs (and their results) are kept this long, so a retried page job finds its render done. */
export const RENDER_RESULT_TTL_SECONDS = 600;

export const renderJobData = z.object({
  crawlId: z.string(),
  /** The page to render: the fetched page's final URL (after redirects). */
  url: z.string(),
  /** The page's time in the browser (the crawl's timeoutMs; the renderer caps it at RENDER_TIMEOUT_MS). */
  timeoutMs: z.number().int().min(100).max(300_000),
  /** The most DOM a render may return (the crawl's maxBytes), in bytes of UTF-8. */
  maxBytes: z.number().int().min(1024),
  /** Read the page once this CSS selector matches, instead of at network idle (options.waitFor). */
  waitFor: z.string().optional(),
  /** The host's politeness gap (delayMs or Crawl-delay): the render's document request takes a host slot like a fetch. */
  gapMs: z.number().int().min(0).default(0),
  /** Whether the crawl obeys robots.txt: the page's own requests to its host are checked against the crawl's copy of it. */
  respectRobotsTxt: z.boolean().default(true),
});
export type RenderJobData = z.input<typeof renderJobData>;

/** What a render makes in the renderer: the rendered DOM and what came with it, or why there is none. */
export type RenderOutput =
  | {
      kind: 'rendered';
      /** The rendered DOM (document.documentElement.outerHTML with a doctype), at most maxBytes. */
      html: string;
      /** The document's URL once rendered (history routing may change the path; never another document). */
      finalUrl: string;
      /** The status of the document's response in the browser. */
      status: number;
      /** Bytes of UTF-8 in `html`. */
      bytes: number;
      durationMs: number;
      /** Requests of the page that were refused (SSRF guard, robots.txt, navigation away, blocked resource types). */
      blockedRequests: number;
    }
  /** Why a render failed, as the worker settles it with `render: always`: a fetch failure reason (ssrf_blocked, timeout, http_5xx...) or render_failed. */
  | { kind: 'failed'; reason: FailureReason; message: string; status?: number };

/**
 * A render job's return value. The DOM itself is not in it: BullMQ copies a
 * job's return value into the queue's event stream (kept to ~10,000 events),
 * so the renderer stores the DOM under its own key with a TTL
 * (renderedDomKey, saveRenderedDom) and the result names that key; the
 * worker reads it (readRenderedDom) and deletes it once the page is settled.
 */
export type RenderResult =
  | (Omit<Extract<RenderOutput, { kind: 'rendered' }>, 'html'> & { htmlKey: string })
  | Extract<RenderOutput, { kind: 'failed' }>;

export type RenderQueue = Queue<RenderJobData, RenderResult, string>;

export function renderQueueOptions(connection: RedisConnection, prefix: string = DEFAULT_KEY_PREFIX): QueueOptions {
  return {
    connection,
    prefix: renderQueuePrefix(prefix),
    defaultJobOptions: {
      attempts: RENDER_JOB_ATTEMPTS,
      backoff: { type: 'fixed', delay: 500 },
      removeOnComplete: { age: RENDER_RESULT_TTL_SECONDS },
      removeOnFail: { age: RENDER_RESULT_TTL_SECONDS },
    },
  };
}

export function createRenderQueue(connection: RedisConnection, prefix: string = DEFAULT_KEY_PREFIX): RenderQueue {
  return new Queue<RenderJobData, RenderResult, string>(RENDER_QUEUE, renderQueueOptions(connection, prefix));
}

/**
 * One render job per crawl and URL: a page job retried (its worker killed)
 * adds the same id, and BullMQ keeps the first, so the page is rendered once
 * and the retry waits for (or finds) that render.
 */
export function renderJobId(crawlId: string, url: string): string {
  return `${crawlId}-${createHash('sha256').update(url).digest('hex').slice(0, 32)}`;
}

/** A renderer's heartbeat: its id scored by now. Stale entries of dead renderers are dropped on the way. */
export async function beatRenderer(redis: RedisConnection, rendererId: string, prefix: string = DEFAULT_KEY_PREFIX, now = Date.now()): Promise<void> {
  const key = globalKeys(prefix).renderers;
  await redis.zadd(key, now, rendererId);
  await redis.zremrangebyscore(key, '-inf', now - 10 * RENDERER_STALE_MS);
}

/** A renderer that stops removes itself, so workers stop waiting for it at once. */
export async function removeRenderer(redis: RedisConnection, rendererId: string, prefix: string = DEFAULT_KEY_PREFIX): Promise<void> {
  await redis.zrem(globalKeys(prefix).renderers, rendererId);
}

/** How many renderers beat within RENDERER_STALE_MS. */
export async function liveRenderers(redis: RedisConnection, prefix: string = DEFAULT_KEY_PREFIX, now = Date.now()): Promise<number> {
  return redis.zcount(globalKeys(prefix).renderers, now - RENDERER_STALE_MS, '+inf');
}

/**
 * Stores a render's DOM for the worker waiting for it, for at most
 * RENDER_RESULT_TTL_SECONDS (a retried page job finds it; the worker deletes
 * it once the page is settled); returns the result that names it.
 */
export async function saveRenderedDom(
  redis: RedisConnection,
  crawlId: string,
  jobId: string,
  output: Extract<RenderOutput, { kind: 'rendered' }>,
  prefix: string = DEFAULT_KEY_PREFIX,
): Promise<RenderResult> {
  const { html, ...rest } = output;
  const htmlKey = renderedDomKey(crawlId, jobId, prefix);
  await redis.set(htmlKey, html, 'EX', RENDER_RESULT_TTL_SECONDS);
  return { ...rest, htmlKey };
}

/** The DOM a render result names; null when it expired (or was already settled and deleted). */
export function readRenderedDom(redis: RedisConnection, htmlKey: string): Promise<string | null> {
  return redis.get(htmlKey);
}

/** Drops a settled page's rendered DOM. */
export async function dropRenderedDom(redis: RedisConnection, htmlKey: string): Promise<void> {
  await redis.unlink(htmlKey);
}
