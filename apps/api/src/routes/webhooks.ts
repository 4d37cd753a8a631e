// A crawl's webhook (#16): the delivery state (GET /:id/webhook), and the
// check POST makes of a webhook URL: one whose host is a literal non-public
// address outside SSRF_ALLOW could never be delivered (the workers' guard
// refuses it at connect time), so it is refused at once. A host name is
// judged only when the workers connect (DNS may change until then).
import { isIP } from 'node:net';
import { createSsrfGuard, type SsrfGuard } from '@crawlstream/pipeline/ssrf';
import { apiError, routePatterns, webhookStatus } from '@crawlstream/shared';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type ApiContext, visibleCrawlOwner } from '../context.js';
import { ApiError } from '../errors.js';
import { crawlIdParams } from './params.js';

const guards = new WeakMap<ApiContext, SsrfGuard>();

/** True when the webhook URL's host is an IP literal the SSRF rules refuse. */
export function webhookUrlProblem(ctx: ApiContext, url: string): boolean {
  let guard = guards.get(ctx);
  if (!guard) {
    guard = createSsrfGuard(ctx.config.SSRF_ALLOW);
    guards.set(ctx, guard);
  }
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  return isIP(host) !== 0 && !guard.isAllowedAddress(host);
}

export async function webhookRoutes(app: FastifyInstance, options: { ctx: ApiContext }): Promise<void> {
  const { ctx } = options;
  app.withTypeProvider<ZodTypeProvider>().get(
    routePatterns.webhook,
    {
      schema: {
        summary: "A crawl's webhook: where its delivery stands",
        description: '404 not_found for an unknown crawl and for a crawl created without a webhook.',
        tags: ['crawls'],
        params: crawlIdParams,
        response: { 200: webhookStatus, 400: apiError, 401: apiError, 404: apiError, 429: apiError, 503: apiError },
      },
    },
    async (request) => {
      await visibleCrawlOwner(ctx, request.params.id, request.owner);
      const status = await ctx.webhooks.status(request.params.id);
      if (!status) throw new ApiError('not_found', 'This crawl has no webhook');
      return status;
    },
  );
}
