// Builds the Fastify server from a validated config; tests call this, `main`
// only adds listening and signals. Routes arrive with the API issue.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '@crawlstream/shared';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';

export interface AppOptions {
  config: Config;
  redisUrl: string;
}

export async function buildApp({ config, redisUrl }: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: config.LOG_LEVEL } });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on('error', (error) => app.log.warn({ err: error }, 'redis connection error'));
  app.addHook('onClose', async () => {
    redis.disconnect();
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await Promise.race([
        redis.ping(),
        sleep(1_000).then(() => Promise.reject(new Error('timeout'))),
      ]);
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ error: { code: 'not_ready', message: 'Redis does not answer' } });
    }
  });
  return app;
}
