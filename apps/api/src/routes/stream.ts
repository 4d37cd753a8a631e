// `GET /api/crawl-v2/:id/stream` (DESIGN.md section 2). The process's one
// StreamHub hands each connection a reader (a cursor, no Redis connection of
// its own); this route writes what the reader yields, pulls the next batch
// only after the last one was written and drained, sends `: ping` when a wait
// times out, ends the response after the terminal event, and releases the
// reader, timers and gauge on every way out. Shutdown ends every open stream
// cleanly, so clients resume on another instance.
import { setTimeout as sleep } from 'node:timers/promises';
import { type EventFrame, idTime, type LiveListener, type StreamReader } from '@crawlstream/progress';
import { apiError, isEventCursor, routePatterns, TERMINAL_STATUSES } from '@crawlstream/shared';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type ApiContext, visibleCrawlOwner } from '../context.js';
import { ApiError } from '../errors.js';
import { PING, SseWriter, type WriteResult } from '../sse.js';
import { crawlIdParams } from './params.js';

export interface StreamRouteOptions {
  ctx: ApiContext;
  /** The `retry:` the stream announces (ms before an EventSource reconnects). */
  retryMs?: number;
}

/** Consecutive failed reads (Redis down) before a stream is ended; the client then resumes. */
const MAX_READ_FAILURES = 5;
const TERMINAL = new Set<string>(TERMINAL_STATUSES);

/** The cursor of a request: the Last-Event-ID header wins over `?lastEventId=`. */
function cursorOf(request: FastifyRequest, query: { lastEventId?: string | undefined }): string | undefined {
  const header = request.headers['last-event-id'];
  const raw = typeof header === 'string' && header.trim() !== '' ? header.trim() : query.lastEventId;
  if (raw === undefined) return undefined;
  if (!isEventCursor(raw)) throw new ApiError('invalid_last_event_id');
  return raw;
}

/** A snapshot of a crawl that has already ended: nothing will follow it. */
function isFinalSnapshot(frame: EventFrame): boolean {
  if (frame.type !== 'snapshot') return false;
  const { status } = JSON.parse(frame.data) as { status?: string };
  return status !== undefined && TERMINAL.has(status);
}

/**
 * One open SSE connection. Kept small on purpose (a process holds thousands):
 * no AbortController; closing the reader is what stops a pending wait.
 */
class StreamConnection implements LiveListener {
  private stopped = false;

  constructor(
    private readonly ctx: ApiContext,
    private readonly reader: StreamReader,
    private readonly writer: SseWriter,
    private readonly log: FastifyBaseLogger,
  ) {
    writer.res.once('close', () => this.stop());
    if (writer.isClosed) this.stop();
  }

  /** Ends the stream at the next step (client gone, or shutdown). */
  stop(): void {
    this.stopped = true;
    this.reader.close();
  }

  async run(): Promise<void> {
    const { config } = this.ctx;
    let failures = 0;
    for (;;) {
      let frames: EventFrame[] | null;
      try {
        frames = await this.reader.next(config.HEARTBEAT_MS);
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        failures++;
        this.log.warn({ err: error, failures }, 'stream read failed');
        if (failures >= MAX_READ_FAILURES) return;
        await sleep(Math.min(1000 * failures, config.HEARTBEAT_MS));
        if (this.stopped || (await this.writer.write([PING])) !== 'written') return;
        continue;
      }
      if (frames === null || this.stopped) return;
      let result = this.writer.write(frames.length === 0 ? [PING] : frames);
      if (typeof result !== 'string') result = await result;
      if (result !== 'written') return this.cutOffIfSlow(result);
      if (frames.length === 0) continue;
      this.noteDelivered(frames);
      if (isFinalSnapshot(frames[frames.length - 1]!)) return;
      if (this.reader.done) return;
      // Up to date and the socket keeps up: follow live, without a promise per event.
      const live = this.followLive();
      if (live === null) continue;
      const { pending } = await live;
      if (pending !== null) {
        const drained = await pending;
        if (drained !== 'written') return this.cutOffIfSlow(drained);
      }
      if (this.reader.done || this.stopped) return;
    }
  }

