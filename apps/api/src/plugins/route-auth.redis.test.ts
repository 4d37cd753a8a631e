// Which rule a request meets is its route's `config.auth`, never its URL: a
// route that names none needs a key wherever it lives (even under a path
// ending in /stream), a `public` one under /api needs none, and a request
// that matches no route gets its 404 without a key.
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { testConfig } from '../test-support/harness.js';

const KEY = 'route-auth-key-0123456789';

async function appWithRoutes() {
  const redis = useRedis('ra');
  const app = await buildApp({ config: testConfig({ API_KEYS: KEY }), redisUrl: redis.url, prefix: redis.prefix });
  app.get('/api/crawl-v2/open/public', { config: { auth: 'public' } }, async (request) => ({ owner: request.owner }));
  app.get('/elsewhere/stream', async (request) => ({ owner: request.owner }));
  app.get('/elsewhere/token', { config: { auth: 'stream' } }, async (request) => ({ owner: request.owner }));
  return app;
}

describe('route auth', () => {
  it('follows each route\'s config.auth (default: a key), not its URL', async () => {
    const app = await appWithRoutes();
    try {
      const open = await app.inject({ method: 'GET', url: '/api/crawl-v2/open/public' });
      expect(open.statusCode).toBe(200);
      expect(open.json()).toEqual({ owner: null });

      // No config, outside /api, named like the stream route: a key is needed all the same.
      const unnamed = await app.inject({ method: 'GET', url: '/elsewhere/stream' });
      expect(unnamed.statusCode).toBe(401);
      expect(unnamed.json().error.code).toBe('unauthorized');
      expect(unnamed.headers['www-authenticate']).toBe('Bearer realm="crawlstream"');
      const keyed = await app.inject({ method: 'GET', url: '/elsewhere/stream', headers: { authorization: `Bearer ${KEY}` } });
      expect(keyed.statusCode).toBe(200);

      // The stream rule lets a keyless request reach the route (which then checks its token).
      expect((await app.inject({ method: 'GET', url: '/elsewhere/token' })).json()).toEqual({ owner: null });

      // No route: 404, key or not.
      const missing = await app.inject({ method: 'GET', url: '/api/crawl-v2/no/such/route' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('route_not_found');

      // The service's own public routes.
      for (const url of ['/healthz', '/metrics', '/docs', '/docs/ui/', '/']) {
        expect((await app.inject({ method: 'GET', url })).statusCode, url).toBeLessThan(400);
      }
    } finally {
      await app.close();
    }
  });
});
