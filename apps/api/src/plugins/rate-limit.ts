// Rate limiting shared across instances: counters live in Redis
// (@fastify/rate-limit's Redis store), keyed by API key owner when keys are
// on, else by client address. Streams are exempt: an EventSource gives up for
// good on any non-200 answer, and a reconnect storm after an instance dies
// must not lock clients out. So are health, metrics, the docs and the
// dashboard (their routes say `rateLimit: false`; the Swagger UI's routes
// come from @fastify/swagger-ui, which takes no route config, and are let
// through by prefix).
import rateLimit from '@fastify/rate-limit';
import { globalKeys } from '@crawlstream/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { ApiError } from '../errors.js';
import { DOCS_UI_PREFIX } from './docs.js';

export interface RateLimitOptions {
  redis: RedisConnection;
  prefix: string;
  perMinute: number;
  keysEnabled: boolean;
}

async function limits(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: options.perMinute,
    timeWindow: 60_000,
    redis: options.redis,
    nameSpace: globalKeys(options.prefix).rateLimit(''),
    // Redis trouble must not turn every request into an error.
    skipOnError: true,
    allowList: (request) => request.routeOptions.url?.startsWith(DOCS_UI_PREFIX) === true,
    keyGenerator: (request) =>
      options.keysEnabled && request.owner ? `key:${request.owner}` : `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) =>
      new ApiError('rate_limited', `Rate limit exceeded, retry in ${context.after}`, {
        limit: context.max,
        retryAfter: context.after,
      }),
  });
}

export const rateLimitPlugin = fp(limits, { name: 'crawlstream-rate-limit', dependencies: ['crawlstream-auth'] });
