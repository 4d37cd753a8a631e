// Test harness: real API instances listening on 127.0.0.1 (port 0) against
// the run's real Redis, a plain HTTP client, an SSE client that parses the
// wire format as it arrives (and can stop reading), and a stand-in for the
// worker that settles pages through the CrawlStore, as the worker does.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CrawlStore } from '@crawlstream/progress';
import { apiError, type Config, loadConfig } from '@crawlstream/shared';
import type { TestRedis } from '@crawlstream/testkit';
import type { FastifyInstance } from 'fastify';
import { afterAll } from 'vitest';
import { type AppOptions, buildApp } from '../app.js';

export const START = 'http://127.0.0.1:9/docs/';

export interface Api {
  app: FastifyInstance;
  base: string;
  port: number;
  store: CrawlStore;
}

const running = new Set<FastifyInstance>();
afterAll(async () => {
  await Promise.allSettled([...running].map((app) => app.close()));
  running.clear();
});

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ LOG_LEVEL: 'silent', ...env });
}

/** One API instance on `redis` (its prefix), listening on 127.0.0.1. */
export async function startApi(
  redis: TestRedis,
  options: { env?: Record<string, string> } & Omit<Partial<AppOptions>, 'config' | 'redisUrl' | 'prefix'> = {},
): Promise<Api> {
  const { env, ...rest } = options;
  const app = await buildApp({
    config: testConfig(env),
    redisUrl: redis.url,
    prefix: redis.prefix,
    settings: { rateLimitPerMinute: 100_000, ...rest.settings },
    ...rest,
  });
  running.add(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${port}`, port, store: app.crawlstream.store };
}

export async function stopApi(api: Api): Promise<void> {
  running.delete(api.app);
  await api.app.close();
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body (undefined when it is not JSON); tests parse it with the contract's schemas. */
  json: unknown;
}

/** The `code` of a JSON error body. */
export function errorCode(reply: Reply): string | undefined {
  const parsed = apiError.safeParse(reply.json);
  return parsed.success ? parsed.data.error.code : undefined;
}

/** One HTTP request with node:http (no pooling surprises), the body read whole. */
export function call(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown; raw?: string | Buffer; signal?: AbortSignal } = {},
): Promise<Reply> {
  const url = new URL(path, base);
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | Buffer | undefined = options.raw;
  if (options.body !== undefined) {
    payload = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: `${url.pathname}${url.search}`, headers, agent: false, signal: options.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface SseEvent {
  id: string;
  event: string;
  data: string;
}

/** An SSE connection parsed line by line as bytes arrive; it can stop reading (pause). */
export class SseClient {
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | null = null;
  /** Every line as received, in order (for the "first line" assertion). */
  readonly lines: string[] = [];
  bytes = 0;
  /** The body as received (kept for non-200 answers; a stream's first 64 KiB). */
  text = '';
  ended = false;
  readonly done: Promise<void>;
  private req: http.ClientRequest;
  private res: http.IncomingMessage | null = null;
  private buffer = '';
  private current: Partial<SseEvent> & { data?: string } = {};
  private listeners = new Set<() => void>();
  readonly opened: Promise<void>;

  constructor(base: string, path: string, headers: Record<string, string> = {}, signal?: AbortSignal) {
    const url = new URL(path, base);
    let resolveOpen!: () => void;
    let rejectOpen!: (error: Error) => void;
    this.opened = new Promise((resolve, reject) => {
      resolveOpen = resolve;
      rejectOpen = reject;
    });
    let resolveDone!: () => void;
    this.done = new Promise((resolve) => {
      resolveDone = resolve;
    });
    const finish = () => {
      if (this.ended) return;
      this.ended = true;
      this.notify();
      resolveDone();
    };
    this.req = http.get(
      { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers, agent: false, signal },
      (res) => {
        this.res = res;
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.feed(chunk));
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', finish);
        resolveOpen();
      },
    );
    this.req.on('error', (error) => {
      rejectOpen(error);
      finish();
    });
  }

  private feed(chunk: string): void {
    this.bytes += Buffer.byteLength(chunk);
    if (this.text.length < 65_536) this.text += chunk;
    this.buffer += chunk;
    for (;;) {
      const newline = this.buffer.indexOf('\n');
      if (newline < 0) break;
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      this.line(line);
    }
    this.notify();
  }

  private line(line: string): void {
    this.lines.push(line);
    if (line === '') {
      if (this.current.data !== undefined) {
        this.events.push({ id: this.current.id ?? '', event: this.current.event ?? 'message', data: this.current.data });
      }
      this.current = {};
      return;
    }
    if (line.startsWith(':')) {
      this.comments.push(line);
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') this.current.id = value;
    else if (field === 'event') this.current.event = value;
    else if (field === 'data') this.current.data = this.current.data === undefined ? value : `${this.current.data}\n${value}`;
    else if (field === 'retry') this.retry = Number(value);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once `predicate` holds (checked on every chunk), or rejects after `timeoutMs`. */
  waitFor(predicate: (client: SseClient) => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this)) {
          cleanup();
          resolve();
        } else if (this.ended) {
          cleanup();
          reject(new Error(`stream ended before ${what}; events: ${this.events.map((e) => e.event).join(',')}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; events: ${this.events.map((e) => e.event).join(',')}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  /** Stops reading: the kernel buffers fill, and the server's writes stop draining. */
  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.req.destroy();
    this.res?.destroy();
  }

  /** Ids of the events received, snapshot and reset included. */
  get ids(): string[] {
    return this.events.map((e) => e.id);
  }
}

/** `signal` aborts the request (and so the stream) wherever it is. */
export async function openStream(base: string, path: string, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<SseClient> {
  const client = new SseClient(base, path, headers, signal);
  await client.opened;
  return client;
}

/** Plays the worker: settles the start page with `links`, so they are claimed and dispatched. */
export async function settleStart(store: CrawlStore, id: string, links: string[], url: string = START) {
  return store.settle(id, {
    kind: 'processed',
    url,
    title: 'Start',
    depth: 0,
    status: 200,
    bytes: 100,
    durationMs: 5,
    markdown: '# Start\n\nHello.',
    links,
  });
}

export async function settlePage(store: CrawlStore, id: string, url: string, i: number) {
  return store.settle(id, {
    kind: 'processed',
    url,
    title: `Page ${i}`,
    depth: 1,
    status: 200,
    bytes: 10 + i,
    durationMs: 1,
    markdown: `Body of page ${i}.`,
  });
}

/** Plays a whole crawl: the start page with `n` links, each then settled (the last completes it). */
export async function playCrawl(store: CrawlStore, id: string, n: number, url: string = START): Promise<string[]> {
  const links = Array.from({ length: n }, (_, i) => `${url}p${i}`);
  await settleStart(store, id, links, url);
  for (const [i, link] of links.entries()) await settlePage(store, id, link, i);
  return links;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every stored event of a crawl, in order (what a reader from '0' must see). */
export async function storedEvents(store: CrawlStore, id: string): Promise<SseEvent[]> {
  return (await store.readAll(id)).map((frame) => ({ id: frame.id, event: frame.type, data: frame.data }));
}
