// CrawlstreamClient: every route of the public API (DESIGN.md section 1) as a
// typed method, built on the shared route builders and checked against the
// shared schemas as clients read them (known fields checked, anything a newer
// server adds let through), with only what Node 20 and browsers both have
// (fetch, streams, AbortSignal).
import {
  type ClientCrawl,
  type ClientCrawlErrorItem,
  type ClientCrawlList,
  type ClientCrawlWithToken,
  type ClientPageResult,
  type ClientRejectedList,
  type ClientWebhookStatus,
  type CrawlOptionsInput,
  type CrawlStatus,
  clientCrawl,
  clientCrawlErrorList,
  clientCrawlList,
  clientCrawlWithToken,
  clientPageList,
  clientRejectedList,
  clientWebhookStatus,
  crawlPath,
  crawlsPath,
  errorsPath,
  llmsFullTxtPath,
  llmsTxtPath,
  markdownPath,
  pagesPath,
  rejectedPath,
  streamPath,
  type WebhookRequestInput,
  webhookPath,
  withQuery,
} from '@crawlstream/shared';
import type { z } from 'zod';
import type { ReconnectOptions } from './backoff.js';
import { CrawlstreamError, errorFromResponse, isAbortError } from './errors.js';
import { type EventsOptions, errorMessage, type StreamedEvent, streamEvents } from './event-stream.js';

