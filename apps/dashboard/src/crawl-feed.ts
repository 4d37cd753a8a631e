// Follows one crawl's event stream for a view: opens it with the crawl's
// stream token when the API has keys, reports the connection state
// (connecting, live, reconnecting, ended), resumes after every disconnect
// from the newest event it handed over (the SDK's iterator does the
// reconnecting and Last-Event-ID; a new iterator after an expired token
// starts from the same cursor), and stops when the crawl ends or the view
// goes away.
import { CrawlstreamError, type StreamedEvent } from '@crawlstream/client';
import { type BackoffOptions, backoffDelay } from '@crawlstream/shared';
import type { DashboardApi } from './api.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'ended';

export interface FeedOptions {
  api: DashboardApi;
  crawlId: string;
  /** Resume after this event id; `'0'` replays the whole log; undefined starts with a `snapshot`. */
  from?: string | undefined;
  /** The crawl's stream token, if already known (POST and GET return one when the API has keys). */
  token?: string | undefined;
  onEvent(streamed: StreamedEvent): void;
  /** `detail` says why, for `reconnecting` and `ended`. */
  onState(state: ConnectionState, detail?: string): void;
}

export interface Feed {
  /** The cursor: the id of the newest event handed over (or skipped as of a type this dashboard does not know). */
  readonly cursor: string | undefined;
  stop(): void;
}

/** Token refreshes in a row that bring no event before the feed gives up. */
const MAX_TOKEN_REFRESHES = 3;

/** Waits while the API is away as a token is fetched: 1 s doubling up to 10 s, never immediate. */
const TOKEN_BACKOFF: BackoffOptions = { baseMs: 1_000, capMs: 10_000, jitter: 'equal', maxRetryAfterMs: 10_000 };

export function followCrawl(options: FeedOptions): Feed {
  const { api, crawlId } = options;
  const stop = new AbortController();
  let cursor = options.from;
  let token = options.token;
  let state: ConnectionState | undefined;

  const setState = (next: ConnectionState, detail?: string) => {
    if (stop.signal.aborted || (next === state && detail === undefined)) return;
    state = next;
    options.onState(next, detail);
  };

  async function run(): Promise<void> {
    let refreshes = 0;
    let waits = 0;
    setState('connecting');
    for (;;) {
      try {
        // With keys on, the stream needs a token; GET hands out a fresh one.
        if (token === undefined && api.apiKey) token = (await api.rest.getCrawl(crawlId, { signal: stop.signal })).streamToken;
        const stream = api.streamClient(() => setState('live'));
        const events = stream.events(crawlId, {
          signal: stop.signal,
          ...(cursor !== undefined ? { lastEventId: cursor } : {}),
          ...(token !== undefined ? { token } : {}),
          onReconnect: (info) => setState('reconnecting', info.error?.message ?? 'the server ended the stream'),
          // A newer server's event type: not shown, but not read again either.
          onSkip: (skipped) => {
            cursor = skipped.id;
          },
        });
        for await (const streamed of events) {
          refreshes = 0;
          waits = 0;
          cursor = streamed.id;
          options.onEvent(streamed);
        }
        setState('ended');
        return;
      } catch (error) {
        if (stop.signal.aborted) return;
        // An expired token: take a new one and go on from the same cursor.
        if (error instanceof CrawlstreamError && error.status === 401 && api.apiKey && token !== undefined && refreshes < MAX_TOKEN_REFRESHES) {
          refreshes++;
          token = undefined;
          setState('reconnecting', 'stream token expired: getting a new one');
          continue;
        }
        // The API is away while a token is fetched (the stream itself retries on its own).
        if (error instanceof CrawlstreamError && error.retryable) {
          waits++;
          setState('reconnecting', error.message);
          if (await pause(backoffDelay(waits, error.retryAfterMs, TOKEN_BACKOFF), stop.signal)) continue;
          return;
        }
        setState('ended', describeError(error));
        return;
      }
    }
  }

  void run();
  return {
    get cursor() {
      return cursor;
    },
    stop() {
      stop.abort();
    },
  };
}

/** Waits `ms`; false when the feed was stopped meanwhile. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(!signal.aborted), ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(false);
      },
      { once: true },
    );
  });
}

export function describeError(error: unknown): string {
  if (error instanceof CrawlstreamError) {
    if (error.status === 401) return 'unauthorized: set the API key (top right)';
    if (error.status === 404) return 'no such crawl (or it belongs to another API key)';
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
