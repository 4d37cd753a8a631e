// The crawl event stream as an async iterator: reads server-sent events from
// a fetch body (so it runs in Node and browsers, and can send headers an
// EventSource cannot), validates each one against the contract, drops any it
// has already delivered, skips (past) any of a type it does not know, and
// reconnects with backoff, resuming with Last-Event-ID, until the terminal
// event or a 204 says nothing more will come.
import {
  CLIENT_EVENT_TYPES,
  type ClientCrawlEvent,
  clientCrawlEvent,
  compareEventIds,
  isTerminalEvent,
  isTerminalStatus,
} from '@crawlstream/shared';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { DEFAULT_RECONNECT, type ReconnectOptions, reconnectDelay, sleep } from './backoff.js';
import { CrawlstreamError, errorFromResponse, isAbortError } from './errors.js';

/** One event of the stream with its SSE id (the cursor to resume after it). */
export interface StreamedEvent {
  id: string;
  event: ClientCrawlEvent;
}

/** An event of a type this client does not know (a newer server's): never delivered, but its id moves the cursor. */
export interface SkippedEvent {
  id: string;
  /** Its `event:` name. */
  skippedType: string;
}

export interface ReconnectInfo {
  /** Consecutive attempts without an event so far (1 for the first reconnect). */
  attempt: number;
  /** How long the iterator waits before this attempt. */
  delayMs: number;
  /** Why the last connection ended; undefined when the server ended it cleanly. */
  error?: CrawlstreamError;
  /** The cursor the next attempt resumes after. */
  lastEventId?: string;
}

/** What a stream can be asked to add to its events (`?include=`). */
export type StreamInclude = 'markdown';

export interface EventsOptions {
  /** Resume after this event id (`'0'`: every event from the first). Without it the stream starts with a `snapshot`. */
  lastEventId?: string;
  /** Stops the iterator; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The crawl's `streamToken` (sent as `?token=`), for a client that has no API key. */
  token?: string;
  /**
   * `['markdown']`: each `page` event also carries its stored page's `markdown`
   * (cut to keep the event within 64 KiB, then `truncated: true`); sent as `?include=markdown`.
   */
  include?: readonly StreamInclude[];
  /** Backoff for this stream (defaults: the client's). */
  reconnect?: ReconnectOptions;
  /** Longest silence on an open stream (not even a `: ping`) before it is treated as dead and reopened. */
  idleTimeoutMs?: number;
  /** Called before each reconnect, e.g. to show a connection state. */
  onReconnect?: (info: ReconnectInfo) => void;
  /** Called for each event of a type this client does not know (it is skipped, not delivered). */
  onSkip?: (skipped: SkippedEvent) => void;
}

export interface StreamTransport {
  fetch: typeof fetch;
  /** Absolute URL of the stream of `crawlId`, with the token and `include` if any. */
  url(crawlId: string, token?: string, include?: readonly StreamInclude[]): string;
  headers(): Record<string, string>;
  reconnect: ReconnectOptions;
  idleTimeoutMs: number;
}

function invalid(message: string, details?: unknown): CrawlstreamError {
  return new CrawlstreamError(200, 'invalid_response', message, { details });
}

/**
 * Turns one SSE message into a contract event, or throws `invalid_response`.
 * Additive changes never break a client: an event whose type this client does
 * not know comes back as a `SkippedEvent`, unknown fields are kept, unknown
 * reason codes are plain strings; the fields it knows are still checked.
 */
export function parseMessage(crawlId: string, message: EventSourceMessage): StreamedEvent | SkippedEvent {
  const { id, event: type, data } = message;
  if (!id) throw invalid(`stream event without an id (event: ${type ?? 'message'})`);
  if (type === undefined || !CLIENT_EVENT_TYPES.has(type)) return { id, skippedType: type ?? 'message' };
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw invalid(`stream event ${id} does not carry JSON`);
  }
  const parsed = clientCrawlEvent.safeParse(json);
  if (!parsed.success) throw invalid(`stream event ${id} does not match the contract`, parsed.error.issues);
  if (parsed.data.type !== type) throw invalid(`stream event ${id} is named ${type} but its data is ${parsed.data.type}`);
  if (parsed.data.crawlId !== crawlId) throw invalid(`stream event ${id} belongs to crawl ${parsed.data.crawlId}`);
  return { id, event: parsed.data };
}

/**
 * What to do with each event, across reconnects. Stored events (everything
 * but `snapshot` and `reset`) have strictly increasing ids, so one at or
 * before the newest delivered is a repeat and is dropped. `snapshot` and
 * `reset` are not stored: they carry the id of the newest stored event and
 * move the position there (after a `reset` possibly backwards, when the
 * cursor was unknown to the server).
 */
export class StreamPosition {
  /** What Last-Event-ID says on the next connection. */
  cursor: string | undefined;
  private newest: string | undefined;

  constructor(lastEventId?: string) {
    this.cursor = lastEventId;
    this.newest = lastEventId === '0' ? undefined : lastEventId;
  }

  /** 'deliver', 'drop' (a repeat), or 'end' (deliver, then nothing more will come). */
  accept(streamed: StreamedEvent): 'deliver' | 'drop' | 'end' {
    const { id, event } = streamed;
    if (event.type === 'reset' || event.type === 'snapshot') {
      this.newest = id;
      this.cursor = id;
      // A snapshot of a finished crawl is the last thing its stream sends.
      return event.type === 'snapshot' && isTerminalStatus(event.status) ? 'end' : 'deliver';
    }
    if (this.newest !== undefined && compareEventIds(id, this.newest) <= 0) return 'drop';
    this.newest = id;
    this.cursor = id;
    return isTerminalEvent(event.type) ? 'end' : 'deliver';
  }

