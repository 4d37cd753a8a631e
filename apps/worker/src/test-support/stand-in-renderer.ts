// A stand-in for the renderer process, for the worker's own tests only: a
// real BullMQ Worker on the render queue with a real heartbeat, which answers
// each render job with what `render` makes of it (typically the fixture's
// HTML fetched over loopback with the content a browser would have built
// spliced in). The real renderer (apps/renderer, Chromium) and the end-to-end
// tests with it live elsewhere; this one only exercises the worker's handoff.
import { randomUUID } from 'node:crypto';
import {
  beatRenderer,
  RENDER_QUEUE,
  RENDERER_HEARTBEAT_MS,
  type RenderJobData,
  type RenderOutput,
  type RenderResult,
  removeRenderer,
  saveRenderedDom,
} from '@crawlstream/jobs';
import { renderQueuePrefix } from '@crawlstream/shared';
import type { TestRedis } from '@crawlstream/testkit';
import { Worker } from 'bullmq';

export interface StandInRenderer {
  /** Every render job it took, in order (a job retried after a stall shows twice). */
  readonly seen: RenderJobData[];
  /** Stops taking jobs and its heartbeat, and removes itself from the live renderers. */
  close(): Promise<void>;
}

export async function startStandInRenderer(redis: TestRedis, render: (data: RenderJobData) => Promise<RenderOutput>): Promise<StandInRenderer> {
  const id = `stand-in-${randomUUID()}`;
  const connection = redis.connect({ maxRetriesPerRequest: null });
  const seen: RenderJobData[] = [];
  const worker = new Worker<RenderJobData, RenderResult>(
    RENDER_QUEUE,
    async (job) => {
      seen.push(job.data);
      const output = await render(job.data);
      // As the renderer does: the DOM under its own key, the result naming it.
      return output.kind === 'rendered' ? saveRenderedDom(connection, job.data.crawlId, job.id!, output, redis.prefix) : output;
    },
    { connection, prefix: renderQueuePrefix(redis.prefix), concurrency: 4 },
  );
  await worker.waitUntilReady();
  await beatRenderer(connection, id, redis.prefix);
  const heartbeat = setInterval(() => void beatRenderer(connection, id, redis.prefix).catch(() => {}), RENDERER_HEARTBEAT_MS);
  return {
    seen,
    async close() {
      clearInterval(heartbeat);
      await worker.close();
      await removeRenderer(connection, id, redis.prefix);
      connection.disconnect();
    },
  };
}

/**
 * What a browser would return for `url`: the page as served, with `content`
 * (its markup) put where the app mounts (`<div id="root"></div>`).
 */
export async function renderedFrom(data: RenderJobData, content: (url: string) => string): Promise<RenderOutput> {
  const response = await fetch(data.url);
  const served = await response.text();
  const html = served.replace('<div id="root"></div>', `<div id="root">${content(data.url)}</div>`);
  return { kind: 'rendered', html, finalUrl: data.url, status: response.status, bytes: Buffer.byteLength(html), durationMs: 5, blockedRequests: 0 };
}
