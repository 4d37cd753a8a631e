// The catalogue of API errors: each code is the `code` of the JSON error body
// `{error: {code, message, details?}}`, with its HTTP status. Also the one
// error handler that turns anything thrown (ours, Fastify's, a plugin's, a
// validation failure, Redis being down) into that body: 4xx for bad input,
// never 5xx for it. The stream route answers its refusals on the raw
// response (below Fastify), through the same rendering.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ApiError as ApiErrorBody } from '@crawlstream/shared';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const ERRORS = {
  validation_failed: { status: 400, message: 'The request does not match the schema' },
  invalid_json: { status: 400, message: 'The body is not valid JSON' },
  invalid_id: { status: 400, message: 'Not a crawl id (a lowercase UUID v4)' },
  invalid_cursor: { status: 400, message: 'Not a valid cursor' },
  invalid_last_event_id: { status: 400, message: 'Last-Event-ID is not an event id' },
  invalid_include: { status: 400, message: 'include takes markdown (the only value)' },
  invalid_idempotency_key: {
    status: 400,
    message: 'Idempotency-Key must be 1 to 255 visible ASCII characters',
  },
  bad_request: { status: 400, message: 'Bad request' },
  unauthorized: { status: 401, message: 'A valid API key is required (Authorization: Bearer <key>)' },
  board_read_only: { status: 403, message: 'The queue board is read-only without API_KEYS; with them, only the operator key (the first) may act' },
  not_found: { status: 404, message: 'No such crawl' },
  route_not_found: { status: 404, message: 'No such route' },
  webhooks_disabled: { status: 400, message: 'This server delivers no webhooks (WEBHOOK_SECRET is not set)' },
  webhook_url_blocked: {
    status: 400,
    message: 'The webhook URL is a non-public address outside SSRF_ALLOW: it could never be delivered',
  },
  already_finished: { status: 409, message: 'The crawl has already finished' },
  payload_too_large: { status: 413, message: 'The body is too large' },
  uri_too_long: { status: 414, message: 'The URL is too long' },
  request_timeout: { status: 408, message: 'The request was not received in time (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS)' },
  unsupported_media_type: { status: 415, message: 'The body must be application/json' },
  idempotency_key_reused: {
    status: 422,
    message: 'This Idempotency-Key was used with a different request body',
  },
  rate_limited: { status: 429, message: 'Too many requests' },
  headers_too_large: { status: 431, message: 'The request headers are too large' },
  too_many_streams: { status: 429, message: 'Too many open streams; close one or retry later' },
  stream_refused: { status: 403, message: 'The stream gateway refused this stream' },
  internal_error: { status: 500, message: 'Internal error' },
  stream_hook_failed: { status: 502, message: 'The stream gateway answered with an error' },
  stream_hook_unavailable: { status: 503, message: 'The stream gateway does not answer; retry shortly' },
  stream_hook_timeout: { status: 504, message: 'The stream gateway did not answer in time' },
  unavailable: { status: 503, message: 'A backing service does not answer; retry shortly' },
  not_ready: { status: 503, message: 'Not ready' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string = ERRORS[code].message,
    readonly details?: unknown,
    /** Response headers that belong to the refusal (e.g. `www-authenticate` with a 401). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = ERRORS[code].status;
  }
}

export function errorBody(code: ErrorCode, message: string = ERRORS[code].message, details?: unknown): ApiErrorBody {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/**
 * A refusal decided elsewhere (the stream connect hook's 401/403/404/429),
 * relayed as given: its status, its JSON error body, its Retry-After.
 */
export class RelayedRefusal extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: ApiErrorBody,
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(body.error.message);
    this.name = 'RelayedRefusal';
  }
}

/** Fastify's own error codes for bad input, mapped to ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
  FST_ERR_VALIDATION: 'validation_failed',
};

/** Redis being unreachable is the service's trouble, not the client's: 503, so clients retry. */
function isUnavailable(error: Error): boolean {
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|enableOfflineQueue|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Reached the max retries/.test(
      error.message,
    )
  );
}

