// Settings only the API process has, beyond the shared Config (DESIGN.md
// section 3): read from the environment once at start, validated the same
// way (a bad value stops the process with a message naming the variable).
import { ConfigError, DEFAULT_STREAM_CONNECT_TIMEOUT_MS, MAX_STREAM_CONNECT_TIMEOUT_MS, MIN_STREAM_CONNECT_TIMEOUT_MS } from '@crawlstream/shared';

export interface ApiSettings {
  /** Requests per minute per API key (or per client address without keys), across all instances. 0 = off. */
  rateLimitPerMinute: number;
  /**
   * Fastify's trustProxy: which hops may set X-Forwarded-For (the client
   * address used for rate limiting). false, true, or a list of addresses/CIDRs.
   */
  trustProxy: boolean | string[];
  /** A stream whose client does not drain its socket for this long is cut off (it resumes by Last-Event-ID). */
  streamDrainTimeoutMs: number;
  /** Lifetime of the `streamToken` that POST returns. */
  streamTokenTtlSeconds: number;
  /**
   * A connection that has not sent a whole request head within this is
   * closed (Node's headersTimeout; both the stream path and Fastify's).
   */
  httpHeadersTimeoutMs: number;
  /**
   * A request (head and body) not received whole within this is answered 408
   * and closed (Node's requestTimeout). Only receiving counts: a stream is a
   * response, and lives on.
   */
  httpRequestTimeoutMs: number;
  /** Open streams per API key on this process; 0 = no cap. Past it: 429 too_many_streams. */
  streamMaxPerKey: number;
  /**
   * Open streams per client address (through TRUST_PROXY) on this process;
   * 0 = no cap. Behind a load balancer that is not trusted, every client
   * shares one address.
   */
  streamMaxPerAddress: number;
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | null;
  /**
   * The listen backlog: connections the kernel holds, handshake done, until
   * the process accepts them. Linux caps it at net.core.somaxconn (4096 on
   * the development machine). Past it the kernel drops the handshake's last
   * ACK and the client waits for SYN/ACK retransmissions (1, 3, 7, 15, 31,
   * 63 s) or sees a reset: Node's default of 511 fills in 64 ms of a connect
   * storm at 8,000/s.
   */
  listenBacklog: number;
  /**
   * STREAM_CONNECT_URL: POSTed before a stream opens (docs/stream.md,
   * "Gateway hooks"); its answer decides whether the stream opens. An
   * operator's setting, never a user's: no SSRF guard.
   */
  streamConnectUrl: string | null;
  /** How long a stream waits for the connect hook's answer before it is 504. */
  streamConnectTimeoutMs: number;
  /** STREAM_DISCONNECT_URL: POSTed (fire and forget) when a stream closes. */
  streamDisconnectUrl: string | null;
}

export const DEFAULT_API_SETTINGS: ApiSettings = {
  rateLimitPerMinute: 1200,
  trustProxy: false,
  streamDrainTimeoutMs: 30_000,
  streamTokenTtlSeconds: 3600,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  streamMaxPerKey: 0,
  streamMaxPerAddress: 0,
  metricsToken: null,
  listenBacklog: 4096,
  streamConnectUrl: null,
  streamConnectTimeoutMs: DEFAULT_STREAM_CONNECT_TIMEOUT_MS,
  streamDisconnectUrl: null,
};

/** Highest LISTEN_BACKLOG (the kernel's own cap, net.core.somaxconn, is usually lower). */
export const MAX_LISTEN_BACKLOG = 65_535;

/** A bearer token: visible ASCII without spaces, long enough not to be guessed (as API_KEYS). */
const TOKEN = /^[\x21-\x7e]{16,256}$/;

function whole(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim();
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number (got ${JSON.stringify(raw)})`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${JSON.stringify(raw)})`);
  return n;
}

