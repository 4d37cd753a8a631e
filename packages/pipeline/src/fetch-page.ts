// Fetching one URL: redirects followed by hand (each hop normalized and
// scope-checked), one deadline for the whole exchange, the body streamed and
// cut at maxBytes, and every way it can go wrong mapped to a FAILURE_REASONS
// or SKIP_REASONS code with whether a retry could help. Retrying is BullMQ's.
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, gunzipSync } from 'node:zlib';
import { type FAILURE_REASONS, parseRetryAfter, type SKIP_REASONS } from '@crawlstream/shared';
import { type Dispatcher, request } from 'undici';
import { charsetFromContentType, decodeBody } from './charset.js';
import { USER_AGENT } from './robots.js';
import { languageTag, validatorValue } from './metadata.js';
import { createSsrfGuard, SSRF_BLOCKED } from './ssrf.js';
import { normalizeUrl } from './url.js';

export type FailureReason = (typeof FAILURE_REASONS)[number];
export type SkipReason = (typeof SKIP_REASONS)[number];

export const MAX_REDIRECTS = 10;

export interface FetchOptions {
  /** Deadline for the whole exchange: every hop, headers and body. */
  timeoutMs: number;
  /** Largest body accepted, counted after decompression. */
  maxBytes: number;
  userAgent?: string;
  /** Defaults to an SSRF-guarded agent with an empty allow list, never the global one. */
  dispatcher?: Dispatcher;
  /** Asked about every redirect target; false skips the page (`redirect_out_of_scope`). */
  isInScope?: (url: string) => boolean;
  /**
   * Aborting it (the crawl was cancelled) skips the page (`cancelled`). Each
   * fetch adds one listener while it runs: a signal shared by many concurrent
   * fetches wants `events.setMaxListeners` raised by its owner.
   */
  signal?: AbortSignal;
  maxRedirects?: number;
  /**
   * Extra request headers for one hop's URL (a crawl's `headers`), asked
   * again for every redirect target: see headersForOrigins. They never
   * replace the fetcher's own (user-agent, accept, accept-encoding).
   */
  headersFor?: (url: string) => Readonly<Record<string, string>> | undefined;
}

/**
 * A `headersFor` that gives `headers` to URLs of the given origins only
 * (scheme, host and port: an https origin's headers never go to its http
 * twin), and nothing to any other, so a redirect or link to another origin
 * never carries them.
 */
export function headersForOrigins(
  origins: Iterable<string>,
  headers: Readonly<Record<string, string>>,
): (url: string) => Readonly<Record<string, string>> | undefined {
  const allowed = new Set(origins);
  return (url) => {
    const origin = URL.parse(url)?.origin;
    return origin !== undefined && allowed.has(origin) ? headers : undefined;
  };
}

interface Trace {
  /** The URL asked for, normalized when it could be. */
  url: string;
  /** The last URL requested (the redirect target that was refused, for a refused hop). */
  finalUrl: string;
  /** URLs that answered with a redirect, in order. */
  redirects: string[];
  durationMs: number;
}

export interface HtmlPage extends Trace {
  kind: 'html';
  status: number;
  html: string;
  /** Body size after decompression. */
  bytes: number;
  contentType: string;
  /** The response's Content-Language as a language tag (its first), when well formed (metadata.ts languageTag). */
  contentLanguage?: string;
  /** The response's ETag and Last-Modified, when printable and at most MAX_VALIDATOR_LENGTH characters. */
  etag?: string;
  lastModified?: string;
}

export interface TextDocument extends Trace {
  kind: 'text';
  status: number;
  text: string;
  bytes: number;
  contentType: string;
}

export interface FetchSkipped extends Trace {
  kind: 'skipped';
  reason: SkipReason;
  message: string;
  status?: number;
}

export interface FetchFailed extends Trace {
  kind: 'failed';
  reason: FailureReason;
  message: string;
  status?: number;
  retryable: boolean;
  retryAfterMs?: number;
}

export type FetchPageResult = HtmlPage | FetchSkipped | FetchFailed;
export type FetchTextResult = TextDocument | FetchSkipped | FetchFailed;

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);

