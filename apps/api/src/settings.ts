// Settings only the API process has, beyond the shared Config (DESIGN.md
// section 3): read from the environment once at start, validated the same
// way (a bad value stops the process with a message naming the variable).
import { ConfigError } from '@crawlstream/shared';

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
}

export const DEFAULT_API_SETTINGS: ApiSettings = {
  rateLimitPerMinute: 1200,
  trustProxy: false,
  streamDrainTimeoutMs: 30_000,
  streamTokenTtlSeconds: 3600,
};

function whole(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = raw.trim();
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be a whole number (got ${JSON.stringify(raw)})`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${JSON.stringify(raw)})`);
  return n;
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
  return {
    rateLimitPerMinute: whole('RATE_LIMIT_PER_MINUTE', env.RATE_LIMIT_PER_MINUTE, DEFAULT_API_SETTINGS.rateLimitPerMinute, 0, 1_000_000),
    trustProxy,
    streamDrainTimeoutMs: whole('STREAM_DRAIN_TIMEOUT_MS', env.STREAM_DRAIN_TIMEOUT_MS, DEFAULT_API_SETTINGS.streamDrainTimeoutMs, 100, 3_600_000),
    streamTokenTtlSeconds: whole('STREAM_TOKEN_TTL_SECONDS', env.STREAM_TOKEN_TTL_SECONDS, DEFAULT_API_SETTINGS.streamTokenTtlSeconds, 10, 86_400),
  };
}
