// The one error type the SDK throws for everything that is not the caller's
// own abort: an API error answer (its status and the `code` of the JSON error
// body), a network failure (status 0), or an answer that breaks the contract.
import { apiError } from '@crawlstream/shared';

/** Codes the SDK itself uses; every other `code` comes from the API's error body. */
export type ClientErrorCode = 'network_error' | 'invalid_response' | 'stream_timeout' | 'too_many_retries';

export class CrawlstreamError extends Error {
  /** The HTTP status of the answer, or 0 when there was none (network failure, timeout). */
  readonly status: number;
  /** `error.code` of the API's JSON body, or one of ClientErrorCode. */
  readonly code: string;
  readonly details?: unknown;
  /** The answer's `Retry-After`, in ms, when it had one (429, 503). */
  readonly retryAfterMs?: number;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { details?: unknown; cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CrawlstreamError';
    this.status = status;
    this.code = code;
    if (options.details !== undefined) this.details = options.details;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }

  /**
   * Whether trying again later may help: no answer at all, a 408 or 429, or
   * a server error. 4xx answers about the request itself are final.
   */
  get retryable(): boolean {
    if (this.code === 'invalid_response') return false;
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** `Retry-After` in ms: delay-seconds or an HTTP date. */
function retryAfter(response: Response): number | undefined {
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** Builds the error for a non-2xx answer from its body (JSON error body if it is one). */
export async function errorFromResponse(response: Response): Promise<CrawlstreamError> {
  const retryAfterMs = retryAfter(response);
  const extra = retryAfterMs === undefined ? {} : { retryAfterMs };
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const parsed = apiError.safeParse(body);
  if (parsed.success) {
    const { code, message, details } = parsed.data.error;
    return new CrawlstreamError(response.status, code, message, { details, ...extra });
  }
  const reason = response.statusText ? ` ${response.statusText}` : '';
  return new CrawlstreamError(response.status, `http_${response.status}`, `HTTP ${response.status}${reason}`, extra);
}

export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'name' in error &&
    (error.name === 'AbortError' || error.name === 'TimeoutError')
  );
}
