// `GET /api/crawl-v2/:id/stream` (DESIGN.md section 2). The process's one
// StreamHub hands each connection a reader (a cursor, no Redis connection of
// its own); a StreamConnection writes what the reader yields, pulls the next
// batch only after the last one was written and drained, follows live once up
// to date, sends `: ping` on an idle stream, ends the response after the
// terminal event, and releases the reader and gauge on every way out.
// Shutdown ends every open stream cleanly, so clients resume on another
// instance.
//
// A process holds thousands of open streams for minutes, so a plain stream
// request is served below Fastify's request lifecycle (Streams.serve, called
// by buildApp's server before Fastify routes anything): an open stream is one
// small object, not a Fastify request, reply and child logger with their
// closures and a suspended async frame. Anything else aimed at the route (an
// encoded or repeated query parameter, a body, HEAD, a request during
// shutdown) goes through Fastify, whose route declaration (which also
// documents the stream at /docs) ends in the same code. Each rule is one
// plain function of the raw request, called by Fastify's hooks and by the
// lean path alike, in the same order: request id and log line (requests.ts),
// request-target limit (requests.ts), owner by the route's `auth`
// (access.ts), then Streams.open (cursor, stream token or crawl owner, slot,
// reader). Both give the same statuses, JSON errors, headers and log lines.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type EventFrame, frameWithMarkdown, idTime, type LiveListener, type StreamReader } from '@crawlstream/progress';
import {
  API_BASE,
  apiError,
  backoffDelay,
  isCrawlId,
  isEventCursor,
  isTerminalStatus,
  routePatterns,
  STREAM_DISCONNECT_FLUSH_MS,
  STREAM_MARKDOWN_BATCH,
} from '@crawlstream/shared';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type RouteAuth, requestOwner, unauthorized } from '../access.js';
import type { ApiContext } from '../context.js';
import { ApiError, sendErrorRaw, toErrorResponse } from '../errors.js';
import { checkRequestTarget, type RequestLog, requestId } from '../requests.js';
import { PINGS, SseWriter, type WriteResult } from '../sse.js';
import { type DisconnectReason, StreamClientGone, StreamHooks, type StreamParty } from '../stream-hooks.js';
import { type StreamSlot, StreamSlots } from '../stream-slots.js';
import { crawlIdParams } from './params.js';

/** Consecutive failed reads (Redis down) before a stream is ended; the client then resumes. */
const MAX_READ_FAILURES = 5;
const NO_CACHE = 'no-cache, no-transform';

/** The cursor of a request: the Last-Event-ID header wins over `?lastEventId=`. */
function cursorOf(header: string | string[] | undefined, query: string | undefined): string | undefined {
  const raw = typeof header === 'string' && header.trim() !== '' ? header.trim() : query;
  if (raw === undefined) return undefined;
  if (!isEventCursor(raw)) throw new ApiError('invalid_last_event_id');
  return raw;
}

/** What `?include=` may name: extra fields joined into events at read time. */
const INCLUDES = ['markdown'] as const;
/** `?include=` as given: absent, or `markdown`; anything else is 400 `invalid_include`. */
function includeMarkdownOf(include: string | undefined): boolean {
  if (include === undefined) return false;
  if (!(INCLUDES as readonly string[]).includes(include)) throw new ApiError('invalid_include');
  return true;
}

/** A snapshot of a crawl that has already ended: nothing will follow it. */
function isFinalSnapshot(frame: EventFrame): boolean {
  if (frame.type !== 'snapshot') return false;
  const { status } = JSON.parse(frame.data) as { status?: string };
  return status !== undefined && isTerminalStatus(status);
}

/**
 * The append time of a frame. Every open stream notes the same frames one
 * after another, so remembering the last one spares a string slice per event
 * per stream.
 */
let lastFrame: EventFrame | null = null;
let lastAppendedAt = 0;
function appendedAt(frame: EventFrame): number {
  if (frame !== lastFrame) {
    lastFrame = frame;
    lastAppendedAt = idTime(frame.id);
  }
  return lastAppendedAt;
}

/** A stream that may start: its reader and its place in the per-key and per-address counts. */
interface OpenedStream {
  reader: StreamReader;
  slot: StreamSlot;
  /** With `?include=markdown`, the crawl whose stored pages' markdown page events carry; else null. */
  markdownOf: string | null;
  /** Whose stream, for the disconnect notice. */
  party: StreamParty;
  /** performance.now() when the stream was asked for: time to first event counts from here. */
  requestedAt: number;
}