/** Fetches an HTML page; any other content type is skipped as `not_html`. */
export async function fetchPage(url: string, options: FetchOptions): Promise<FetchPageResult> {
  const result = await retrieve(url, options, true);
  if (result.kind !== 'body') return result;
  const { bytes, contentType, headers, ...rest } = result;
  if (!isHtml(contentType, bytes)) {
    return { ...rest, kind: 'skipped', reason: 'not_html', message: 'not an HTML document' };
  }
  if (looksBinary(bytes, contentType)) {
    return { ...rest, kind: 'skipped', reason: 'not_html', message: 'binary content (NUL bytes) labelled as HTML' };
  }
  const { text } = decodeBody(bytes, contentType);
  return { ...rest, kind: 'html', html: text, bytes: bytes.length, contentType: contentType ?? '', ...pageHeaders(headers) };
}

/**
 * Fetches a text resource of any content type (robots.txt, sitemaps), with
 * the same guards. A gzip file (`sitemap.xml.gz`) is unpacked, within maxBytes.
 */
export async function fetchText(url: string, options: FetchOptions): Promise<FetchTextResult> {
  const result = await retrieve(url, options, false);
  if (result.kind !== 'body') return result;
  const { bytes: raw, contentType: declaredType, headers: _headers, ...rest } = result;
  let bytes = raw;
  let contentType = declaredType;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: options.maxBytes });
      contentType = null;
    } catch (error) {
      const tooLarge = error instanceof RangeError;
      return {
        ...rest,
        kind: 'failed',
        reason: tooLarge ? 'too_large' : 'connection',
        message: tooLarge ? `unpacked body exceeds ${options.maxBytes} bytes` : 'corrupt gzip file',
        retryable: false,
      };
    }
  }
  const { text } = decodeBody(bytes, contentType);
  return { ...rest, kind: 'text', text, bytes: bytes.length, contentType: contentType ?? '' };
}

interface Body extends Trace {
  kind: 'body';
  status: number;
  bytes: Buffer;
  contentType: string | null;
  headers: Record<string, string | string[] | undefined>;
}

/** What an HTML page keeps of its response headers, each only when usable. */
function pageHeaders(headers: Record<string, string | string[] | undefined>) {
  const contentLanguage = languageTag(header(headers, 'content-language'));
  const etag = validatorValue(header(headers, 'etag'));
  const lastModified = validatorValue(header(headers, 'last-modified'));
  return {
    ...(contentLanguage === undefined ? {} : { contentLanguage }),
    ...(etag === undefined ? {} : { etag }),
    ...(lastModified === undefined ? {} : { lastModified }),
  };
}

let defaultDispatcher: Dispatcher | undefined;
function guardedDefault(): Dispatcher {
  defaultDispatcher ??= createSsrfGuard([]).createAgent();
  return defaultDispatcher;
}

class TimeoutError extends Error {
  override name = 'TimeoutError';
}
class TooLargeError extends Error {
  override name = 'TooLargeError';
}
class DecodeError extends Error {
  override name = 'DecodeError';
}

