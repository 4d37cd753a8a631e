// The worker's side of rendering (#17, docs/rendering.md): whether a renderer
// process is alive (its heartbeat, read at most once per RENDERERS_CACHE_MS
// per process), waiting for one to appear (`render: always`), and handing a
// fetched page to the render queue and waiting, bounded, for its result.
// The page job holds its worker slot and its body's byte reservation the
// whole time: the wait is part of the page, which settles once, after it.
import { dropRenderedDom, liveRenderers, readRenderedDom, RENDER_JOB_ATTEMPTS, RENDER_LOCK_MS, RENDER_STALLED_INTERVAL_MS, type RenderJobData, renderJobId, type RenderQueue, type RenderResult } from '@crawlstream/jobs';
import type { RedisConnection } from '@crawlstream/redis-connection';
import type { FailureReason } from '@crawlstream/shared';
import type { QueueEvents } from 'bullmq';

/** A count of live renderers is reused this long by every page of the process. */
export const RENDERERS_CACHE_MS = 1_000;
/** How often a waiting page looks at the renderers' heartbeat. */
export const RENDERER_POLL_MS = 500;

/** What became of a page handed to the renderers. */
export type RenderOutcome =
  /** The render result with its DOM read (`htmlKey` is dropped once the page is settled: dropRendered). */
  | (Extract<RenderResult, { kind: 'rendered' }> & { html: string })
  | { kind: 'failed'; reason: FailureReason; message: string; status?: number }
  /** The worker is shutting down: the page is handed back, never settled. */
  | { kind: 'stopped' };

/**
 * The longest a page waits for its render: RENDER_WAIT_MS for a renderer to
 * take the job (renderers busy with other pages), then per attempt the page's
 * time in the browser (the crawl's timeoutMs), the host's politeness gap, and
 * a killed renderer's lock expiry plus the stall check that hands the job on.
 */
export function renderWaitBound(waitMs: number, timeoutMs: number, gapMs: number): number {
  return waitMs + RENDER_JOB_ATTEMPTS * (timeoutMs + gapMs + RENDER_LOCK_MS + RENDER_STALLED_INTERVAL_MS);
}

export interface RenderHandoffOptions {
  queue: RenderQueue;
  /** The QueueEvents of the render queue, made on first use (one per process). */
  events(): Promise<QueueEvents>;
  /** Where the renderers' heartbeat is read. */
  redis: RedisConnection;
  prefix: string;
  /** RENDER_WAIT_MS: the longest a page waits with no renderer alive. */
  waitMs: number;
  /** Aborted when in-flight pages must be handed back (the worker's shutdown). */
  shutdown: AbortSignal;
}

export class RenderHandoff {
  private live: { count: number; at: number; reading?: Promise<number> } = { count: 0, at: -Infinity };

  constructor(private readonly options: RenderHandoffOptions) {}

  /** RENDER_WAIT_MS. */
  get waitMs(): number {
    return this.options.waitMs;
  }

  /** Renderers alive now, as read at most `maxAgeMs` (RENDERERS_CACHE_MS) ago by any page of the process. */
  async liveRenderers(maxAgeMs = RENDERERS_CACHE_MS): Promise<number> {
    if (Date.now() - this.live.at < maxAgeMs) return this.live.count;
    this.live.reading ??= liveRenderers(this.options.redis, this.options.prefix)
      .then((count) => {
        this.live = { count, at: Date.now() };
        return count;
      })
      .finally(() => {
        this.live.reading = undefined;
      });
    return this.live.reading;
  }

  /**
   * Waits up to RENDER_WAIT_MS for a renderer to be alive: whether one is
   * ('stopped' on shutdown). Reads the heartbeat every RENDERER_POLL_MS, and
   * once more at the deadline, whatever a shorter RENDER_WAIT_MS than the cache.
   */
  async awaitRenderer(): Promise<boolean | 'stopped'> {
    const deadline = Date.now() + this.options.waitMs;
    for (;;) {
      if (this.options.shutdown.aborted) return 'stopped';
      const past = Date.now() >= deadline;
      if ((await this.liveRenderers(past ? 0 : RENDERER_POLL_MS)) > 0) return true;
      if (past) return false;
      await this.pause(Math.min(RENDERER_POLL_MS, deadline - Date.now()));
    }
  }

  /**
   * Adds the page's render job (its id is the crawl's and URL's: a retried
   * page job finds the same job, running or done) and waits for it, at most
   * renderWaitBound, and no longer than RENDER_WAIT_MS without a renderer
   * alive. A job given up while still waiting is removed.
   */
  async render(data: RenderJobData): Promise<RenderOutcome> {
    const { queue, waitMs } = this.options;
    const job = await queue.add('render', data, { jobId: renderJobId(data.crawlId, data.url) });
    const bound = renderWaitBound(waitMs, data.timeoutMs, data.gapMs ?? 0);
    const watch = new AbortController();
    const finished = job.waitUntilFinished(await this.options.events(), bound).then(
      (result: RenderResult): Promise<RenderOutcome> => this.withDom(result),
      (error: unknown): RenderOutcome => ({ kind: 'failed', reason: 'render_failed', message: `render failed: ${messageOf(error)}` }),
    );
    const givenUp = this.watch(watch.signal);
    try {
      const outcome = await Promise.race([finished, givenUp]);
      if (outcome.kind === 'failed' && outcome.reason === 'renderer_unavailable') await removeIfWaiting(queue, job.id!);
      return outcome;
    } finally {
      watch.abort();
    }
  }

  /** A rendered result with its DOM, read from the key the renderer stored it under; gone (expired): the render failed. */
  private async withDom(result: RenderResult): Promise<RenderOutcome> {
    if (result.kind !== 'rendered') return result;
    const html = await readRenderedDom(this.options.redis, result.htmlKey);
    if (html === null) return { kind: 'failed', reason: 'render_failed', message: 'the rendered DOM expired before the page was settled' };
    return { ...result, html };
  }

  /** Drops a rendered page's DOM once the page is settled (it expires anyway). */
  async dropRendered(outcome: RenderOutcome): Promise<void> {
    if (outcome.kind === 'rendered') await dropRenderedDom(this.options.redis, outcome.htmlKey).catch(() => {});
  }

  /** Resolves when the wait must end early: the worker shuts down, or no renderer has been alive for RENDER_WAIT_MS. */
  private async watch(signal: AbortSignal): Promise<RenderOutcome> {
    let aliveAt = Date.now();
    for (;;) {
      await this.pause(RENDERER_POLL_MS, signal);
      if (signal.aborted) return new Promise<never>(() => {});
      if (this.options.shutdown.aborted) return { kind: 'stopped' };
      const count = await this.liveRenderers().catch(() => 1);
      if (count > 0) aliveAt = Date.now();
      else if (Date.now() - aliveAt >= this.options.waitMs) {
        return { kind: 'failed', reason: 'renderer_unavailable', message: `no renderer alive for ${this.options.waitMs} ms` };
      }
    }
  }

  /** Sleeps `ms`, cut short by the worker's shutdown or `signal`. */
  private pause(ms: number, signal?: AbortSignal): Promise<void> {
    const signals = [this.options.shutdown, ...(signal ? [signal] : [])];
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const s of signals) s.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      for (const s of signals) s.addEventListener('abort', done, { once: true });
    });
  }
}

/** A render job nobody took is dropped (an active one cannot be, and a finished one is kept for a retried page job). */
async function removeIfWaiting(queue: RenderQueue, jobId: string): Promise<void> {
  const state = await queue.getJobState(jobId);
  if (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children') await queue.remove(jobId).catch(() => 0);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
