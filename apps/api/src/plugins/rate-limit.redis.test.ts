// The rate-limit key behind a load balancer: with TRUST_PROXY set to the load
// balancer's one address (as docker-compose.yml does), the client is the last
// hop that proxy saw, so a client that rotates a spoofed X-Forwarded-For
// cannot escape its limit. Requests here come from 127.0.0.1, the "proxy".
import { readFileSync } from 'node:fs';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { loadApiSettings } from '../settings.js';
import { call, errorCode, openStream, startApi } from '../test-support/harness.js';

const LIMIT = 3;
const list = (base: string, forwardedFor: string) =>
  call(base, 'GET', '/api/crawl-v2', { headers: { 'x-forwarded-for': forwardedFor } });

describe('rate-limit exemptions', () => {
  // Each exempt route is asked LIMIT + 2 times: were it limited, the last
  // answers would be 429; were it counted, the budget left for /api/crawl-v2
  // afterwards would be gone before its LIMIT - 1 requests.
  it('streams (both paths), health, metrics, docs and the dashboard are neither limited nor counted; the rest is, at the limit and one past it', async () => {
    const settings = loadApiSettings({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    const api = await startApi(useRedis('rl-exempt'), { settings });
    // One of the LIMIT requests.
    const created = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: 'http://127.0.0.1:9/docs/' } });
    expect(created.status).toBe(201);
    const { id } = created.json as { id: string };
    const exempt = ['/healthz', '/readyz', '/metrics', '/docs', '/docs/ui/', '/'];
    for (let i = 0; i < LIMIT + 2; i++) {
      for (const path of exempt) expect((await call(api.base, 'GET', path)).status, path).toBe(200);
      for (const path of [`/api/crawl-v2/${id}/stream`, `/api/crawl-v2/${id}/stream?pad=%20`]) {
        const stream = await openStream(api.base, path);
        expect(stream.status, path).toBe(200);
        stream.close();
      }
    }
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT; i++) statuses.push((await list(api.base, '203.0.113.1')).status);
    expect(statuses).toEqual([...Array(LIMIT - 1).fill(200), 429]);
  });
});

describe('rate-limit key and X-Forwarded-For', () => {
  it('TRUST_PROXY=127.0.0.1: the key is the last hop; rotating the spoofed first address does not escape the limit', async () => {
    const settings = loadApiSettings({ TRUST_PROXY: '127.0.0.1', RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    const api = await startApi(useRedis('xff-trust'), { settings });
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await list(api.base, `203.0.113.${i}, 198.51.100.7`)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
    const limited = await list(api.base, '203.0.113.99, 198.51.100.7');
    expect(limited.status).toBe(429);
    expect(errorCode(limited)).toBe('rate_limited');
    // Another last hop is another client, with its own budget.
    expect((await list(api.base, '203.0.113.1, 198.51.100.8')).status).toBe(200);
  });

  it('TRUST_PROXY unset: the header is ignored, the key is the socket address', async () => {
    const settings = loadApiSettings({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    expect(settings.trustProxy).toBe(false);
    const api = await startApi(useRedis('xff-none'), { settings });
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) statuses.push((await list(api.base, `203.0.113.${i}, 198.51.100.${i}`)).status);
    expect(statuses).toEqual([...Array(LIMIT).fill(200), 429]);
  });

  it('docker-compose.yml trusts exactly the load balancer address, and nginx replaces X-Forwarded-For', () => {
    const compose = readFileSync(new URL('../../../../docker-compose.yml', import.meta.url), 'utf8');
    const nginx = readFileSync(new URL('../../../../deploy/nginx.conf', import.meta.url), 'utf8');
    const trusted = [...compose.matchAll(/^\s*TRUST_PROXY:\s*"?([^"\s#]+)"?/gm)].map((match) => match[1]);
    const lb = /^\s*ipv4_address:\s*([0-9.]+)/m.exec(compose)?.[1];
    expect(lb).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(trusted).toEqual([lb]);
    expect(loadApiSettings({ TRUST_PROXY: trusted[0] }).trustProxy).toEqual([lb]);
    expect(nginx).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(nginx).not.toMatch(/\$proxy_add_x_forwarded_for/);
  });
});