/** What the client is asked for before its stream opens: its request headers, and its going away. */
interface StreamClient {
  headers: IncomingHttpHeaders;
  res: ServerResponse;
}

/** A signal that fires when `res` closes before its stream opened, and the way to stop listening. */
function goneSignal(res: ServerResponse): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onClose = () => controller.abort();
  if (res.destroyed || res.socket === null || res.socket.destroyed) controller.abort();
  else res.once('close', onClose);
  return { signal: controller.signal, release: () => res.off('close', onClose) };
}

/** What a stream request asks for, whichever path parsed it. */
interface StreamTarget {
  id: string;
  lastEventId: string | undefined;
  token: string | undefined;
  include: string | undefined;
}

/** The stream route's config; the lean path follows the same `auth` rule. */
const STREAM_ROUTE_CONFIG: { readonly rateLimit: false; readonly auth: RouteAuth } = { rateLimit: false, auth: 'stream' };

/**
 * May a request of `owner` (access.ts requestOwner, `stream` rule) with
 * `token` (`?token=`) watch crawl `id`, whose recorded owner is `crawlOwner`
 * (read by the hub's open, no call of its own)? Without a key only a stream
 * token for this very crawl will do (401); with one, another key's crawl is
 * answered as missing (404). Returns the owner the stream counts against: the
 * key's, or for a token the crawl's ('' with keys off).
 */
async function authorizeStream(ctx: ApiContext, id: string, owner: string | null, token: string | undefined, crawlOwner: string): Promise<string> {
  if (owner === null) {
    if (token === undefined || !(await ctx.tokens.verify(token, id, crawlOwner))) throw unauthorized();
    return crawlOwner;
  }
  if (ctx.apiKeys.enabled && crawlOwner !== owner) throw new ApiError('not_found');
  return owner;
}

const PATH_START = `${API_BASE}/`;
const PATH_END = '/stream';
/** A query that needs no decoding: its names and values read the same to Fastify's parser. */
const PLAIN_QUERY = /^[A-Za-z0-9._~=&-]*$/;

/**
 * The target of a stream request that the lean path can answer exactly as
 * Fastify would; null for anything else (Fastify then serves it).
 */
function plainStreamTarget(request: IncomingMessage): StreamTarget | null {
  const { url } = request;
  if (request.method !== 'GET' || url === undefined || !url.startsWith(PATH_START)) return null;
  // A GET with a body is Fastify's to parse (or refuse).
  if (request.headers['content-length'] !== undefined || request.headers['transfer-encoding'] !== undefined) return null;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  if (!path.endsWith(PATH_END)) return null;
  const id = path.slice(PATH_START.length, path.length - PATH_END.length);
  if (!isCrawlId(id)) return null;
  const target: StreamTarget = { id, lastEventId: undefined, token: undefined, include: undefined };
  if (q < 0) return target;
  const query = url.slice(q + 1);
  if (!PLAIN_QUERY.test(query)) return null;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (name !== 'lastEventId' && name !== 'token' && name !== 'include') continue;
    // Repeated, it is an array to Fastify: its validation error.
    if (target[name] !== undefined) return null;
    target[name] = eq < 0 ? '' : pair.slice(eq + 1);
  }
  return target;
}

/**
 * One open SSE connection: the response (SseWriter), the reader's cursor and
 * a few flags; one object, no closures of its own and, while it follows live
 * (the steady state), no pending promise. A process holds thousands.
 */
class StreamConnection extends SseWriter implements LiveListener {
  private stopped = false;
  private finished = false;
  /** Following live: the hub hands new frames to receive() synchronously. */
  live = false;
  /** The heartbeat epoch of the last write (see Streams.beat). */
  wroteAt: number;
  /** The write live mode ended on, when the socket pushed back. */
  private pending: Promise<WriteResult> | null = null;
  /** The client closed the connection before we ended it. */
  private clientGone = false;
  /** Cut off for not draining its socket in time. */
  private cutSlow = false;
  /** performance.now() of the request until the first event is written, then -1. */
  private requestedAt: number;

