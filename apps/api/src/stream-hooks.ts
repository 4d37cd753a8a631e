// The stream gateway hooks (docs/stream.md, "Gateway hooks"): the connect
// hook, asked before a stream's response head is sent, whose answer decides
// whether the stream opens; and the disconnect notices, posted fire and
// forget when a stream closes, from a bounded queue that never delays a
// close. Both go only to the operator's URLs (STREAM_CONNECT_URL,
// STREAM_DISCONNECT_URL): no user input picks a destination, so no SSRF guard.
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  apiError,
  backoffDelay,
  parseRetryAfter,
  STREAM_DISCONNECT_ATTEMPTS,
  STREAM_DISCONNECT_CONCURRENCY,
  STREAM_DISCONNECT_QUEUE_MAX,
  STREAM_DISCONNECT_TIMEOUT_MS,
  STREAM_HOOK_BODY_MAX_BYTES,
} from '@crawlstream/shared';
import { Agent, request } from 'undici';
import { ApiError, type ErrorCode, errorBody, RelayedRefusal } from './errors.js';
import type { ApiMetrics } from './plugins/metrics.js';

/** Why a stream closed, as a disconnect notice says it. */
export type DisconnectReason = 'client' | 'ended' | 'shutdown' | 'slow' | 'error';

/** Whose stream: what both hooks are told. */
export interface StreamParty {
  crawlId: string;
  /** The owner the stream counts against: the API key's owner, or for a stream token the crawl's ('' with API_KEYS off). */
  owner: string;
  /** The client's address (through TRUST_PROXY). */
  address: string;
}

/** The client went away while the connect hook was asked: nothing opens, nothing is answered. */
export class StreamClientGone extends Error {
  constructor() {
    super('the client went away before its stream opened');
    this.name = 'StreamClientGone';
  }
}

/** Hop-by-hop headers (RFC 9110 section 7.6.1): they belong to the connection, not to the request. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * The client's request headers without hop-by-hop ones (and those its
 * Connection header names). Authorization and Cookie are kept: deciding who
 * the client is, is the gateway's job.
 */
export function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = new Set(HOP_BY_HOP);
  const connection = headers.connection;
  if (typeof connection === 'string') for (const name of connection.split(',')) named.add(name.trim().toLowerCase());
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !named.has(name)) out[name] = value;
  }
  return out;
}

/** The statuses of the connect hook that reach the client as they are, with the code used when the hook's body is not our error shape. */
const RELAYED: Readonly<Record<number, ErrorCode>> = { 401: 'unauthorized', 403: 'stream_refused', 404: 'not_found', 429: 'rate_limited' };

