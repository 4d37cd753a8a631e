// The crawl resource (DESIGN.md section 1): start, list, read, cancel, and
// the results (pages, one markdown document, errors). A crawl is stored in
// Redis and its first job enqueued (by the store) before POST answers, so any instance
// serves its id at once, and (where Redis has WAITAOF) it is on disk. An
// `Idempotency-Key` maps (owner, key) to a crawl id with SET NX, so two
// instances racing with the same key return one crawl; a retry after a crash
// at any step of the create gets that crawl whole, never one left without a
// job.
import type { CreateStep } from '@crawlstream/progress';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { enqueueWebhook } from '@crawlstream/jobs';
import { isCrawlListCursor, listCrawls } from '@crawlstream/progress';
import {
  apiError,
  type Crawl,
  type CrawlOptions,
  type CrawlWebhook,
  crawl,
  crawlErrorList,
  crawlList,
  crawlPath,
  crawlRequestSchema,
  crawlStatus,
  crawlWithToken,
  globalKeys,
  MAX_REJECTED_PER_CRAWL,
  MAX_RESPONSE_BYTES,
  newCrawlId,
  normalizeUrl,
  optionsBytesProblem,
  type PageResult,
  pageList,
  REJECT_REASONS,
  rejectedList,
  routePatterns,
  startUrlsOf,
  storedOptionsOf,
  WEBHOOK_EVENT_TYPES,
  type WebhookRequest,
} from '@crawlstream/shared';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ApiContext, visibleCrawlOwner } from '../context.js';
import { ApiError } from '../errors.js';
import { crawlIdParams, queryInt } from './params.js';
import { webhookUrlProblem } from './webhooks.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** Pages read per round trip while the markdown document is sent. */
const PAGES_PER_MARKDOWN_READ = 50;

/** The cursor of /pages and /errors: a position in the crawl's list, as nextCursor gave it. */
const offsetCursor = z.string().max(32).optional().describe('nextCursor of the previous page');
/** The query of the lists paginated by offset (/pages, /errors, /rejected). */
const offsetPageQuery = z.object({
  cursor: offsetCursor,
  limit: queryInt(1, 100, 20).describe('1 to 100, default 20'),
});

function offsetOf(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  if (!/^\d{1,9}$/.test(cursor)) throw new ApiError('invalid_cursor');
  return Number(cursor);
}

const errors = { 400: apiError, 401: apiError, 404: apiError, 429: apiError, 503: apiError };

/**
 * What an Idempotency-Key's record holds of its request: a SHA-256, so the
 * crawl's request headers (`options.headers`) are never stored in plain text.
 */
function fingerprint(url: string, options: CrawlOptions, webhook?: WebhookRequest): string {
  return createHash('sha256')
    .update(JSON.stringify(webhook ? { url, options, webhook } : { url, options }))
    .digest('base64url');
}

/** A webhook as a crawl stores and shows it: the filter made explicit. */
function webhookOf(webhook: WebhookRequest): CrawlWebhook & { headers: Record<string, string> } {
  return { url: webhook.url, events: webhook.events ?? [...WEBHOOK_EVENT_TYPES], headers: webhook.headers ?? {} };
}

/** A page's section of /markdown: title and URL only for a page stored without markdown (`formats`, discoverOnly). */
function markdownSection(page: PageResult): string {
  const title = page.title.replace(/\s+/g, ' ').trim() || page.url;
  const head = `# ${title}\n\n> Source: ${page.url}\n`;
  return page.markdown === undefined ? head : `${head}\n${page.markdown.trim()}\n`;
}

/** The steps of a POST with an Idempotency-Key: the key taken, then the store's (CreateStep). */
export type PostStep = 'keyed' | CreateStep;

