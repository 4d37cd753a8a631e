// The dashboard at `/` is the build buildApp is given (`dashboardDir`, which
// main.ts and the supervisor resolve); without one, or one without an
// index.html, `/` points at the API description instead.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useRedis } from '@crawlstream/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { call, startApi } from '../test-support/harness.js';

const build = mkdtempSync(join(tmpdir(), 'crawlstream-dashboard-'));
mkdirSync(join(build, 'assets'));
writeFileSync(join(build, 'index.html'), '<!doctype html><title>board</title><script src="/assets/app-1a2b.js"></script>');
writeFileSync(join(build, 'assets', 'app-1a2b.js'), 'console.log("board");');
const empty = mkdtempSync(join(tmpdir(), 'crawlstream-dashboard-empty-'));
afterAll(() => {
  rmSync(build, { recursive: true, force: true });
  rmSync(empty, { recursive: true, force: true });
});

describe('the dashboard directory', () => {
  it('is served from the directory given: index.html never cached, hashed assets for good', async () => {
    const api = await startApi(useRedis('db'), { dashboardDir: build });
    const page = await call(api.base, 'GET', '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<title>board</title>');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const asset = await call(api.base, 'GET', '/assets/app-1a2b.js');
    expect(asset.status).toBe(200);
    expect(asset.text).toBe('console.log("board");');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await call(api.base, 'GET', '/assets/nope.js');
    expect(missing.status).toBe(404);
  });

  it('none given, or one without index.html: a page pointing at /docs', async () => {
    const redis = useRedis('db2');
    for (const api of [await startApi(redis), await startApi(redis, { dashboardDir: empty })]) {
      const page = await call(api.base, 'GET', '/');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.text).toContain('<a href="/docs">/docs</a>');
      expect((await call(api.base, 'GET', '/assets/app-1a2b.js')).status).toBe(404);
    }
  });
});