/** The body of a response, up to `max` bytes; null past it. */
async function boundedText(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The hook's JSON error body if it is of our shape; else one of ours for its status. */
function relayedBody(status: number, text: string | null) {
  if (text !== null) {
    try {
      const parsed = apiError.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    } catch {
      // Not JSON: wrapped below.
    }
  }
  return errorBody(RELAYED[status]!);
}

type Outcome = 'allowed' | 'refused' | 'timeout' | 'unavailable' | 'failed' | 'client_gone';

export class StreamHooks {
  /** Keep-alive connections to the gateway, apart from any other traffic. */
  private readonly agent = new Agent({ connections: 64 });
  private readonly queue: (StreamParty & { reason: DisconnectReason })[] = [];
  private inFlight = 0;
  private idle: (() => void)[] = [];
  /** Aborts the notices still being sent or waiting to retry when the API closes. */
  private readonly closing = new AbortController();

  constructor(
    private readonly connectUrl: string | null,
    private readonly connectTimeoutMs: number,
    private readonly disconnectUrl: string | null,
    private readonly metrics: ApiMetrics,
  ) {}

  get asksConnect(): boolean {
    return this.connectUrl !== null;
  }

  get notifiesDisconnect(): boolean {
    return this.disconnectUrl !== null;
  }

  /**
   * Asks the connect hook whether `party`'s stream may open. Resolves when
   * it may; throws the refusal to answer the client with (the hook's
   * 401/403/404/429, or 504, 503, 502), or StreamClientGone when `gone`
   * fired first.
   */
  async connect(party: StreamParty, headers: IncomingHttpHeaders, gone: AbortSignal): Promise<void> {
    const url = this.connectUrl;
    if (url === null) return;
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.connectTimeoutMs);
    const signal = AbortSignal.any([timeout, gone]);
    let outcome: Outcome = 'failed';
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...party, headers: forwardedHeaders(headers) }),
        signal,
      });
      const { statusCode } = response;
      if (statusCode >= 200 && statusCode < 300) {
        await response.body.dump();
        if (gone.aborted) throw new StreamClientGone();
        outcome = 'allowed';
        return;
      }
      if (RELAYED[statusCode] !== undefined) {
        const text = await boundedText(response.body, STREAM_HOOK_BODY_MAX_BYTES);
        const retryAfter = response.headers['retry-after'];
        const retryAfterMs = typeof retryAfter === 'string' ? parseRetryAfter(retryAfter) : undefined;
        throw new RelayedRefusal(
          statusCode,
          relayedBody(statusCode, text),
          retryAfterMs === undefined ? undefined : { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) },
        );
      }
      await response.body.dump();
      throw new ApiError('stream_hook_failed', undefined, { status: statusCode });
    } catch (error) {
      // Reading the body can be cut short by the same signals as the call.
      if (gone.aborted) {
        outcome = 'client_gone';
        throw new StreamClientGone();
      }
      if (error instanceof RelayedRefusal) {
        outcome = 'refused';
        throw error;
      }
      if (error instanceof ApiError) {
        outcome = 'failed';
        throw error;
      }
      if (timeout.aborted) {
        outcome = 'timeout';
        throw new ApiError('stream_hook_timeout', undefined, { timeoutMs: this.connectTimeoutMs });
      }
      outcome = 'unavailable';
      throw new ApiError('stream_hook_unavailable');
    } finally {
      this.metrics.connectHookDuration.observe((performance.now() - started) / 1000);
      this.metrics.connectHookOutcomes.inc({ outcome });
    }
  }

  /**
   * Queues a disconnect notice; never waits. Past STREAM_DISCONNECT_QUEUE_MAX
   * pending notices, the notice is dropped and counted.
   */
  disconnected(party: StreamParty, reason: DisconnectReason): void {
    if (this.disconnectUrl === null) return;
    if (this.queue.length >= STREAM_DISCONNECT_QUEUE_MAX || this.closing.signal.aborted) {
      this.metrics.disconnectNotices.inc({ outcome: 'dropped' });
      return;
    }
    this.queue.push({ crawlId: party.crawlId, owner: party.owner, address: party.address, reason });
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < STREAM_DISCONNECT_CONCURRENCY && this.queue.length > 0) {
      const notice = this.queue.shift()!;
      this.inFlight++;
      this.send(notice)
        .then((sent) => this.metrics.disconnectNotices.inc({ outcome: sent ? 'sent' : 'failed' }))
        .finally(() => {
          this.inFlight--;
          this.pump();
          if (this.inFlight === 0 && this.queue.length === 0) for (const resolve of this.idle.splice(0)) resolve();
        });
    }
  }

  /** One notice, tried up to STREAM_DISCONNECT_ATTEMPTS times; true once the hook answered 2xx. */
  private async send(notice: StreamParty & { reason: DisconnectReason }): Promise<boolean> {
    const body = JSON.stringify(notice);
    for (let attempt = 1; attempt <= STREAM_DISCONNECT_ATTEMPTS; attempt++) {
      let retryAfterMs: number | undefined;
      try {
        const response = await request(this.disconnectUrl!, {
          method: 'POST',
          dispatcher: this.agent,
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([AbortSignal.timeout(STREAM_DISCONNECT_TIMEOUT_MS), this.closing.signal]),
        });
        await response.body.dump();
        if (response.statusCode >= 200 && response.statusCode < 300) return true;
        const retryAfter = response.headers['retry-after'];
        retryAfterMs = typeof retryAfter === 'string' ? parseRetryAfter(retryAfter) : undefined;
      } catch {
        // Down or slow: retried below.
      }
      if (attempt === STREAM_DISCONNECT_ATTEMPTS || this.closing.signal.aborted) return false;
      try {
        await sleep(backoffDelay(attempt, retryAfterMs, { baseMs: 250, capMs: STREAM_DISCONNECT_TIMEOUT_MS, maxRetryAfterMs: STREAM_DISCONNECT_TIMEOUT_MS }), undefined, {
          signal: this.closing.signal,
        });
      } catch {
        return false;
      }
    }
    return false;
  }

  /**
   * Shutdown: waits at most `ms` for the pending notices (the streams closed
   * by the shutdown itself among them), then gives up on the rest.
   */
  async close(ms: number): Promise<void> {
    if (this.inFlight > 0 || this.queue.length > 0) {
      const drained = new Promise<void>((resolve) => this.idle.push(resolve));
      await Promise.race([drained, sleep(ms, undefined, { ref: false })]);
    }
    this.closing.abort();
    const left = this.queue.splice(0).length;
    if (left > 0) this.metrics.disconnectNotices.inc({ outcome: 'dropped' }, left);
    await this.agent.close().catch(() => undefined);
  }
}