  constructor(
    private readonly streams: Streams,
    private readonly reader: StreamReader,
    /** Given back to Streams when this stream ends. */
    readonly slot: StreamSlot,
    res: ServerResponse,
    private readonly requestId: string,
    /** performance.now() at the request, when this path logs its completion (Fastify logs its own). */
    private readonly startedAt: number | null,
    /** With `?include=markdown`, the crawl id: such a stream never follows live (joining is a Redis read), it pulls. */
    private readonly markdownOf: string | null,
    /** Whose stream, for the disconnect notice. */
    private readonly party: StreamParty,
    requestedAt: number,
  ) {
    super(res, streams.ctx.settings.streamDrainTimeoutMs);
    this.wroteAt = streams.epoch;
    this.requestedAt = requestedAt;
  }

  override responseClosed(): void {
    if (!this.finished) this.clientGone = true;
    super.responseClosed();
    this.stop();
  }

  /** Ends the stream at the next step (client gone, or shutdown). */
  stop(): void {
    this.stopped = true;
    this.reader.close();
  }

  /** Pulls until the reader is up to date (then follows live) or the stream is over. */
  async pull(): Promise<void> {
    const { config } = this.streams.ctx;
    let failures = 0;
    for (;;) {
      let frames: EventFrame[] | null;
      try {
        frames = await this.reader.next(config.HEARTBEAT_MS);
        failures = 0;
      } catch (error) {
        if (this.stopped) return this.finish();
        failures++;
        this.streams.requests.of(this.requestId).warn({ err: error, failures }, 'stream read failed');
        if (failures >= MAX_READ_FAILURES) return this.finish('error');
        // The one backoff (jittered, so thousands of streams that failed together do not retry together).
        await sleep(backoffDelay(failures, undefined, { baseMs: 1000, capMs: config.HEARTBEAT_MS, jitter: 'equal' }));
        if (this.stopped || (await this.write(PINGS)) !== 'written') return this.finish();
        continue;
      }
      // null: the reader is done, or the hub closed under it (shutdown, told apart in finish).
      if (frames === null || this.stopped) return this.finish(!this.stopped && this.reader.done ? 'ended' : undefined);
      let result =
        this.markdownOf !== null && frames.length > 0
          ? this.writeWithMarkdown(this.markdownOf, frames)
          : this.write(frames.length === 0 ? PINGS : frames);
      if (typeof result !== 'string') result = await result;
      if (result !== 'written') return this.cutOff(result);
      this.wroteAt = this.streams.epoch;
      if (frames.length === 0) continue;
      this.noteDelivered(frames);
      if (isFinalSnapshot(frames[frames.length - 1]!) || this.reader.done) return this.finish('ended');
      // Up to date and the socket keeps up: follow live, with nothing pending.
      if (this.markdownOf === null && this.reader.attach(this)) {
        this.live = true;
        return;
      }
    }
  }

  /**
   * Writes frames with each page event's markdown joined in: one HMGET per
   * STREAM_MARKDOWN_BATCH page events, each batch (with the other events
   * around them) written and drained before the next is read. The event log
   * holds no markdown: it is read from the stored page.
   */
  private async writeWithMarkdown(crawlId: string, frames: EventFrame[]): Promise<WriteResult> {
    const { store } = this.streams.ctx;
    let from = 0;
    while (from < frames.length) {
      let to = from;
      const pages: EventFrame[] = [];
      for (; to < frames.length && pages.length < STREAM_MARKDOWN_BATCH; to++) if (frames[to]!.type === 'page') pages.push(frames[to]!);
      // The events after the batch's last page, up to the next page, go with it.
      while (to < frames.length && frames[to]!.type !== 'page') to++;
      const urls = pages.map((frame) => (JSON.parse(frame.data) as { url: string }).url);
      const markdowns = await store.pageMarkdowns(crawlId, urls);
      const joined = new Map(pages.map((frame, i) => [frame, frameWithMarkdown(frame, markdowns[i])]));
      const result = await this.write(frames.slice(from, to).map((frame) => joined.get(frame) ?? frame));
      if (result !== 'written') return result;
      from = to;
    }
    return 'written';
  }

  // ---- live mode (LiveListener)

  receive(frames: EventFrame[]): boolean {
    const ok = this.writeLive(frames);
    this.noteDelivered(frames);
    return ok;
  }

  liveEnded(): void {
    this.live = false;
    const pending = this.pending;
    this.pending = null;
    if (this.stopped || this.reader.done) this.finish(this.stopped ? undefined : 'ended');
    else this.run(pending);
  }

  /** A heartbeat while live (Streams.beat); a full socket ends live mode. */
  ping(): void {
    if (this.live && !this.writeLive(PINGS)) this.reader.detach();
  }

