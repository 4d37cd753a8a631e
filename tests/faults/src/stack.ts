// One scenario's world: a private redis-server (AOF, fsync every second), the
// docs site, and the API and worker processes started on it; `close()` ends
// all of it. The crawl every timed scenario runs twice (without, then with
// the fault) is `CRAWL`: long enough on the site's latency for a fault to land
// at 30 % of it, short enough for the suite to fit in minutes.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RedisServer, type RedisServerOptions, startRedisServer } from '@crawlstream/redis-runner';
import type { CrawlOptionsInput } from '@crawlstream/shared';
import { Processes } from './processes.js';
import { type Site, type SiteOptions, startSite } from './site.js';

/** Pages of the timed crawl, and the site's latency per page. */
export const CRAWL_PAGES = 400;
export const SITE_LATENCY_MS = 80;
/** 8 pages in flight: 400 pages x 80 ms / 8 = about 4 s without a fault. */
export const CRAWL_OPTIONS: CrawlOptionsInput = { maxPages: CRAWL_PAGES, maxDepth: 5, concurrency: 8, useSitemap: false };

export type StartRedis = (options: RedisServerOptions) => Promise<RedisServer>;

export interface Stack {
  redis: RedisServer;
  site: Site;
  procs: Processes;
  close(): Promise<void>;
}

export async function openStack(startRedis: StartRedis = startRedisServer, site: Partial<SiteOptions> = {}): Promise<Stack> {
  const redis = await startRedis({ aof: true });
  const docs = await startSite({ ...site, pages: site.pages ?? CRAWL_PAGES, latencyMs: site.latencyMs ?? SITE_LATENCY_MS });
  const procs = new Processes();
  return {
    redis,
    site: docs,
    procs,
    async close() {
      await procs.killAll();
      await docs.close();
      await redis.stop();
    },
  };
}

/** `SHUTDOWN` sent as a client would (Redis saves and flushes its AOF, then exits). */
export function shutdownRedis(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('connect', () => socket.write('SHUTDOWN\r\n'));
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}

/**
 * What a power loss does to Redis with `appendfsync everysec`: the AOF as it
 * was `windowMs` ago (copied then), the writes since lost although they were
 * acknowledged. Copies the AOF directory, waits, kills Redis with SIGKILL,
 * puts the copy back and restarts on it. Returns the seconds Redis was down.
 */
export async function loseLastWrites(redis: RedisServer, windowMs: number): Promise<number> {
  const aofDir = join(redis.dir, 'appendonlydir');
  if (!existsSync(aofDir)) throw new Error(`no AOF directory in ${redis.dir}`);
  const copy = mkdtempSync(join(tmpdir(), 'crawlstream-aof-'));
  try {
    cpSync(aofDir, copy, { recursive: true });
    await sleep(windowMs);
    const down = Date.now();
    await redis.kill();
    rmSync(aofDir, { recursive: true, force: true });
    cpSync(copy, aofDir, { recursive: true });
    await redis.restart();
    return (Date.now() - down) / 1000;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Polls `probe` every `everyMs` until `stop()` is called; returns every distinct value it saw, in order. */
export function watch<T>(probe: () => Promise<T>, everyMs = 100): { stop(): Promise<T[]> } {
  const seen: T[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const value = await probe();
      if (seen.at(-1) !== value) seen.push(value);
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}
