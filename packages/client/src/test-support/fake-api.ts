// A scripted stand-in for the API at the fetch level, for unit tests of the
// SDK's own logic (backoff, dedupe, validation): each request is answered by
// the next handler, and every request is recorded.
import { type Crawl, type CrawlEvent, crawlOptionsSchema } from '@crawlstream/shared';

export const CRAWL_ID = '0b7c6f1e-2a4d-4c8e-9f3a-5d6e7f8a9b0c';

export function crawlObject(overrides: Partial<Crawl> = {}): Crawl {
  return {
    id: CRAWL_ID,
    url: 'http://127.0.0.1:9/docs/',
    status: 'running',
    // Every option at its default.
    options: crawlOptionsSchema().parse({}),
    counters: { discovered: 1, processed: 0, failed: 0, skipped: 0 },
    createdAt: '2026-11-23T10:00:00.000Z',
    ...overrides,
  };
}

type EventBody<T extends CrawlEvent['type']> = Omit<Extract<CrawlEvent, { type: T }>, 'type' | 'crawlId' | 'ts'>;

/** One SSE frame as the API writes it. */
export function frame<T extends CrawlEvent['type']>(id: string, type: T, payload: EventBody<T>): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ type, crawlId: CRAWL_ID, ts: 1, ...payload })}\n\n`;
}

export const pageFrame = (n: number) =>
  frame(`1-${n}`, 'page', { url: `http://127.0.0.1:9/docs/p${n}`, title: `Page ${n}`, depth: 1, status: 200, bytes: 10, durationMs: 1 });

export const completedFrame = (n: number) =>
  frame(`1-${n}`, 'completed', { counters: { discovered: n, processed: n, failed: 0, skipped: 0 }, durationMs: 5 });

export interface Recorded {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export type Handler = (request: Recorded, signal: AbortSignal | undefined) => Response | Promise<Response>;

export function sse(chunks: string[], options: { retryMs?: number; hang?: boolean } = {}): Response {
  const encoder = new TextEncoder();
  const parts = [...(options.retryMs === undefined ? [] : [`retry: ${options.retryMs}\n\n`]), ...chunks];
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = parts.shift();
      if (next !== undefined) controller.enqueue(encoder.encode(next));
      else if (!options.hang) controller.close();
      else await new Promise(() => {});
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export function apiErrorResponse(status: number, code: string): Response {
  return json(status, { error: { code, message: `${code} happened` } });
}

export class FakeApi {
  readonly requests: Recorded[] = [];
  private readonly handlers: Handler[];

  constructor(handlers: Handler[]) {
    this.handlers = [...handlers];
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const request: Recorded = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers,
      body: typeof init?.body === 'string' ? init.body : undefined,
    };
    this.requests.push(request);
    const signal = init?.signal ?? undefined;
    signal?.throwIfAborted();
    const handler = this.handlers.shift();
    if (!handler) throw new TypeError('fetch failed (no more scripted answers)');
    const response = await handler(request, signal);
    if (!signal || !response.body) return response;
    // Like a real fetch: aborting the request errors its body.
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        const fail = () => {
          try {
            controller.error(signal.reason);
          } catch {
            // already closed
          }
        };
        signal.addEventListener('abort', fail, { once: true });
      },
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(error);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

/** One SSE frame of any type and payload, as a newer server might write it. */
export function rawFrame(id: string, type: string, payload: Record<string, unknown>): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ type, crawlId: CRAWL_ID, ts: 1, ...payload })}\n\n`;
}

/**
 * A crawl's stream from a newer server: an unknown option and field in the
 * snapshot, unknown event types, unknown fields on known events and unknown
 * failure and skip reasons. Ids 1-0 to 1-9; 1-2 and 1-8 are of unknown types.
 */
export function newerServerFrames(): string[] {
  const options = { ...crawlOptionsSchema().parse({}), renderJavaScript: true };
  const c = (n: number) => ({ discovered: 3, processed: n, failed: 0, skipped: 0, queued: 1 });
  return [
    rawFrame('1-0', 'snapshot', { ...crawlObject(), options, priority: 'high' }),
    rawFrame('1-1', 'started', { url: 'http://127.0.0.1:9/docs/', options }),
    rawFrame('1-2', 'screenshot', { url: 'http://127.0.0.1:9/docs/', png: 'iVBORw0KGgo=' }),
    rawFrame('1-3', 'discovered', { urls: ['http://127.0.0.1:9/docs/a', 'http://127.0.0.1:9/docs/b'], depth: 1, via: 'sitemap' }),
    rawFrame('1-4', 'page', { url: 'http://127.0.0.1:9/docs/', title: 'Docs', depth: 0, status: 200, bytes: 10, durationMs: 1, language: 'en' }),
    rawFrame('1-5', 'page_failed', { url: 'http://127.0.0.1:9/docs/a', reason: 'tls_handshake', message: 'bad certificate', attempts: 1 }),
    rawFrame('1-6', 'page_skipped', { url: 'http://127.0.0.1:9/docs/b', reason: 'duplicate_content' }),
    rawFrame('1-7', 'progress', { counters: { ...c(1), failed: 1, skipped: 1 }, pagesPerSecond: 2, etaMs: 0 }),
    rawFrame('1-8', 'paused', { reason: 'quota' }),
    rawFrame('1-9', 'completed', { counters: { ...c(1), failed: 1, skipped: 1 }, durationMs: 5, bytes: 10 }),
  ];
}