  private writeLive(chunks: readonly (EventFrame | string)[]): boolean {
    const result = this.write(chunks);
    if (result === 'written') {
      this.wroteAt = this.streams.epoch;
      return true;
    }
    this.pending = typeof result === 'string' ? Promise.resolve(result) : result;
    return false;
  }

  /** The socket pushed back while live: pull again once it drained. */
  private async resumeAfter(pending: Promise<WriteResult>): Promise<void> {
    const result = await pending;
    if (result !== 'written') return this.cutOff(result);
    if (this.stopped || this.reader.done) return this.finish(this.stopped ? undefined : 'ended');
    this.wroteAt = this.streams.epoch;
    return this.pull();
  }

  /** Starts (or resumes, after `pending` drained) pulling; whatever goes wrong ends this stream only. */
  run(pending: Promise<WriteResult> | null = null): void {
    (pending === null ? this.pull() : this.resumeAfter(pending)).catch((error) => {
      this.streams.requests.of(this.requestId).error({ err: error }, 'stream failed');
      this.finish('error');
    });
  }

  private noteDelivered(frames: readonly EventFrame[]): void {
    const { metrics } = this.streams.ctx;
    if (this.requestedAt >= 0 && frames.length > 0) {
      metrics.timeToFirstEvent.observe((performance.now() - this.requestedAt) / 1000);
      this.requestedAt = -1;
    }
    const now = Date.now();
    for (const frame of frames) {
      metrics.noteDelivered(frame.type);
      if (frame.type !== 'snapshot' && frame.type !== 'reset') {
        metrics.deliveryLag.observe((now - appendedAt(frame)) / 1000);
      }
    }
  }

  private cutOff(result: WriteResult): void {
    if (result === 'slow') {
      this.cutSlow = true;
      this.streams.ctx.metrics.streamsCutOff.inc({ reason: 'slow' });
      this.streams.requests.of(this.requestId).info('stream cut off: the client did not drain its socket in time');
    }
    this.finish();
  }

  /**
   * The one way out: releases the reader and the gauge, ends the response,
   * and queues the disconnect notice. `reason` is what the caller knows
   * (`ended`, `error`); shutdown and a slow reader's cut-off take precedence,
   * and a stream that ends for no reason of ours was closed by its client.
   */
  finish(reason?: DisconnectReason): void {
    if (this.finished) return;
    this.finished = true;
    this.live = false;
    this.stop();
    const ended = !this.isClosed;
    this.end();
    this.streams.closed(this);
    const why: DisconnectReason = this.streams.isClosing
      ? 'shutdown'
      : this.cutSlow
        ? 'slow'
        : (reason ?? (this.clientGone ? 'client' : this.reader.done ? 'ended' : 'client'));
    this.streams.hooks.disconnected(this.party, why);
    if (ended && this.startedAt !== null) this.streams.requests.completed(this.requestId, 200, this.startedAt);
  }
}

