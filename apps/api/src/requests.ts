// What every request gets, whether Fastify serves it or the stream route's
// lean path below Fastify does (routes/stream.ts): its id (a well-formed
// `x-request-id`, else a fresh UUID), the request-target length limit, the
// client address through the trusted proxies, and the request log lines.
// Plain functions of the raw request, so the two paths cannot drift apart:
// Fastify calls them through genReqId, an onRequest hook and its
// logController (RequestLogController), the lean path directly.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { MAX_REQUEST_TARGET_LENGTH } from '@crawlstream/shared';
import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { ApiError } from './errors.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Throws 414 `uri_too_long` for a request target (path and query) longer than MAX_REQUEST_TARGET_LENGTH. */
export function checkRequestTarget(request: IncomingMessage): void {
  if (request.url !== undefined && request.url.length > MAX_REQUEST_TARGET_LENGTH) throw new ApiError('uri_too_long');
}

/** Which hops may set X-Forwarded-For; Fastify gets the same function (its `trustProxy`). */
export type TrustProxy = (address: string, hop: number) => boolean;

export function trustProxyFn(setting: boolean | string[]): TrustProxy | false {
  if (setting === false) return false;
  if (setting === true) return () => true;
  return proxyAddr.compile(setting);
}

/** The client's address as Fastify's `request.ip` gives it. */
export function clientAddress(request: IncomingMessage, trust: TrustProxy | false): string | undefined {
  return trust ? proxyAddr(request, trust) : request.socket.remoteAddress;
}

/** Stream tokens travel in the query string: keep them out of the logs. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&]*/g, '$1[redacted]');
}

/** What a log line shows of a request: the logger's `req` serializer. */
export function loggedRequest(request: { method?: string | undefined; url?: string | undefined; ip?: string | undefined }) {
  return { method: request.method, url: redactUrl(request.url ?? ''), remoteAddress: request.ip };
}

/**
 * The line each request starts with. The request id comes from `log` (a
 * request's child logger) or as `reqId`: the same line, without a child
 * logger per line (a connect storm writes thousands of these a second).
 */
function logIncoming(log: FastifyBaseLogger, request: IncomingMessage, ip: string | undefined, reqId?: string): void {
  const req = { method: request.method, url: request.url, ip };
  log.info(reqId === undefined ? { req } : { reqId, req }, 'incoming request');
}

/** The line a request that was answered ends with (the request id as for logIncoming). */
function logCompleted(log: FastifyBaseLogger, statusCode: number, responseTime: number, reqId?: string): void {
  const res = { statusCode };
  log.info(reqId === undefined ? { res, responseTime } : { reqId, res, responseTime }, 'request completed');
}

/**
 * Fastify's request log lines, written by the functions above. A request
 * that errored mid-response keeps Fastify's own line (with the error).
 */
export class RequestLogController extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    logIncoming(request.log, request.raw, request.ip);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) super.requestCompleted(error, request, reply);
    else logCompleted(reply.log, reply.statusCode, reply.elapsedTime);
  }
}

/**
 * The same lines for a request served below Fastify. `log` is the app's
 * logger; a child with the request id is made only when a line is written.
 */
export class RequestLog {
  private readonly log: FastifyBaseLogger & { isLevelEnabled(level: string): boolean };

  constructor(
    log: FastifyBaseLogger,
    private readonly trust: TrustProxy | false,
  ) {
    // Fastify's logger is pino's.
    this.log = log as RequestLog['log'];
  }

  /** The request's own logger (as Fastify's `request.log`), made on demand. */
  of(id: string): FastifyBaseLogger {
    return this.log.child({ reqId: id });
  }

  /** The client's address through the trusted proxies, as Fastify's `request.ip`. */
  address(request: IncomingMessage): string | undefined {
    return clientAddress(request, this.trust);
  }

  incoming(request: IncomingMessage, id: string): void {
    if (this.log.isLevelEnabled('info')) logIncoming(this.log, request, this.address(request), id);
  }

  completed(id: string, statusCode: number, startedAt: number): void {
    if (this.log.isLevelEnabled('info')) logCompleted(this.log, statusCode, performance.now() - startedAt, id);
  }
}
