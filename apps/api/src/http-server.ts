// The one HTTP server both ways of serving a request answer on: the stream
// route's lean path (routes/stream.ts) and Fastify. buildApp hands it to
// Fastify as its serverFactory, so every limit of the server is set here, in
// one place, and none is copied from Fastify's options.
import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { ApiSettings } from './settings.js';

/**
 * How long an idle keep-alive connection is kept between requests: Fastify's
 * default, which the server had when Fastify made it (Node's own is 5 s).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;

type Timeouts = Pick<ApiSettings, 'httpHeadersTimeoutMs' | 'httpRequestTimeoutMs'>;

/**
 * The server's request deadlines. Node checks header and request deadlines
 * every `connectionsCheckingInterval` (30 s by default): a quarter of the
 * header timeout keeps a half-sent head from living much past it. Only
 * connections whose request is still arriving are checked, not open streams.
 */
export function httpServerOptions(settings: Timeouts): ServerOptions {
  return {
    headersTimeout: settings.httpHeadersTimeoutMs,
    requestTimeout: settings.httpRequestTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(settings.httpHeadersTimeoutMs / 4))),
  };
}

/**
 * The server, with every limit it has; `listener` decides who serves each request.
 *
 * Node expires a connection that has not sent a whole request head
 * (`httpHeadersTimeoutMs`, with a 408) by a periodic check, but `close()`
 * stops that check: a connection that had sent nothing yet (a browser's
 * preconnect) then kept `close()` (a SIGTERM's clean exit) waiting for ever.
 * Such connections are destroyed when the server closes.
 */
export function createHttpServer(settings: Timeouts, listener: RequestListener): Server {
  const server = createServer(httpServerOptions(settings), listener);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  const silent = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    silent.add(socket);
    socket.once('data', () => silent.delete(socket));
    socket.once('close', () => silent.delete(socket));
  });
  const close = server.close.bind(server);
  server.close = (callback?: (error?: Error) => void) => {
    for (const socket of silent) socket.destroy();
    return close(callback);
  };
  return server;
}