interface ValidationIssue {
  instancePath?: string;
  message?: string;
}

function validationDetails(error: FastifyError & { validation?: unknown; validationContext?: string }) {
  const issues = Array.isArray(error.validation) ? (error.validation as ValidationIssue[]) : [];
  return {
    in: error.validationContext,
    issues: issues.slice(0, 20).map((issue) => ({
      path: (issue.instancePath ?? '').split('/').filter((part) => part !== ''),
      message: issue.message ?? 'invalid',
    })),
  };
}

/** Renders any error as `{error: {code, message, details?}}` with the matching status. */
export function toErrorResponse(error: unknown): { status: number; body: ApiErrorBody } {
  if (error instanceof ApiError) {
    return { status: error.statusCode, body: errorBody(error.code, error.message, error.details) };
  }
  if (error instanceof RelayedRefusal) return { status: error.statusCode, body: error.body };
  const e = (error instanceof Error ? error : new Error(String(error))) as FastifyError & {
    validation?: unknown;
    validationContext?: string;
  };
  if (e.validation) {
    // A malformed crawl id in the path has its own code.
    if (e.validationContext === 'params') return { status: 400, body: errorBody('invalid_id') };
    return { status: 400, body: errorBody('validation_failed', undefined, validationDetails(e)) };
  }
  const mapped = e.code ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return { status: ERRORS[mapped].status, body: errorBody(mapped) };
  if (e instanceof SyntaxError) return { status: 400, body: errorBody('invalid_json') };
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status === 429) return { status, body: errorBody('rate_limited', e.message || undefined) };
  if (status >= 400 && status < 500) return { status, body: errorBody('bad_request', e.message || undefined) };
  if (isUnavailable(e)) return { status: 503, body: errorBody('unavailable') };
  return { status: 500, body: errorBody('internal_error') };
}

const JSON_TYPE = 'application/json; charset=utf-8';

function logError(log: FastifyBaseLogger, error: unknown, status: number, body: ApiErrorBody): void {
  if (status >= 500) log.error({ err: error }, 'request failed');
  else log.debug({ code: body.error.code }, 'request refused');
}

/**
 * Answers with the JSON error at once (also from a hook: `return replyWithError(…)`).
 * For routes whose plugin has an error handler of its own (the queue board's).
 */
export function replyWithError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  const { status, body } = toErrorResponse(error);
  logError(request.log, error, status, body);
  if ((error instanceof ApiError || error instanceof RelayedRefusal) && error.headers) reply.headers(error.headers);
  return reply.code(status).type(JSON_TYPE).send(body);
}

/**
 * The same answer as the error handler's, written on a raw response (the
 * stream route's lean path). `log` carries the request id.
 */
export function sendErrorRaw(
  res: ServerResponse,
  error: unknown,
  log: FastifyBaseLogger,
  headers: Readonly<Record<string, string>>,
): void {
  const { status, body } = toErrorResponse(error);
  logError(log, error, status, body);
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...(error instanceof ApiError || error instanceof RelayedRefusal ? error.headers : undefined),
    ...headers,
    'content-type': JSON_TYPE,
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/**
 * For Fastify's `clientErrorHandler`: a request Node could not parse (bytes
 * after a body it was not told about, a header past the size limit, a
 * timeout) gets the JSON error too, then the socket is closed, as Fastify's
 * own handler does.
 */
export function clientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : error.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : 'bad_request';
  const { status } = ERRORS[code];
  this.log.trace({ err: error }, 'client error');
  if (socket.writable) {
    const text = JSON.stringify(errorBody(code));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nContent-Type: ${JSON_TYPE}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}

/** Error, not-found and framework-error handlers, all speaking the one JSON error shape. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => replyWithError(request, reply, error));
  app.setNotFoundHandler((request, reply) => replyWithError(request, reply, new ApiError('route_not_found')));
}

/** For Fastify's `frameworkErrors` option (bad URL encoding and the like, before routing). */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  replyWithError(request, reply, error);
}
