// Render jobs as a worker adds them (createRenderQueue, renderJobId) and
// waits for them (QueueEvents), and a crawl for them to belong to.
import {
  createRenderQueue,
  readRenderedDom,
  type RenderJobData,
  type RenderOutput,
  type RenderQueue,
  type RenderResult,
  renderJobId,
  RENDER_QUEUE,
  renderQueueOptions,
} from '@crawlstream/jobs';
import { CrawlStore } from '@crawlstream/progress';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { crawlOptionsSchema, type CrawlOptionsInput } from '@crawlstream/shared';
import { QueueEvents } from 'bullmq';

/** A crawl stored as the API stores it; its page jobs go nowhere (the renderer tests run no worker). */
export async function createCrawl(redis: RedisConnection, prefix: string, url: string, options: CrawlOptionsInput = {}): Promise<string> {
  const store = new CrawlStore({ redis, prefix, jobs: { add: async () => {}, alive: async () => true } });
  const { crawl } = await store.create({ url, options: crawlOptionsSchema().parse(options) });
  return crawl.id;
}

export interface RenderClient {
  queue: RenderQueue;
  events: QueueEvents;
  /** Adds the job, waits for it, and reads the DOM its result names, as the worker does. */
  render(data: RenderJobData, timeoutMs?: number): Promise<RenderOutput>;
  /** A finished job's result with its DOM (null html: the DOM key is gone). */
  withDom(result: RenderResult): Promise<RenderOutput>;
  close(): Promise<void>;
}

export async function renderClient(connect: (options: { maxRetriesPerRequest: null }) => RedisConnection, prefix: string): Promise<RenderClient> {
  const queue = createRenderQueue(connect({ maxRetriesPerRequest: null }), prefix);
  const events = new QueueEvents(RENDER_QUEUE, { ...renderQueueOptions(connect({ maxRetriesPerRequest: null }), prefix) });
  const redis = connect({ maxRetriesPerRequest: null });
  await events.waitUntilReady();
  const withDom = async (result: RenderResult): Promise<RenderOutput> => {
    if (result.kind !== 'rendered') return result;
    const { htmlKey, ...rest } = result;
    const html = await readRenderedDom(redis, htmlKey);
    if (html === null) throw new Error(`the rendered DOM at ${htmlKey} is gone`);
    return { ...rest, html };
  };
  return {
    queue,
    events,
    withDom,
    render: async (data, timeoutMs = 90_000) => {
      const job = await queue.add('render', data, { jobId: renderJobId(data.crawlId, data.url) });
      return withDom(await job.waitUntilFinished(events, timeoutMs));
    },
    close: async () => {
      await events.close();
      await queue.close();
      redis.disconnect();
    },
  };
}
