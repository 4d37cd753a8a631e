// /llms.txt and /llms-full.txt of a crawl (https://llmstxt.org), under the
// access rules of /pages: 404 not_found for an unknown crawl or another key's.
// Both read the store a batch at a time (at most PAGES_PER_LLMS_READ pages and
// MAX_RESPONSE_BYTES of records per read), so neither holds the site's
// markdown: llms-full.txt streams each batch out before reading the next
// (what a 100,000-page crawl needs), llms.txt keeps one short line per page
// until it knows every section. While the crawl runs, they hold what is stored so far.
import { Readable } from 'node:stream';
import { apiError, MAX_RESPONSE_BYTES, routePatterns } from '@crawlstream/shared';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ApiContext, visibleCrawlOwner } from '../context.js';
import { ApiError } from '../errors.js';
import { FULL_SEPARATOR, fullSection, LlmsIndex } from './llms-format.js';
import { crawlIdParams } from './params.js';

/** Pages read per round trip (and at most MAX_RESPONSE_BYTES of them). */
export const PAGES_PER_LLMS_READ = 50;

const CONTENT_TYPE = 'text/plain; charset=utf-8';
const errors = { 400: apiError, 401: apiError, 404: apiError, 429: apiError, 503: apiError };
const textResponse = (description: string) => ({ description, content: { 'text/plain': { schema: z.string() } } });

export async function llmsRoutes(app: FastifyInstance, options: { ctx: ApiContext }): Promise<void> {
  const { ctx } = options;
  const { store } = ctx;
  const routes = app.withTypeProvider<ZodTypeProvider>();

  /** The crawl, once its owner is checked; 404 when it is gone. */
  async function visibleCrawl(id: string, owner: string | null) {
    await visibleCrawlOwner(ctx, id, owner);
    const found = await store.get(id);
    if (!found) throw new ApiError('not_found');
    return found;
  }

  routes.get(
    routePatterns.llmsTxt,
    {
      schema: {
        summary: 'An llms.txt index of the stored pages',
        description:
          'The llms.txt format (https://llmstxt.org): `# ` the start page\'s title (else its host), a `> ` summary, then `## ` sections by the first path segment under the start URL\'s directory (pages directly in it first), a `- [title](url)` line per page (`: description` when the page has one), in the order pages were stored. While the crawl runs: the pages stored so far.',
        tags: ['results'],
        params: crawlIdParams,
        response: { 200: textResponse('The index'), ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const found = await visibleCrawl(id, request.owner);
      const index = new LlmsIndex(found.url);
      let next: number | null = 0;
      while (next !== null) {
        const batch = await store.pages(id, next, PAGES_PER_LLMS_READ, MAX_RESPONSE_BYTES);
        for (const page of batch.items) index.add(page);
        next = batch.next;
      }
      const running = found.status === 'queued' || found.status === 'running';
      const body = Readable.from(index.chunks(running), { objectMode: false }) as unknown as string;
      return reply.type(CONTENT_TYPE).send(body);
    },
  );

  routes.get(
    routePatterns.llmsFullTxt,
    {
      schema: {
        summary: 'Every stored page in one llms-full.txt document, streamed',
        description:
          'Per page `# Title`, `Source: URL`, then its markdown; `---` between pages; in the order the pages were stored. Sent as it is read from the store, a batch at a time.',
        tags: ['results'],
        params: crawlIdParams,
        response: { 200: textResponse('The document'), ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await visibleCrawl(id, request.owner);
      // The first batch is read before answering: a Redis failure is still a JSON error.
      const firstBatch = await store.pages(id, 0, PAGES_PER_LLMS_READ, MAX_RESPONSE_BYTES);
      async function* sections(): AsyncGenerator<string> {
        let batch = firstBatch;
        let separator = '';
        for (;;) {
          // Each page is dropped from the batch once handed on, so a batch is freed as it is sent.
          const items = batch.items;
          for (let i = 0; i < items.length; i++) {
            const page = items[i]!;
            (items as unknown[])[i] = undefined;
            yield `${separator}${fullSection(page)}`;
            separator = FULL_SEPARATOR;
          }
          if (batch.next === null) return;
          batch = await store.pages(id, batch.next, PAGES_PER_LLMS_READ, MAX_RESPONSE_BYTES);
        }
      }
      // Bytes, not objects: the stream holds one page past its 16 KiB mark, never 16 pages.
      const body = Readable.from(sections(), { objectMode: false }) as unknown as string;
      return reply.type(CONTENT_TYPE).send(body);
    },
  );
}
