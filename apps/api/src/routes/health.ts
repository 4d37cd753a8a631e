// Liveness and readiness: /healthz answers while the process runs; /readyz
// only while Redis and the page queue answer (a load balancer then sends
// traffic elsewhere).
import { setTimeout as sleep } from 'node:timers/promises';
import { routePatterns } from '@crawlstream/shared';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { errorBody } from '../errors.js';

const READY_TIMEOUT_MS = 1_000;

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  const timeout = new AbortController();
  return Promise.race([
    work.finally(() => timeout.abort()),
    sleep(ms, undefined, { signal: timeout.signal }).then(() => Promise.reject(new Error('timeout'))),
  ]);
}

export async function healthRoutes(app: FastifyInstance, options: { ctx: ApiContext }): Promise<void> {
  const { ctx } = options;
  const hidden = { schema: { hide: true }, config: { rateLimit: false, auth: 'public' } } as const;
  app.get(routePatterns.healthz, hidden, async () => ({ status: 'ok' }));
  app.get(routePatterns.readyz, hidden, async (_request, reply) => {
    try {
      await within(Promise.all([ctx.redis.ping(), ...ctx.queues.queues.map((queue) => queue.count())]), READY_TIMEOUT_MS);
      return { status: 'ready' };
    } catch {
      return reply.code(503).send(errorBody('not_ready', 'Redis or the page queue does not answer'));
    }
  });
}
