import { loadConfig } from '@crawlstream/shared';
import { startExtraRedis, useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';

const config = loadConfig({ LOG_LEVEL: 'silent' });

describe('health', () => {
  it('/healthz answers while the process runs; /readyz when Redis answers', async () => {
    const app = await buildApp({ config, redisUrl: useRedis().url });
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    await app.close();
  });

  it('/readyz is 503 with a JSON error while Redis is down, and recovers', async () => {
    const redis = await startExtraRedis();
    const app = await buildApp({ config, redisUrl: redis.url });
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await redis.kill();
    const down = await app.inject({ method: 'GET', url: '/readyz' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({ error: { code: 'not_ready' } });
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await redis.restart();
    await expect
      .poll(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode, {
        timeout: 15_000,
      })
      .toBe(200);
    await app.close();
  });
});