/** An http(s) URL, or null when unset. */
function hookUrl(name: string, raw: string | undefined): string | null {
  const value = raw?.trim() ?? '';
  if (value === '') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `must be an http or https URL (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(name, `must be an http or https URL (got ${JSON.stringify(raw)})`);
  return url.href;
}

export function loadApiSettings(env: Record<string, string | undefined> = process.env): ApiSettings {
  const proxy = env.TRUST_PROXY?.trim() ?? '';
  let trustProxy: boolean | string[] = false;
  if (proxy === 'true') trustProxy = true;
  else if (proxy !== '' && proxy !== 'false') {
    trustProxy = proxy
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
    if (trustProxy.some((item) => !/^[0-9a-fA-F.:/]+$/.test(item))) {
      throw new ConfigError('TRUST_PROXY', `must be true, false or comma-separated addresses/CIDRs (got ${JSON.stringify(env.TRUST_PROXY)})`);
    }
  }
  const metricsToken = env.METRICS_TOKEN?.trim() || null;
  if (metricsToken !== null && !TOKEN.test(metricsToken)) {
    throw new ConfigError('METRICS_TOKEN', 'must be 16 to 256 visible ASCII characters without spaces');
  }
  const httpHeadersTimeoutMs = whole('HTTP_HEADERS_TIMEOUT_MS', env.HTTP_HEADERS_TIMEOUT_MS, DEFAULT_API_SETTINGS.httpHeadersTimeoutMs, 100, 3_600_000);
  const httpRequestTimeoutMs = whole('HTTP_REQUEST_TIMEOUT_MS', env.HTTP_REQUEST_TIMEOUT_MS, DEFAULT_API_SETTINGS.httpRequestTimeoutMs, 100, 3_600_000);
  // Node refuses a headers timeout longer than the request timeout.
  if (httpHeadersTimeoutMs > httpRequestTimeoutMs) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS', `must not exceed HTTP_REQUEST_TIMEOUT_MS (${httpRequestTimeoutMs})`);
  }
  return {
    rateLimitPerMinute: whole('RATE_LIMIT_PER_MINUTE', env.RATE_LIMIT_PER_MINUTE, DEFAULT_API_SETTINGS.rateLimitPerMinute, 0, 1_000_000),
    trustProxy,
    streamDrainTimeoutMs: whole('STREAM_DRAIN_TIMEOUT_MS', env.STREAM_DRAIN_TIMEOUT_MS, DEFAULT_API_SETTINGS.streamDrainTimeoutMs, 100, 3_600_000),
    streamTokenTtlSeconds: whole('STREAM_TOKEN_TTL_SECONDS', env.STREAM_TOKEN_TTL_SECONDS, DEFAULT_API_SETTINGS.streamTokenTtlSeconds, 10, 86_400),
    httpHeadersTimeoutMs,
    httpRequestTimeoutMs,
    streamMaxPerKey: whole('STREAM_MAX_PER_KEY', env.STREAM_MAX_PER_KEY, DEFAULT_API_SETTINGS.streamMaxPerKey, 0, 10_000_000),
    streamMaxPerAddress: whole('STREAM_MAX_PER_ADDRESS', env.STREAM_MAX_PER_ADDRESS, DEFAULT_API_SETTINGS.streamMaxPerAddress, 0, 10_000_000),
    metricsToken,
    listenBacklog: whole('LISTEN_BACKLOG', env.LISTEN_BACKLOG, DEFAULT_API_SETTINGS.listenBacklog, 1, MAX_LISTEN_BACKLOG),
    streamConnectUrl: hookUrl('STREAM_CONNECT_URL', env.STREAM_CONNECT_URL),
    streamConnectTimeoutMs: whole(
      'STREAM_CONNECT_TIMEOUT_MS',
      env.STREAM_CONNECT_TIMEOUT_MS,
      DEFAULT_API_SETTINGS.streamConnectTimeoutMs,
      MIN_STREAM_CONNECT_TIMEOUT_MS,
      MAX_STREAM_CONNECT_TIMEOUT_MS,
    ),
    streamDisconnectUrl: hookUrl('STREAM_DISCONNECT_URL', env.STREAM_DISCONNECT_URL),
  };
}