/** The open streams of this process, and how a stream request is answered. */
export class Streams {
  private readonly connections = new Set<StreamConnection>();
  private readonly slots: StreamSlots;
  private closing = false;
  /** The gateway hooks (STREAM_CONNECT_URL, STREAM_DISCONNECT_URL). */
  readonly hooks: StreamHooks;
  /** Heartbeat epochs: one process timer instead of one per connection. */
  epoch = 0;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    readonly ctx: ApiContext,
    readonly requests: RequestLog,
    /** The `retry:` the stream announces (ms before an EventSource reconnects). */
    private readonly retryMs: number,
  ) {
    this.slots = new StreamSlots(ctx.settings.streamMaxPerKey, ctx.settings.streamMaxPerAddress);
    const { settings } = ctx;
    this.hooks = new StreamHooks(settings.streamConnectUrl, settings.streamConnectTimeoutMs, settings.streamDisconnectUrl, ctx.metrics);
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /**
   * Serves a plain stream request below Fastify; false when `request` is not
   * one (or the server is closing), for Fastify to serve.
   */
  serve(request: IncomingMessage, res: ServerResponse): boolean {
    if (this.closing) return false;
    const target = plainStreamTarget(request);
    if (target === null) return false;
    const startedAt = performance.now();
    const id = requestId(request);
    this.requests.incoming(request, id);
    this.serveLean(request, res, target, id, startedAt).catch((error) => {
      if (error instanceof StreamClientGone) res.destroy();
      else if (!res.headersSent && !res.destroyed) sendErrorRaw(res, error, this.requests.of(id), { 'x-request-id': id });
      else res.destroy();
      this.requests.completed(id, res.statusCode, startedAt);
    });
    return true;
  }

  private async serveLean(request: IncomingMessage, res: ServerResponse, target: StreamTarget, id: string, startedAt: number) {
    // The same rules, in the same order, as Fastify's onRequest hooks (app.ts, plugins/auth.ts) and the route's handler.
    checkRequestTarget(request);
    const owner = requestOwner(this.ctx.apiKeys, STREAM_ROUTE_CONFIG.auth, request.headers.authorization);
    const opened = await this.open(target, request.headers['last-event-id'], owner, this.requests.address(request), { headers: request.headers, res });
    if (opened === null) {
      res.writeHead(204, { 'cache-control': NO_CACHE, 'x-request-id': id });
      res.end();
      this.requests.completed(id, 204, startedAt);
      return;
    }
    this.start(opened, res, id, startedAt);
  }

  /**
   * Checks a stream request, takes its slot (429 past a cap), opens its
   * reader and asks the connect hook; null when the cursor is past the end
   * (204, no hook asked: no stream opens). Counts the answer by status.
   */
  async open(
    target: StreamTarget,
    lastEventIdHeader: string | string[] | undefined,
    owner: string | null,
    address: string | undefined,
    client: StreamClient,
  ): Promise<OpenedStream | null> {
    try {
      const opened = await this.openStream(target, lastEventIdHeader, owner, address, client);
      if (opened === null) this.ctx.metrics.streamOpens.inc({ status: '204' });
      return opened;
    } catch (error) {
      this.ctx.metrics.streamOpens.inc({ status: error instanceof StreamClientGone ? 'gone' : String(toErrorResponse(error).status) });
      throw error;
    }
  }

  private async openStream(
    target: StreamTarget,
    lastEventIdHeader: string | string[] | undefined,
    owner: string | null,
    address: string | undefined,
    client: StreamClient,
  ): Promise<OpenedStream | null> {
    const requestedAt = performance.now();
    const cursor = cursorOf(lastEventIdHeader, target.lastEventId);
    const includeMarkdown = includeMarkdownOf(target.include);
    // Without a key only a token will do: refused before any Redis call.
    if (owner === null && target.token === undefined) throw unauthorized();
    // One read for the crawl, its owner and the cursor, shared by every reader opening it meanwhile (StreamHub.open).
    const opened = await this.ctx.hub.open(target.id, cursor);
    if (opened.kind === 'missing') throw owner === null ? unauthorized() : new ApiError('not_found');
    const reader = opened.kind === 'stream' ? opened.reader : null;
    try {
      const countedOwner = await authorizeStream(this.ctx, target.id, owner, target.token, opened.owner);
      if (reader === null) return null;
      const slot = this.slots.take(this.ctx.apiKeys.enabled ? countedOwner : null, address);
      const party: StreamParty = { crawlId: target.id, owner: countedOwner, address: address ?? '' };
      if (this.hooks.asksConnect) {
        // Before any byte of the answer; a client that leaves meanwhile gets nothing, and holds nothing.
        const gone = goneSignal(client.res);
        try {
          await this.hooks.connect(party, client.headers, gone.signal);
          if (gone.signal.aborted) throw new StreamClientGone();
        } catch (error) {
          this.slots.release(slot);
          throw error;
        } finally {
          gone.release();
        }
      }
      return { reader, slot, markdownOf: includeMarkdown ? target.id : null, party, requestedAt };
    } catch (error) {
      reader?.close();
      throw error;
    }
  }

  /** Sends the SSE head and runs the connection on its own. */
  start(opened: OpenedStream, res: ServerResponse, id: string, startedAt: number | null): void {
    const connection = new StreamConnection(this, opened.reader, opened.slot, res, id, startedAt, opened.markdownOf, opened.party, opened.requestedAt);
    this.connections.add(connection);
    this.ctx.metrics.openStreams.inc();
    this.ctx.metrics.streamOpens.inc({ status: '200' });
    if (this.heartbeat === null) {
      const every = Math.max(1, Math.floor(this.ctx.config.HEARTBEAT_MS / 2));
      this.heartbeat = setInterval(() => this.beat(), every);
      this.heartbeat.unref();
    }
    connection.start(this.retryMs, { 'x-request-id': id });
    if (this.closing || connection.isClosed) connection.finish();
    else connection.run();
  }

  /**
   * Every HEARTBEAT_MS/2: a ping to each live stream that wrote nothing
   * since the epoch before last, so an idle stream hears from us at least
   * every HEARTBEAT_MS. (A pulling stream's wait times out into a ping.)
   */
  private beat(): void {
    this.epoch++;
    const quiet = this.epoch - 2;
    for (const connection of this.connections) {
      if (connection.live && connection.wroteAt <= quiet) connection.ping();
    }
  }

  closed(connection: StreamConnection): void {
    if (!this.connections.delete(connection)) return;
    this.slots.release(connection.slot);
    this.ctx.metrics.openStreams.dec();
    if (this.connections.size === 0 && this.heartbeat !== null) {
      clearInterval(this.heartbeat);
      this.heartbeat = null;
    }
  }

  /** Shutdown: every open stream ends cleanly; new stream requests go to Fastify (503 while closing). */
  closeAll(): void {
    this.closing = true;
    if (this.connections.size > 0) this.ctx.metrics.streamsCutOff.inc({ reason: 'shutdown' }, this.connections.size);
    for (const connection of [...this.connections]) connection.stop();
  }
}

