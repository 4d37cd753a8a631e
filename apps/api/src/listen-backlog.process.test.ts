// LISTEN_BACKLOG reaches the kernel: dist/main.js listens with it, read back
// from the listening socket (`ss` shows a LISTEN socket's backlog as Send-Q).
// Without main.ts passing it to listen(), both cases read Node's 511.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startExtraRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { DEFAULT_API_SETTINGS } from './settings.js';
import { startApiProcess } from './test-support/api-process.js';

/** The backlog of the socket listening on `port`. */
function listenBacklog(port: number): number {
  const line = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' }).trim();
  return Number(line.split(/\s+/)[2]);
}

describe('main.js listen backlog', () => {
  it('listens with LISTEN_BACKLOG, and by default with 4096 capped by net.core.somaxconn', async () => {
    const redis = await startExtraRedis();
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    const set = await startApiProcess({ REDIS_URL: redis.url, LISTEN_BACKLOG: '1000' });
    expect(listenBacklog(set.port)).toBe(Math.min(1000, somaxconn));
    const byDefault = await startApiProcess({ REDIS_URL: redis.url });
    expect(listenBacklog(byDefault.port)).toBe(Math.min(DEFAULT_API_SETTINGS.listenBacklog, somaxconn));
    for (const api of [set, byDefault]) {
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
    }
  });
});