async function retrieve(
  rawUrl: string,
  options: FetchOptions,
  htmlOnly: boolean,
): Promise<Body | FetchSkipped | FetchFailed> {
  const started = performance.now();
  const first = normalizeUrl(rawUrl);
  const trace = { url: first ?? rawUrl, finalUrl: first ?? rawUrl, redirects: [] as string[] };
  const done = () => ({ ...trace, durationMs: Math.round(performance.now() - started) });
  const failed = (
    reason: FailureReason,
    message: string,
    extra: Partial<FetchFailed> = {},
  ): FetchFailed => ({
    ...done(),
    kind: 'failed',
    reason,
    message,
    retryable: false,
    ...extra,
  });
  const skipped = (reason: SkipReason, message: string, status?: number): FetchSkipped => ({
    ...done(),
    kind: 'skipped',
    reason,
    message,
    ...(status === undefined ? {} : { status }),
  });

  if (!first) return failed('invalid_url', `not a fetchable http(s) URL: ${rawUrl}`);
  if (options.signal?.aborted) return skipped('cancelled', 'cancelled before the request');

  // One controller for every hop and the body: the deadline is for the whole exchange.
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new TimeoutError(`no complete response within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  const onCancel = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onCancel, { once: true });

  const maxRedirects = options.maxRedirects ?? MAX_REDIRECTS;
  const visited = new Set([first]);
  let current = first;
  try {
    for (;;) {
      trace.finalUrl = current;
      const response = await request(current, {
        method: 'GET',
        dispatcher: options.dispatcher ?? guardedDefault(),
        signal: controller.signal,
        headers: {
          ...options.headersFor?.(current),
          'user-agent': options.userAgent ?? USER_AGENT,
          accept: htmlOnly
            ? 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.1'
            : 'text/plain,application/xml,text/xml;q=0.9,*/*;q=0.5',
          'accept-encoding': 'gzip, deflate, br',
        },
      });
      const { statusCode: status, headers, body } = response;

      if (status >= 300 && status < 400) {
        await body.dump().catch(() => undefined);
        const location = header(headers, 'location');
        const next = location === undefined ? null : normalizeUrl(location, current);
        if (!next) {
          const what =
            location === undefined ? 'no Location header' : `unusable Location ${location}`;
          return failed('invalid_url', `HTTP ${status} with ${what}`, { status });
        }
        trace.redirects.push(current);
        if (visited.has(next)) {
          trace.finalUrl = next;
          return failed('redirect_loop', `redirect loop back to ${next}`, { status });
        }
        if (trace.redirects.length > maxRedirects) {
          trace.finalUrl = next;
          return failed('too_many_redirects', `more than ${maxRedirects} redirects`, { status });
        }
        if (options.isInScope && !options.isInScope(next)) {
          trace.finalUrl = next;
          return skipped('redirect_out_of_scope', `redirected out of scope to ${next}`, status);
        }
        visited.add(next);
        current = next;
        continue;
      }

      if (status < 200 || status >= 300) {
        await body.dump().catch(() => undefined);
        return failed(...httpFailure(status, header(headers, 'retry-after')));
      }

      const contentType = header(headers, 'content-type') ?? null;
      const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
      if (htmlOnly && mediaType && !HTML_TYPES.has(mediaType)) {
        // Not read at all: a skipped download should cost nothing.
        discard(body);
        return skipped('not_html', `content type ${mediaType}`, status);
      }
      const declared = Number(header(headers, 'content-length'));
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        discard(body);
        return failed('too_large', `Content-Length ${declared} exceeds ${options.maxBytes} bytes`, {
          status,
        });
      }
      let bytes: Buffer;
      try {
        bytes = await readBody(body, header(headers, 'content-encoding'), options.maxBytes);
      } catch (error) {
        if (!(error instanceof TooLargeError || error instanceof DecodeError)) throw error;
        const [reason, message, extra] = networkFailure(error);
        return failed(reason, message, { ...extra, status });
      }
      return { ...done(), kind: 'body', status, bytes, contentType, headers };
    }
  } catch (error) {
    if (options.signal?.aborted) return skipped('cancelled', 'cancelled during the request');
    if (controller.signal.reason instanceof TimeoutError) {
      return failed('timeout', controller.signal.reason.message, { retryable: true });
    }
    return failed(...networkFailure(error));
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCancel);
  }
}

type FailureArgs = [FailureReason, string, Partial<FetchFailed>];

function httpFailure(status: number, retryAfter: string | undefined): FailureArgs {
  const message = `HTTP ${status}`;
  if (status >= 500) {
    const retryAfterMs = status === 503 ? parseRetryAfter(retryAfter) : undefined;
    return [
      'http_5xx',
      message,
      { status, retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    ];
  }
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(retryAfter);
    return [
      'http_4xx',
      message,
      { status, retryable: true, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) },
    ];
  }
  // 4xx, and the 1xx a server should never send as a final answer.
  return ['http_4xx', message, { status, retryable: false }];
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_NONAME', 'EAI_FAIL']);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const INVALID_URL_CODES = new Set(['ERR_INVALID_URL', 'UND_ERR_INVALID_ARG']);
/** Certificate and TLS protocol problems: another try meets the same certificate. */
const TLS_PROBLEM = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH/;

function networkFailure(error: unknown): FailureArgs {
  const message = error instanceof Error ? error.message || error.name : String(error);
  if (error instanceof TooLargeError) return ['too_large', message, {}];
  if (error instanceof DecodeError) return ['connection', message, {}];
  const code = errorCode(error);
  if (code === SSRF_BLOCKED) return ['ssrf_blocked', message, {}];
  if (DNS_CODES.has(code)) return ['dns', `${code}: ${message}`, { retryable: true }];
  if (TIMEOUT_CODES.has(code)) return ['timeout', `${code}: ${message}`, { retryable: true }];
  if (INVALID_URL_CODES.has(code)) return ['invalid_url', message, {}];
  if (TLS_PROBLEM.test(code)) return ['connection', `${code}: ${message}`, {}];
  // ECONNREFUSED, ECONNRESET, EPIPE, EHOSTUNREACH, UND_ERR_SOCKET, ...: the network may recover.
  return ['connection', code ? `${code}: ${message}` : message, { retryable: true }];
}

/** The code of an error, of its cause, or of the first of an AggregateError (happy eyeballs). */
function errorCode(error: unknown): string {
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    if (typeof current !== 'object') break;
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    current =
      current instanceof AggregateError
        ? current.errors[0]
        : (current as { cause?: unknown }).cause;
  }
  return '';
}

function header(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads the body, decompressing it, and stops (destroying the connection) past maxBytes. */
async function readBody(
  body: Readable,
  encoding: string | undefined,
  maxBytes: number,
): Promise<Buffer> {
  let decoder: ReturnType<typeof decompressorFor>;
  try {
    decoder = decompressorFor(encoding);
  } catch (error) {
    discard(body);
    throw error;
  }
  let decodeFailed = false;
  let source: AsyncIterable<Buffer> = body;
  if (decoder) {
    decoder.once('error', () => {
      decodeFailed = !body.errored;
    });
    source = pipeline(body, decoder, () => undefined);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > maxBytes) {
        discard(body);
        decoder?.destroy();
        throw new TooLargeError(`body exceeds ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (decodeFailed) throw new DecodeError(`could not decompress the ${encoding} body`);
    throw error;
  }
  return Buffer.concat(chunks, size);
}