/** The route declaration: documentation at /docs, and Fastify's path to the same streams. */
export async function streamRoutes(app: FastifyInstance, options: { ctx: ApiContext; streams: Streams }): Promise<void> {
  const { streams } = options;

  app.addHook('preClose', async () => streams.closeAll());
  // The streams the shutdown closed are told to the disconnect hook before the process goes.
  app.addHook('onClose', async () => streams.hooks.close(STREAM_DISCONNECT_FLUSH_MS));

  app.withTypeProvider<ZodTypeProvider>().get(
    routePatterns.stream,
    {
      config: STREAM_ROUTE_CONFIG,
      // A HEAD would hold a hijacked connection open with nothing to send.
      exposeHeadRoute: false,
      schema: {
        summary: 'Watch a crawl: server-sent events',
        description:
          'WHATWG server-sent events (text/event-stream). First line `retry: <ms>`; every event has `id:`, `event:` and ' +
          '`data:` (one JSON line `{type, crawlId, ts, ...payload}`). Resume with the `Last-Event-ID` header or ' +
          '`?lastEventId=` (the header wins; `0` replays from the first event). Without a cursor the first event is ' +
          '`snapshot`. 204 when the cursor is at or past the terminal event. With API_KEYS set, authenticate with the ' +
          'Bearer header or with `?token=` (the `streamToken` of POST).',
        tags: ['crawls'],
        params: crawlIdParams,
        querystring: z.looseObject({
          lastEventId: z.string().optional().describe('Resume after this event id (the Last-Event-ID header wins)'),
          token: z.string().optional().describe('The streamToken returned by POST (for EventSource, which cannot send headers)'),
          include: z
            .string()
            .optional()
            .describe('`markdown`: each `page` event also carries the stored page\'s markdown (cut to keep the event within 64 KiB, then `truncated: true`); anything else is 400 invalid_include'),
        }),
        response: {
          200: {
            description: 'The event stream',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          204: z.null().describe('The cursor is at or past the terminal event: nothing more will come'),
          400: apiError,
          401: apiError,
          404: apiError,
          403: apiError.describe('The connect hook (STREAM_CONNECT_URL) refused the stream: its status and JSON error body'),
          429: apiError.describe('too_many_streams: a STREAM_MAX_PER_KEY or STREAM_MAX_PER_ADDRESS cap is reached (Retry-After); or the connect hook answered 429'),
          502: apiError.describe('stream_hook_failed: the connect hook answered a status other than 2xx, 401, 403, 404, 429'),
          503: apiError.describe('stream_hook_unavailable: the connect hook could not be reached'),
          504: apiError.describe('stream_hook_timeout: the connect hook did not answer within STREAM_CONNECT_TIMEOUT_MS'),
        },
      },
    },
    async (request, reply) => {
      const target = { id: request.params.id, lastEventId: request.query.lastEventId, token: request.query.token, include: request.query.include };
      let opened: OpenedStream | null;
      try {
        opened = await streams.open(target, request.headers['last-event-id'], request.owner, request.ip, { headers: request.headers, res: reply.raw });
      } catch (error) {
        if (!(error instanceof StreamClientGone)) throw error;
        reply.hijack();
        reply.raw.destroy();
        return;
      }
      if (opened === null) return reply.code(204).header('cache-control', NO_CACHE).send(null);
      reply.hijack();
      streams.start(opened, reply.raw, String(request.id), null);
    },
  );
}