  // ---- live mode (LiveListener): the hub hands each new batch to receive()
  // synchronously and it is written at once. One object, no closures per
  // connection: a process holds thousands of these.
  private resolveLive: ((ended: { pending: Promise<WriteResult> | null }) => void) | null = null;
  private pending: Promise<WriteResult> | null = null;
  private idle: NodeJS.Timeout | null = null;

  /**
   * Resolves when live mode ends, with the pending write to wait for when the
   * socket pushed back (then pulling resumes, paced by drain), or null.
   */
  private followLive(): Promise<{ pending: Promise<WriteResult> | null }> | null {
    this.pending = null;
    if (!this.reader.attach(this)) return null;
    if (this.idle) this.idle.refresh();
    else this.idle = setTimeout(() => this.onIdle(), this.ctx.config.HEARTBEAT_MS);
    return new Promise((resolve) => {
      this.resolveLive = resolve;
    });
  }

  receive(frames: EventFrame[]): boolean {
    const ok = this.writeLive(frames);
    this.noteDelivered(frames);
    return ok;
  }

  liveEnded(): void {
    if (this.idle) clearTimeout(this.idle);
    const resolve = this.resolveLive;
    this.resolveLive = null;
    resolve?.({ pending: this.pending });
  }

  private onIdle(): void {
    if (this.resolveLive && !this.writeLive([PING])) this.reader.detach();
  }

  private writeLive(chunks: (EventFrame | string)[]): boolean {
    const result = this.writer.write(chunks);
    if (result === 'written') {
      this.idle?.refresh();
      return true;
    }
    this.pending = typeof result === 'string' ? Promise.resolve(result) : result;
    return false;
  }

  private noteDelivered(frames: readonly EventFrame[]): void {
    const { metrics } = this.ctx;
    const now = Date.now();
    for (const frame of frames) {
      metrics.noteDelivered(frame.type);
      if (frame.type !== 'snapshot' && frame.type !== 'reset') {
        metrics.deliveryLag.observe((now - idTime(frame.id)) / 1000);
      }
    }
  }

  private cutOffIfSlow(result: string = this.writer.isClosed ? 'closed' : 'slow'): void {
    if (result === 'slow') {
      this.ctx.metrics.streamsCutOff.inc({ reason: 'slow' });
      this.log.info('stream cut off: the client did not drain its socket in time');
    }
  }

  close(): void {
    this.stop();
    this.writer.end();
  }
}

async function streamRoutes(app: FastifyInstance, options: StreamRouteOptions): Promise<void> {
  const { ctx } = options;
  const retryMs = options.retryMs ?? 1000;
  const open = new Set<StreamConnection>();

  app.addHook('preClose', async () => {
    if (open.size > 0) ctx.metrics.streamsCutOff.inc({ reason: 'shutdown' }, open.size);
    for (const connection of open) connection.stop();
  });

  app.withTypeProvider<ZodTypeProvider>().get(
    routePatterns.stream,
    {
      config: { rateLimit: false },
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
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const cursor = cursorOf(request, request.query);
      if (request.owner === null) {
        // No key: only a stream token for this very crawl will do.
        const token = request.query.token;
        const owner = token ? await ctx.store.owner(id) : null;
        if (token === undefined || owner === null || !(await ctx.tokens.verify(token, id, owner))) {
          reply.header('www-authenticate', 'Bearer realm="crawlstream"');
          throw new ApiError('unauthorized');
        }
      } else if (ctx.keysEnabled) {
        await visibleCrawlOwner(ctx, id, request.owner);
      }

      const opened = await ctx.hub.open(id, cursor);
      if (opened.kind === 'missing') throw new ApiError('not_found');
      if (opened.kind === 'ended') {
        return reply.code(204).header('cache-control', 'no-cache, no-transform').send(null);
      }

      reply.hijack();
      const writer = new SseWriter(reply.raw, ctx.settings.streamDrainTimeoutMs);
      const connection = new StreamConnection(ctx, opened.reader, writer, request.log);
      open.add(connection);
      ctx.metrics.openStreams.inc();
      writer.start(retryMs, { 'x-request-id': String(request.id) });
      // The handler returns now; the connection runs on its own (one async
      // frame less per open stream).
      connection
        .run()
        .catch((error) => request.log.error({ err: error }, 'stream failed'))
        .finally(() => {
          connection.close();
          open.delete(connection);
          ctx.metrics.openStreams.dec();
        });
    },
  );
}

export { streamRoutes };