export async function crawlRoutes(
  app: FastifyInstance,
  options: { ctx: ApiContext; afterStep?: ((step: PostStep) => void | Promise<void>) | undefined },
): Promise<void> {
  const { ctx } = options;
  const { store } = ctx;
  const afterStep = options.afterStep ?? (() => {});
  const routes = app.withTypeProvider<ZodTypeProvider>();

  async function withToken(found: Crawl, owner: string): Promise<Crawl & { streamToken?: string }> {
    if (!ctx.apiKeys.enabled) return found;
    return { ...found, streamToken: await ctx.tokens.sign(found.id, owner) };
  }

  /**
   * Stores the crawl and enqueues its first job, both before the answer, and
   * waits for Redis to have it on disk where it can say so (WAITAOF, Redis
   * 7.2+; a wait past CREATE_AOF_WAIT_MS is logged). A create interrupted
   * part way is healed or removed by the sweep, and healed at once by a retry
   * with the same Idempotency-Key (idempotent()).
   */
  async function start(
    url: string,
    crawlOptions: CrawlOptions,
    owner: string,
    log: FastifyBaseLogger,
    id?: string,
    webhook?: WebhookRequest,
  ): Promise<Crawl> {
    const { crawl, durability } = await store.create({ url, options: crawlOptions, owner, ...(id ? { id } : {}) });
    if (durability === 'unconfirmed') log.warn({ crawlId: crawl.id }, 'crawl created, but Redis did not confirm its AOF fsync in time');
    if (!webhook) return crawl;
    return { ...crawl, webhook: await startWebhook(crawl.id, webhook) };
  }

  /**
   * Records a created crawl's webhook and enqueues its delivery (job id = crawl
   * id, a no-op when queued). Recorded only once: an idempotent retry never
   * moves a delivery's cursor back.
   */
  async function startWebhook(id: string, webhook: WebhookRequest): Promise<CrawlWebhook> {
    const stored = webhookOf(webhook);
    if ((await ctx.webhooks.shown(id)) === null) await ctx.webhooks.register(id, stored);
    await enqueueWebhook(ctx.webhookQueue, id);
    return { url: stored.url, events: stored.events };
  }

  /**
   * The crawl an Idempotency-Key stands for. Whoever's SET NX wins answers
   * 201; the others 200 with the same crawl. What a retry finds, for each
   * step a crash (API kill -9) can stop the winner after:
   * - the key only, or the key and the indexes: no crawl yet. It creates it
   *   under the same id (the store refuses a second create, so there is one).
   * - the crawl stored, its first job never enqueued: it enqueues that job
   *   (same job id, a no-op for a queue that has it) before answering, so the
   *   crawl it returns is never one waiting for the sweep.
   * - the job enqueued: the crawl, as it is.
   */
  async function idempotent(
    key: string,
    url: string,
    crawlOptions: CrawlOptions,
    owner: string,
    log: FastifyBaseLogger,
    webhook?: WebhookRequest,
  ): Promise<{ crawl: Crawl; created: boolean }> {
    const redisKey = globalKeys(ctx.prefix).idempotency(owner, key);
    const print = fingerprint(url, crawlOptions, webhook);
    const id = newCrawlId();
    const won = await ctx.redis.set(redisKey, `${id} ${print}`, 'EX', ctx.config.CRAWL_TTL_SECONDS, 'NX');
    if (won === 'OK') {
      await afterStep('keyed');
      return { crawl: await start(url, crawlOptions, owner, log, id, webhook), created: true };
    }
    const stored = await ctx.redis.get(redisKey);
    const [existingId, existingPrint] = (stored ?? '').split(' ');
    if (!existingId) {
      // The mapping expired between our SET and GET: try once more from the top.
      return idempotent(key, url, crawlOptions, owner, log, webhook);
    }
    if (existingPrint !== print) throw new ApiError('idempotency_key_reused');
    const found = await store.get(existingId);
    if (found) {
      // Nothing settled yet: the create may have stopped before its first job.
      const settled = found.counters.processed + found.counters.failed + found.counters.skipped;
      if (found.status === 'running' && settled === 0 && (await store.requeue(existingId)) > 0) {
        log.info({ crawlId: existingId }, 'idempotent retry: enqueued the first job of a crawl whose create had stopped');
      }
      // The create may have stopped before the webhook was recorded or its delivery enqueued.
      return { crawl: webhook ? { ...found, webhook: await startWebhook(existingId, webhook) } : found, created: false };
    }
    try {
      return { crawl: await start(url, crawlOptions, owner, log, existingId, webhook), created: false };
    } catch (error) {
      const raced = await store.get(existingId);
      if (raced) return { crawl: raced, created: false };
      throw error;
    }
  }

  const requestBody = crawlRequestSchema(ctx.config.MAX_PAGES_CAP);

  routes.post(
    routePatterns.crawls,
    {
      schema: {
        summary: 'Start a crawl',
        tags: ['crawls'],
        body: requestBody,
        headers: z.looseObject({
          'idempotency-key': z
            .string()
            .optional()
            .describe('Same key (per API key) returns the same crawl with 200; 1-255 visible ASCII characters'),
        }),
        response: {
          200: crawlWithToken.describe('The crawl this Idempotency-Key already started'),
          201: crawlWithToken.describe('Started; `Location` is the crawl URL'),
          413: apiError,
          415: apiError,
          422: apiError,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const owner = request.owner ?? '';
      const url = normalizeUrl(request.body.url);
      if (url === null) {
        throw new ApiError('validation_failed', undefined, {
          in: 'body',
          issues: [{ path: ['url'], message: 'not a crawlable URL' }],
        });
      }
      // The extra start URLs as `url`: normalized, then without `url` and repeats.
      const starts = startUrlsOf(url, request.body.options.urls);
      if ('invalid' in starts) {
        throw new ApiError('validation_failed', undefined, {
          in: 'body',
          issues: [{ path: ['options', 'urls', String(starts.invalid)], message: 'not a crawlable URL' }],
        });
      }
      const crawlOptions = { ...request.body.options, urls: starts.urls };
      // Normalizing may lengthen a URL (percent-encoding): the stored options are held to the bound too
      // (header values are not stored with them: the store keeps them apart, with bounds of their own).
      const tooLarge = optionsBytesProblem(storedOptionsOf(crawlOptions));
      if (tooLarge) throw new ApiError('validation_failed', undefined, { in: 'body', issues: [{ path: ['options'], message: tooLarge }] });
      const { webhook } = request.body;
      if (webhook) {
        if (!ctx.config.WEBHOOK_SECRET) throw new ApiError('webhooks_disabled');
        if (webhookUrlProblem(ctx, webhook.url)) throw new ApiError('webhook_url_blocked');
      }
      const key = request.headers['idempotency-key'];
      let result: { crawl: Crawl; created: boolean };
      if (key === undefined) {
        result = { crawl: await start(url, crawlOptions, owner, request.log, undefined, webhook), created: true };
      } else {
        if (!IDEMPOTENCY_KEY.test(key)) throw new ApiError('invalid_idempotency_key');
        result = await idempotent(key, url, crawlOptions, owner, request.log, webhook);
      }
      return reply
        .code(result.created ? 201 : 200)
        .header('location', crawlPath(result.crawl.id))
        .send(await withToken(result.crawl, owner));
    },
  );

  routes.get(
    routePatterns.crawls,
    {
      schema: {
        summary: 'List crawls, newest first',
        description: 'With API_KEYS set, only the crawls of the calling key. A page may hold fewer than `limit` items while `nextCursor` is not null.',
        tags: ['crawls'],
        querystring: z.object({
          status: crawlStatus.optional(),
          limit: queryInt(1, 100, 20).describe('1 to 100, default 20'),
          cursor: z.string().max(128).optional().describe('nextCursor of the previous page'),
        }),
        response: { 200: crawlList, ...errors },
      },
    },
    async (request) => {
      const { status, limit, cursor } = request.query;
      if (cursor !== undefined && !isCrawlListCursor(cursor)) throw new ApiError('invalid_cursor');
      return listCrawls(
        ctx.redis,
        {
          limit,
          ...(status ? { status } : {}),
          ...(cursor ? { cursor } : {}),
          ...(ctx.apiKeys.enabled ? { owner: request.owner ?? '' } : {}),
        },
        ctx.prefix,
      );
    },
  );

  routes.get(
    routePatterns.crawl,
    {
      schema: {
        summary: 'A crawl',
        tags: ['crawls'],
        params: crawlIdParams,
        response: { 200: crawlWithToken, ...errors },
      },
    },
    async (request) => {
      const owner = await visibleCrawlOwner(ctx, request.params.id, request.owner);
      const [found, webhook] = await Promise.all([store.get(request.params.id), ctx.webhooks.shown(request.params.id)]);
      if (!found) throw new ApiError('not_found');
      return withToken(webhook ? { ...found, webhook } : found, owner);
    },
  );

  routes.delete(
    routePatterns.crawl,
    {
      schema: {
        summary: 'Cancel a crawl',
        description: 'Idempotent: cancelling a cancelled crawl answers 200 again. 409 already_finished for a completed or failed crawl.',
        tags: ['crawls'],
        params: crawlIdParams,
        response: { 200: crawl, 409: apiError, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      await visibleCrawlOwner(ctx, id, request.owner);
      const result = await store.cancel(id);
      if (result.result === 'missing') throw new ApiError('not_found');
      if (result.result === 'finished' && result.status !== 'cancelled') {
        throw new ApiError('already_finished', `The crawl has already ${result.status}`, { status: result.status });
      }
      const found = await store.get(id);
      if (!found) throw new ApiError('not_found');
      return found;
    },
  );

  routes.get(
    routePatterns.pages,
    {
      schema: {
        summary: 'Stored pages, in the order they were stored',
        description: `At most \`limit\` pages and at most ${MAX_RESPONSE_BYTES} bytes of body: fewer items when they weigh more, with \`nextCursor\` set.`,
        tags: ['results'],
        params: crawlIdParams,
        querystring: offsetPageQuery,
        response: { 200: pageList, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { cursor, limit } = request.query;
      const offset = offsetOf(cursor);
      await visibleCrawlOwner(ctx, id, request.owner);
      const page = await store.pages(id, offset, limit, MAX_RESPONSE_BYTES);
      return { items: page.items, nextCursor: page.next === null ? null : String(page.next) };
    },
  );

  routes.get(
    routePatterns.markdown,
    {
      schema: {
        summary: 'Every stored page in one markdown document',
        description: 'Per page `# Title`, `> Source: URL`, then the content; `---` between pages; in the order the pages were stored.',
        tags: ['results'],
        params: crawlIdParams,
        response: {
          200: { description: 'The document', content: { 'text/markdown': { schema: z.string() } } },
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await visibleCrawlOwner(ctx, id, request.owner);
      // Sent a batch at a time, so a 10,000-page crawl is never held whole. The
      // first batch is read before answering: a Redis failure is still a JSON error.
      const firstBatch = await store.pages(id, 0, PAGES_PER_MARKDOWN_READ, MAX_RESPONSE_BYTES);
      async function* sections(): AsyncGenerator<string> {
        let batch = firstBatch;
        let separator = '';
        for (;;) {
          for (const page of batch.items) {
            yield `${separator}${markdownSection(page)}`;
            separator = '\n---\n\n';
          }
          if (batch.next === null) return;
          batch = await store.pages(id, batch.next, PAGES_PER_MARKDOWN_READ, MAX_RESPONSE_BYTES);
        }
      }
      // The typed reply knows the schema's string; a stream of strings is what is sent.
      const body = Readable.from(sections()) as unknown as string;
      return reply.type('text/markdown; charset=utf-8').send(body);
    },
  );

  routes.get(
    routePatterns.errors,
    {
      schema: {
        summary: 'Pages that failed or were skipped, in the order they were settled',
        description: `Paginated as /pages: at most \`limit\` items and at most ${MAX_RESPONSE_BYTES} bytes of body, \`nextCursor\` null on the last page.`,
        tags: ['results'],
        params: crawlIdParams,
        querystring: offsetPageQuery,
        response: { 200: crawlErrorList, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const offset = offsetOf(request.query.cursor);
      await visibleCrawlOwner(ctx, id, request.owner);
      const page = await store.errorPage(id, offset, request.query.limit, MAX_RESPONSE_BYTES);
      return { items: page.items, nextCursor: page.next === null ? null : String(page.next) };
    },
  );

  routes.get(
    routePatterns.rejected,
    {
      schema: {
        summary: 'Links found but not taken, with why, in the order they were recorded',
        description:
          `Each URL once, with its first reason (${REJECT_REASONS.join(', ')}) and the page it was found on; at most ` +
          `${MAX_REJECTED_PER_CRAWL} per crawl (past it counted in the crawl's \`rejectedDropped\`). Paginated as /errors: ` +
          `at most \`limit\` items and at most ${MAX_RESPONSE_BYTES} bytes of body, \`nextCursor\` null on the last page.`,
        tags: ['results'],
        params: crawlIdParams,
        querystring: offsetPageQuery,
        response: { 200: rejectedList, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const offset = offsetOf(request.query.cursor);
      await visibleCrawlOwner(ctx, id, request.owner);
      const page = await store.rejectedPage(id, offset, request.query.limit, MAX_RESPONSE_BYTES);
      return { items: page.items, nextCursor: page.next === null ? null : String(page.next) };
    },
  );
}
