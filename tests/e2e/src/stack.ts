// The whole system in the test process, on 127.0.0.1: API instances built with
// `buildApp` on the run's real Redis (a prefix per file), a real crawl worker,
// and ground truth read straight from the crawl's event log. Everything
// started here is stopped after the file.
import type { AddressInfo, Socket } from 'node:net';
import { buildApp } from '@crawlstream/api';
import { CrawlStore, type EventFrame } from '@crawlstream/progress';
import { loadConfig } from '@crawlstream/shared';
import { type TestRedis, useRedis } from '@crawlstream/testkit';
import { type CrawlWorker, createCrawlWorker } from '@crawlstream/worker';
import { afterAll } from 'vitest';

export interface TestApi {
  base: string;
  port: number;
  app: Awaited<ReturnType<typeof buildApp>>;
  /** Destroys every open connection (streams included) without stopping the server. */
  dropConnections(): number;
  close(): Promise<void>;
}

export interface Stack {
  redis: TestRedis;
  store: CrawlStore;
  startApi(options?: { port?: number; env?: Record<string, string> }): Promise<TestApi>;
  startWorker(options?: { concurrency?: number; sweepEveryMs?: number; webhookSecret?: string }): Promise<CrawlWorker>;
  /** Every stored event of a crawl, in order: what a reader from '0' must see. */
  storedEvents(id: string): Promise<EventFrame[]>;
}

export function useStack(label: string): Stack {
  const redis = useRedis(label);
  const store = new CrawlStore({ redis: redis.connect(), prefix: redis.prefix });
  const apis = new Set<TestApi>();
  const workers = new Set<CrawlWorker>();

  afterAll(async () => {
    await Promise.allSettled([...apis].map((api) => api.close()));
    await Promise.allSettled([...workers].map((worker) => worker.close()));
  });

  return {
    redis,
    store,
    async startApi(options = {}) {
      const app = await buildApp({
        config: loadConfig({ LOG_LEVEL: 'silent', ...options.env }),
        redisUrl: redis.url,
        prefix: redis.prefix,
        settings: { rateLimitPerMinute: 0 },
        // Quick reconnects: the SDK takes the server's `retry:` as its first backoff step.
        streamRetryMs: 50,
      });
      const sockets = new Set<Socket>();
      app.server.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
      const { port } = app.server.address() as AddressInfo;
      let closed = false;
      const api: TestApi = {
        base: `http://127.0.0.1:${port}`,
        port,
        app,
        dropConnections() {
          const n = sockets.size;
          for (const socket of sockets) socket.destroy();
          return n;
        },
        async close() {
          if (closed) return;
          closed = true;
          apis.delete(api);
          await app.close();
        },
      };
      apis.add(api);
      return api;
    },
    async startWorker(options = {}) {
      const worker = await createCrawlWorker({
        redisUrl: redis.url,
        prefix: redis.prefix,
        concurrency: options.concurrency ?? 4,
        ...(options.sweepEveryMs ? { sweepEveryMs: options.sweepEveryMs } : {}),
        ...(options.webhookSecret ? { webhookSecret: options.webhookSecret, webhookRetryBaseMs: 50, webhookPollMs: 50 } : {}),
        ssrfAllow: ['127.0.0.1/32'],
        retryBaseMs: 50,
      });
      workers.add(worker);
      return worker;
    },
    storedEvents: (id) => store.readAll(id),
  };
}