export interface CrawlstreamClientOptions {
  /** Where the API listens, e.g. `http://127.0.0.1:3000` (a path prefix behind a proxy is kept). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` when the API has API_KEYS set. */
  apiKey?: string;
  /** A fetch to use instead of the global one (tests, proxies, retries). */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Default backoff of `events()`. */
  reconnect?: ReconnectOptions;
  /** Default idle timeout of `events()`, in ms (default 60000: four heartbeats of the default 15 s). */
  idleTimeoutMs?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface CreateCrawlOptions extends RequestOptions {
  /** The same key (per API key) returns the same crawl instead of starting another. */
  idempotencyKey?: string;
  /** Each event of the crawl's log POSTed to `url`, signed (verify with `verifyWebhook`); the server needs WEBHOOK_SECRET. */
  webhook?: WebhookRequestInput;
}

export interface ListCrawlsQuery extends RequestOptions {
  status?: CrawlStatus;
  /** 1 to 100 (the API's default is 20). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface PagesOptions extends RequestOptions {
  /** Pages per request, 1 to 100. */
  limit?: number;
}

export interface RejectedQuery extends RequestOptions {
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** 1 to 100 (the API's default is 20). */
  limit?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
/** Errors asked for per request (the most /errors gives). */
const ERRORS_PER_REQUEST = 100;

export class CrawlstreamClient {
  readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly extraHeaders: Record<string, string>;
  private readonly reconnect: ReconnectOptions;
  private readonly idleTimeoutMs: number;

  constructor(options: CrawlstreamClientOptions) {
    const base = URL.parse(options.baseUrl);
    if (!base || (base.protocol !== 'http:' && base.protocol !== 'https:')) {
      throw new TypeError(`baseUrl must be an http(s) URL (got ${JSON.stringify(options.baseUrl)})`);
    }
    this.baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
    this.apiKey = options.apiKey;
    // Called through a wrapper: a browser's fetch must not be called as a method of another object.
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.extraHeaders = { ...options.headers };
    this.reconnect = { ...options.reconnect };
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** Starts a crawl (201), or returns the crawl an `idempotencyKey` already started (200). */
  createCrawl(url: string, options?: CrawlOptionsInput, request: CreateCrawlOptions = {}): Promise<ClientCrawlWithToken> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (request.idempotencyKey !== undefined) headers['idempotency-key'] = request.idempotencyKey;
    const body = JSON.stringify({ url, ...(options === undefined ? {} : { options }), ...(request.webhook ? { webhook: request.webhook } : {}) });
    return this.json('POST', crawlsPath(), clientCrawlWithToken, { headers, body, signal: request.signal }, [200, 201]);
  }

  /** Where the delivery of a crawl's webhook stands; a 404 `not_found` error for a crawl without one. */
  getWebhook(id: string, request: RequestOptions = {}): Promise<ClientWebhookStatus> {
    return this.json('GET', webhookPath(id), clientWebhookStatus, { signal: request.signal });
  }

  getCrawl(id: string, request: RequestOptions = {}): Promise<ClientCrawlWithToken> {
    return this.json('GET', crawlPath(id), clientCrawlWithToken, { signal: request.signal });
  }

  /** One page of crawls, newest first; pass `nextCursor` back as `cursor` for the next. */
  listCrawls(query: ListCrawlsQuery = {}): Promise<ClientCrawlList> {
    const { status, limit, cursor, signal } = query;
    return this.json('GET', withQuery(crawlsPath(), { status, limit, cursor }), clientCrawlList, { signal });
  }

  /** Cancels a crawl (idempotent); a completed or failed crawl is a 409 `already_finished` error. */
  cancelCrawl(id: string, request: RequestOptions = {}): Promise<ClientCrawl> {
    return this.json('DELETE', crawlPath(id), clientCrawl, { signal: request.signal });
  }

  /** Every stored page, in the order they were stored, fetched a page of results at a time. */
  async *pages(id: string, options: PagesOptions = {}): AsyncGenerator<ClientPageResult, void, undefined> {
    let cursor: string | undefined;
    for (;;) {
      const path = withQuery(pagesPath(id), { cursor, limit: options.limit });
      const page = await this.json('GET', path, clientPageList, { signal: options.signal });
      yield* page.items;
      if (page.nextCursor === null) return;
      if (page.nextCursor === cursor) {
        throw new CrawlstreamError(200, 'invalid_response', `the pages cursor did not move (${cursor})`);
      }
      cursor = page.nextCursor;
    }
  }

  /** Every stored page in one markdown document. */
  async markdown(id: string, request: RequestOptions = {}): Promise<string> {
    const response = await this.markdownResponse(id, request);
    return response.text();
  }

  /** The markdown document as a byte stream, for documents too large to hold. */
  async markdownStream(id: string, request: RequestOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const response = await this.markdownResponse(id, request);
    if (!response.body) throw new CrawlstreamError(response.status, 'invalid_response', 'the markdown answer has no body');
    return response.body;
  }

  /** The crawl's llms.txt (https://llmstxt.org): an index of the stored pages by section. */
  async llmsTxt(id: string, request: RequestOptions = {}): Promise<string> {
    const response = await this.textResponse(llmsTxtPath(id), 'llms.txt', request);
    return response.text();
  }

  /** The crawl's llms-full.txt: every stored page in one markdown document. */
  async llmsFullTxt(id: string, request: RequestOptions = {}): Promise<string> {
    const response = await this.textResponse(llmsFullTxtPath(id), 'llms-full.txt', request);
    return response.text();
  }

  /** llms-full.txt as a byte stream, for sites too large to hold (the API streams it too). */
  async llmsFullTxtStream(id: string, request: RequestOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const response = await this.textResponse(llmsFullTxtPath(id), 'llms-full.txt', request);
    if (!response.body) throw new CrawlstreamError(response.status, 'invalid_response', 'the llms-full.txt answer has no body');
    return response.body;
  }

  /** Every page that failed or was skipped, in the order they were settled, fetched a page of results at a time. */
  async errors(id: string, request: RequestOptions = {}): Promise<ClientCrawlErrorItem[]> {
    const items: ClientCrawlErrorItem[] = [];
    let cursor: string | undefined;
    for (;;) {
      const path = withQuery(errorsPath(id), { cursor, limit: ERRORS_PER_REQUEST });
      const list = await this.json('GET', path, clientCrawlErrorList, { signal: request.signal });
      items.push(...list.items);
      // A server from before pagination sends every error at once, without nextCursor.
      if (list.nextCursor === null || list.nextCursor === undefined) return items;
      if (list.nextCursor === cursor) {
        throw new CrawlstreamError(200, 'invalid_response', `the errors cursor did not move (${cursor})`);
      }
      cursor = list.nextCursor;
    }
  }

  /**
   * One page of the links the crawl found but did not take, with why and the
   * page they were found on (`nextCursor` null on the last page).
   */
  async rejected(id: string, query: RejectedQuery = {}): Promise<ClientRejectedList> {
    const path = withQuery(rejectedPath(id), { cursor: query.cursor, limit: query.limit });
    return this.json('GET', path, clientRejectedList, { signal: query.signal });
  }

  /**
   * The crawl's events, each exactly once and in order, across reconnects;
   * ends after the terminal event (or a snapshot of a finished crawl, or a
   * 204). Events of a type this client does not know are skipped (see
   * `onSkip`). Throws CrawlstreamError on 400/401/403/404 and on an event
   * that breaks the contract; network errors, 5xx and 429 are retried with
   * backoff (see `reconnect.maxAttempts`).
   */
  events(id: string, options: EventsOptions = {}): AsyncGenerator<StreamedEvent, void, undefined> {
    return streamEvents(
      {
        fetch: this.fetchImpl,
        url: (crawlId, token, include) =>
          this.url(withQuery(streamPath(crawlId), { token, include: include && include.length > 0 ? include.join(',') : undefined })),
        headers: () => this.headers(),
        reconnect: this.reconnect,
        idleTimeoutMs: this.idleTimeoutMs,
      },
      id,
      options,
    );
  }

  private url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { ...this.extraHeaders, ...extra };
    if (this.apiKey !== undefined) headers.authorization = `Bearer ${this.apiKey}`;
    return headers;
  }

  /** One request; a non-2xx answer becomes a CrawlstreamError, a network failure one with status 0. */
  private async send(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string; signal?: AbortSignal | undefined },
  ): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path), {
        method,
        headers: this.headers({ accept: 'application/json', ...init.headers }),
        ...(init.body !== undefined ? { body: init.body } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
      });
    } catch (error) {
      if (isAbortError(error)) throw error;
      throw new CrawlstreamError(0, 'network_error', `${method} ${path}: ${errorMessage(error)}`, { cause: error });
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  private async json<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    init: { headers?: Record<string, string>; body?: string; signal?: AbortSignal | undefined },
    statuses: readonly number[] = [200],
  ): Promise<z.output<S>> {
    const response = await this.send(method, path, init);
    const text = await response.text();
    if (!statuses.includes(response.status)) {
      throw new CrawlstreamError(response.status, 'invalid_response', `${method} ${path} answered ${response.status}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CrawlstreamError(response.status, 'invalid_response', `${method} ${path} did not answer JSON`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new CrawlstreamError(response.status, 'invalid_response', `${method} ${path}: the answer does not match the contract`, {
        details: parsed.error.issues,
      });
    }
    return parsed.data;
  }

  /** A 200 text/plain (or text/markdown) answer, its body unread. */
  private async textResponse(path: string, what: string, request: RequestOptions): Promise<Response> {
    const response = await this.send('GET', path, {
      headers: { accept: 'text/plain, text/markdown' },
      signal: request.signal,
    });
    const type = response.headers.get('content-type') ?? '';
    if (response.status !== 200 || !(type.startsWith('text/plain') || type.startsWith('text/markdown'))) {
      await response.body?.cancel();
      throw new CrawlstreamError(response.status, 'invalid_response', `the ${what} answer is ${response.status} ${type}`);
    }
    return response;
  }

  private async markdownResponse(id: string, request: RequestOptions): Promise<Response> {
    const response = await this.send('GET', markdownPath(id), {
      headers: { accept: 'text/markdown' },
      signal: request.signal,
    });
    const type = response.headers.get('content-type') ?? '';
    if (response.status !== 200 || !type.startsWith('text/markdown')) {
      await response.body?.cancel();
      throw new CrawlstreamError(response.status, 'invalid_response', `the markdown answer is ${response.status} ${type}`);
    }
    return response;
  }
}
