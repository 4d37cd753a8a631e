// What every request gets, whether Fastify serves it or the stream route's
// lean path below Fastify does (routes/stream.ts): its id (a well-formed
// `x-request-id`, else a fresh UUID), the URL length limit, the client
// address through the trusted proxies, and the request log lines. One
// definition, so the two paths cannot drift apart.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import type { FastifyBaseLogger } from 'fastify';

export const MAX_URL_LENGTH = 8 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
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

/** What a log line shows of a request: the logger's `req` serializer, for a Fastify request or a raw one alike. */
export function loggedRequest(request: { method?: string | undefined; url?: string | undefined; ip?: string | undefined }) {
  return { method: request.method, url: redactUrl(request.url ?? ''), remoteAddress: request.ip };
}

/**
 * The log lines Fastify writes for each request it serves, written the same
 * way for a request served below it. `log` is the app's logger; a child with
 * the request id is made only when the line is written.
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
    if (!this.log.isLevelEnabled('info')) return;
    const req = { method: request.method, url: request.url, ip: this.address(request) };
    this.of(id).info({ req }, 'incoming request');
  }

  completed(id: string, statusCode: number, startedAt: number): void {
    if (!this.log.isLevelEnabled('info')) return;
    this.of(id).info({ res: { statusCode }, responseTime: performance.now() - startedAt }, 'request completed');
  }
}