  /** An event this client skips (unknown type): the cursor moves past it, so a reconnect does not replay it. */
  pass(id: string): boolean {
    if (this.newest !== undefined && compareEventIds(id, this.newest) <= 0) return false;
    this.newest = id;
    this.cursor = id;
    return true;
  }
}

/** Events read from one response body, a chunk's worth at a time. */
async function* readBody(
  body: ReadableStream<Uint8Array>,
  crawlId: string,
  onRetry: (ms: number) => void,
  onActivity: () => void,
): AsyncGenerator<(StreamedEvent | SkippedEvent)[]> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let batch: (StreamedEvent | SkippedEvent)[] = [];
  let failure: CrawlstreamError | undefined;
  const parser = createParser({
    onEvent: (message) => {
      if (failure) return;
      try {
        batch.push(parseMessage(crawlId, message));
      } catch (error) {
        failure = error as CrawlstreamError;
      }
    },
    onRetry,
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      onActivity();
      parser.feed(done ? decoder.decode() : decoder.decode(value, { stream: true }));
      if (batch.length > 0) {
        const out = batch;
        batch = [];
        yield out;
      }
      if (failure) throw failure;
      if (done) return;
    }
  } finally {
    reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** The iterator behind `CrawlstreamClient.events()`. */
export async function* streamEvents(
  transport: StreamTransport,
  crawlId: string,
  options: EventsOptions = {},
): AsyncGenerator<StreamedEvent, void, undefined> {
  const { signal } = options;
  const reconnect = { ...DEFAULT_RECONNECT, ...transport.reconnect, ...options.reconnect };
  const idleTimeoutMs = options.idleTimeoutMs ?? transport.idleTimeoutMs;
  const position = new StreamPosition(options.lastEventId);
  let serverRetryMs: number | undefined;
  let failures = 0;

  for (;;) {
    signal?.throwIfAborted();
    const connection = new AbortController();
    const onAbort = () => connection.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let idle = false;
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const armIdleTimer = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        idle = true;
        connection.abort();
      }, idleTimeoutMs);
    };
    let delivered = false;
    let failure: CrawlstreamError | undefined;
    try {
      const headers: Record<string, string> = { ...transport.headers(), accept: 'text/event-stream' };
      if (position.cursor !== undefined) headers['last-event-id'] = position.cursor;
      armIdleTimer();
      const response = await transport.fetch(transport.url(crawlId, options.token, options.include), {
        headers,
        signal: connection.signal,
        cache: 'no-store',
      });
      if (response.status === 204) return;
      if (!response.ok) {
        const error = await errorFromResponse(response);
        if (!error.retryable) throw error;
        failure = error;
      } else {
        const type = response.headers.get('content-type') ?? '';
        if (!type.startsWith('text/event-stream') || !response.body) {
          throw new CrawlstreamError(response.status, 'invalid_response', `the stream answered with ${type || 'no content type'}`);
        }
        const body = readBody(response.body, crawlId, (ms) => (serverRetryMs = ms), armIdleTimer);
        for await (const batch of body) {
          for (const streamed of batch) {
            if ('skippedType' in streamed) {
              if (!position.pass(streamed.id)) continue;
              // Progress all the same: a stream of only new event types is not a failing one.
              delivered = true;
              options.onSkip?.(streamed);
              continue;
            }
            const verdict = position.accept(streamed);
            if (verdict === 'drop') continue;
            delivered = true;
            // The consumer's time is not the server's silence.
            clearTimeout(idleTimer);
            yield streamed;
            if (verdict === 'end') return;
            armIdleTimer();
          }
        }
        // The server ended the stream before the terminal event (shutdown, a slow reader cut off): resume.
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof CrawlstreamError && !error.retryable) throw error;
      if (error instanceof CrawlstreamError) failure = error;
      else if (idle) failure = new CrawlstreamError(0, 'stream_timeout', `no data for ${idleTimeoutMs} ms`);
      else if (isAbortError(error)) throw error;
      else failure = new CrawlstreamError(0, 'network_error', errorMessage(error), { cause: error });
    } finally {
      clearTimeout(idleTimer);
      signal?.removeEventListener('abort', onAbort);
      connection.abort();
    }

    failures = delivered ? 1 : failures + 1;
    if (failures > reconnect.maxAttempts) {
      throw new CrawlstreamError(failure?.status ?? 0, 'too_many_retries', `gave up after ${reconnect.maxAttempts} attempts: ${failure?.message ?? 'the stream kept ending'}`, {
        cause: failure,
      });
    }
    const base = Math.min(serverRetryMs ?? reconnect.initialDelayMs, reconnect.maxDelayMs);
    const delayMs = reconnectDelay(failures, base, reconnect.maxDelayMs, Math.random, failure?.retryAfterMs);
    options.onReconnect?.({
      attempt: failures,
      delayMs,
      ...(failure ? { error: failure } : {}),
      ...(position.cursor !== undefined ? { lastEventId: position.cursor } : {}),
    });
    await sleep(delayMs, signal);
  }
}

/** A network error's message with its cause (undici puts ECONNREFUSED and friends there). */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause : undefined;
  const code = cause && 'code' in cause ? String(cause.code) : undefined;
  return cause ? `${error.message}: ${code ?? cause.message}` : error.message;
}