function decompressorFor(encoding: string | undefined) {
  switch (encoding?.trim().toLowerCase()) {
    case undefined:
    case '':
    case 'identity':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      throw new DecodeError(`unsupported Content-Encoding ${encoding}`);
  }
}

/** Without a Content-Type, look at the start of the body as browsers do. */
function isHtml(contentType: string | null, bytes: Buffer): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType) return HTML_TYPES.has(mediaType);
  const head = bytes
    .subarray(0, 512)
    .toString('latin1')
    .replace(/^\u00EF\u00BB\u00BF/, '') // a UTF-8 byte order mark, read as latin1
    .trimStart();
  return /^<(!doctype\s+html|html|head|body)[\s>]/i.test(head);
}

/** How much of a body is looked at for NUL bytes. */
const SNIFF_BYTES = 1024;

/**
 * A body that says it is HTML but has a NUL byte near its start is binary
 * (an image, an archive, random bytes): no text encoding of HTML but UTF-16
 * puts NULs there, and UTF-16 announces itself by byte order mark or charset.
 */
function looksBinary(bytes: Buffer, contentType: string | null): boolean {
  const bom = (bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe);
  if (bom || /utf-?16/i.test(charsetFromContentType(contentType) ?? '')) return false;
  return bytes.subarray(0, SNIFF_BYTES).includes(0);
}

/**
 * Drops a response body without reading it. undici's body emits an abort
 * error when destroyed unread; with nobody listening that would surface as
 * an unhandled error, so listen first.
 */
function discard(body: NodeJS.ReadableStream & { destroy(): void }): void {
  body.on('error', () => {});
  body.destroy();
}
