// The BullMQ queue board at /admin/queues (bull-board). Who may see it is
// checked by the auth plugin (with API_KEYS, the operator key only: the first).
// Without API_KEYS anyone who reaches the port may look, so the board is
// read-only: the queue adapter's read-only mode (no write buttons, its write
// routes 405) and, before any of its routes, every method but GET and HEAD
// refused with 403 board_read_only. With QUEUE_SHARDS above 1 every shard
// is a queue on the board, named after its BullMQ prefix (`{cs-queue-1-13}pages`);
// shards another process announces later join it within QUEUE_SHARDS_CHECK_MS.
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { PageQueue, PageQueues } from '@crawlstream/jobs';
import { apiError, QUEUE_SHARDS_CHECK_MS } from '@crawlstream/shared';
import type { FastifyInstance } from 'fastify';
import { ApiError, ERRORS, type ErrorCode, errorBody, replyWithError } from '../errors.js';
import { defaultRouteAuth } from './auth.js';

export const BOARD_PATH = '/admin/queues';

export interface BoardOptions {
  queues: PageQueues;
  readOnly: boolean;
  /** How often shards announced by other processes are looked for (QUEUE_SHARDS_CHECK_MS); tests only. */
  shardsCheckMs?: number;
}

export async function boardRoutes(app: FastifyInstance, options: BoardOptions): Promise<void> {
  const { readOnly } = options;
  // Every tenant's jobs: the operator key only (when API keys are on).
  defaultRouteAuth(app, 'operator');
  if (readOnly) {
    app.addHook('onRequest', async (request, reply) => {
      if (request.method === 'GET' || request.method === 'HEAD') return;
      return replyWithError(request, reply, new ApiError('board_read_only'));
    });
  }
  // bull-board answers its own refusals in a shape of its own ({error: {key}}): ours instead, the key kept as a detail.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode < 400 || typeof payload !== 'string') return payload;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      parsed = undefined;
    }
    if (apiError.safeParse(parsed).success) return payload;
    const status = reply.statusCode;
    const code: ErrorCode = status === 404 ? 'route_not_found' : status === 405 ? 'board_read_only' : status >= 500 ? 'internal_error' : 'bad_request';
    const key = (parsed as { error?: { key?: unknown } } | undefined)?.error?.key;
    const message = status === 404 ? 'No such queue or job' : ERRORS[code].message;
    reply.type('application/json; charset=utf-8');
    return JSON.stringify(errorBody(code, message, typeof key === 'string' ? { board: key } : undefined));
  });
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const { queues } = options;
  // One queue keeps the board's name it always had (`pages`); shards are told apart by their prefix.
  const adapter = (queue: PageQueue) =>
    new BullMQAdapter(queue, { readOnlyMode: readOnly, ...(queues.queues.length > 1 ? { prefix: queue.opts.prefix } : {}) });
  const board = createBullBoard({ queues: queues.queues.map(adapter), serverAdapter });
  await app.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });

  let checking: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    checking ??= queues
      .announce()
      .then((opened) => {
        for (const queue of opened) {
          queue.on('error', (error) => app.log.warn({ err: error }, 'page queue error'));
          board.addQueue(adapter(queue));
        }
      })
      // The queue's connection fails fast while Redis is away: the next tick tries again.
      .catch(() => {})
      .finally(() => {
        checking = undefined;
      });
  }, options.shardsCheckMs ?? QUEUE_SHARDS_CHECK_MS);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await checking;
  });
}
