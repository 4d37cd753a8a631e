// Process configuration (DESIGN.md section 3): read from the environment once,
// validated, then passed down. A bad value stops the process with a message
// that names the variable.
import { z } from 'zod';
import { DEFAULT_MAX_PAGES_CAP } from './schemas.js';
import { DEFAULT_CLUSTER_QUEUE_SHARDS, MAX_PAGES_CEILING, MAX_QUEUE_SHARDS, MIN_QUEUE_SHARDS } from './limits.js';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid ${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const intIn = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

/** One Redis URL, or (REDIS_CLUSTER) a comma-separated list of seed nodes: each is checked. */
const redisUrl = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const items = value.split(',').map((item) => item.trim());
    for (const item of items) {
      const which = items.length > 1 ? `"${item}" ` : '';
      const url = URL.parse(item);
      if (!url) ctx.addIssue({ code: 'custom', message: `${which}must be a URL such as redis://127.0.0.1:6379` });
      else if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
        ctx.addIssue({ code: 'custom', message: `${which}must start with redis:// or rediss://` });
    }
  });

const flag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((value) => value === 'true');

const IPV4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);
const DNS_LABEL = /^(?!-)[a-zA-Z0-9-]{1,63}(?<!-)$/;

/** IPv6 as URLs read it (the WHATWG parser, not node:net: the dashboard bundles this package). */
const isIPv6 = (text: string): boolean => /^[0-9a-fA-F:.]+$/.test(text) && URL.parse(`http://[${text}]/`) !== null;

/**
 * Why one SSRF_ALLOW entry is refused, or undefined: an IPv4 address or
 * range (octets 0-255, prefix 0-32), an IPv6 address or range (prefix
 * 0-128), or a host name (DNS labels of letters, digits and inner hyphens,
 * not ending in a numeric label, which URLs read as an IPv4 address).
 */
export function ssrfAllowEntryProblem(entry: string): string | undefined {
  const slash = entry.lastIndexOf('/');
  if (slash !== -1) {
    const address = entry.slice(0, slash);
    const prefix = entry.slice(slash + 1);
    const family = IPV4.test(address) ? 4 : isIPv6(address) ? 6 : 0;
    if (family === 0) return `"${entry}" is not a CIDR range: "${address}" is not an IPv4 or IPv6 address`;
    const width = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > width) {
      return `"${entry}" is not a CIDR range: the prefix of an IPv${family} range must be 0 to ${width}`;
    }
    return undefined;
  }
  if (IPV4.test(entry) || isIPv6(entry)) return undefined;
  const host = entry.endsWith('.') ? entry.slice(0, -1) : entry;
  const labels = host.split('.');
  if (/^[0-9.]+$/.test(host)) return `"${entry}" is not a valid IPv4 address (four numbers 0 to 255)`;
  if (host.length > 253 || !labels.every((label) => DNS_LABEL.test(label))) {
    return `"${entry}" is neither an IP address, a CIDR range nor a host name`;
  }
  if (/^(?:\d+|0x[0-9a-f]*)$/i.test(labels.at(-1) ?? '')) {
    return `"${entry}" is not a host name: its last label is a number`;
  }
  return undefined;
}

/** One validator per variable; the variable's default applies when it is unset or empty. */
const variables = {
  REDIS_URL: { schema: redisUrl.optional(), fallback: undefined },
  REDIS_CLUSTER: { schema: flag, fallback: 'false' },
  PORT: { schema: intIn(0, 65535), fallback: '3000' },
  HOST: { schema: z.string().trim().min(1), fallback: '127.0.0.1' },
  WORKER_CONCURRENCY: { schema: intIn(1, 1000), fallback: '16' },
  WORKER_MAX_BYTES_IN_FLIGHT: { schema: intIn(1_048_576, 68_719_476_736), fallback: String(256 * 1024 * 1024) },
  SSRF_ALLOW: {
    schema: list.pipe(
      z.array(
        z.string().superRefine((entry, ctx) => {
          const problem = ssrfAllowEntryProblem(entry);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        }),
      ),
    ),
    fallback: '',
  },
  API_KEYS: {
    schema: list.pipe(z.array(z.string().min(16, 'each key must be at least 16 characters'))),
    fallback: '',
  },
  HEARTBEAT_MS: { schema: intIn(100, 3_600_000), fallback: '15000' },
  MAX_PAGES_CAP: { schema: intIn(1, MAX_PAGES_CEILING), fallback: String(DEFAULT_MAX_PAGES_CAP) },
  CRAWL_TTL_SECONDS: { schema: intIn(60, 31_536_000), fallback: '86400' },
  LOG_LEVEL: { schema: z.enum(LOG_LEVELS), fallback: 'info' },
  /**
   * Signs webhook deliveries (Standard Webhooks): `whsec_` and the base64 of
   * 24 to 64 random bytes. Unset: a request with a webhook is refused.
   */
  WEBHOOK_SECRET: {
    schema: z
      .string()
      .trim()
      .regex(/^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/, 'must be whsec_ followed by the base64 of 24 to 64 random bytes (e.g. whsec_$(openssl rand -base64 32))')
      .optional(),
    fallback: undefined,
  },
  // The browser renderer (apps/renderer, docs/rendering.md).
  /** The Chromium binary; unset: `chromium` on PATH. */
  CHROMIUM_PATH: { schema: z.string().trim().min(1).optional(), fallback: undefined },
  /** Pages one renderer process renders at once (one browser context each). */
  RENDER_CONCURRENCY: { schema: intIn(1, 64), fallback: '2' },
  /** The most a render may take (navigation and the wait for network idle or `waitFor`); a crawl's `timeoutMs` applies when lower. */
  RENDER_TIMEOUT_MS: { schema: intIn(1000, 300_000), fallback: '30000' },
  /** A browser context is closed and replaced after rendering this many pages. */
  RENDER_CONTEXT_PAGES: { schema: intIn(1, 100_000), fallback: '50' },
  /** A browser whose processes hold more than this much memory (RSS, MiB) is restarted once its pages are done. */
  RENDER_MAX_BROWSER_MB: { schema: intIn(64, 1_048_576), fallback: '2048' },
  /** The longest a page waits for a renderer process to be alive before `renderer_unavailable` (worker side). */
  RENDER_WAIT_MS: { schema: intIn(100, 600_000), fallback: '30000' },
  /** Unset: 1 on one Redis, DEFAULT_CLUSTER_QUEUE_SHARDS with REDIS_CLUSTER (below). */
  QUEUE_SHARDS: { schema: intIn(MIN_QUEUE_SHARDS, MAX_QUEUE_SHARDS).optional(), fallback: undefined },
} as const;

type Variables = typeof variables;
export type Config = {
  [K in Exclude<keyof Variables, 'QUEUE_SHARDS'>]: z.output<Variables[K]['schema']>;
} & {
  /** Shards of the page queue (always set: its default depends on REDIS_CLUSTER). */
  QUEUE_SHARDS: number;
};

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const [name, { schema, fallback }] of Object.entries(variables)) {
    const raw = env[name];
    const value = raw === undefined || raw.trim() === '' ? fallback : raw;
    const result = (schema as z.ZodType).safeParse(value);
    if (!result.success) {
      const problem = result.error.issues.map((issue) => issue.message).join('; ');
      throw new ConfigError(name, `${problem} (got ${JSON.stringify(raw)})`);
    }
    config[name] = result.data;
  }
  const redisUrls = (config.REDIS_URL as string | undefined)?.split(',') ?? [];
  if (config.REDIS_CLUSTER && redisUrls.length === 0) {
    throw new ConfigError('REDIS_CLUSTER', 'true needs REDIS_URL: one or more seed nodes of the cluster, comma-separated');
  }
  if (!config.REDIS_CLUSTER && redisUrls.length > 1) {
    throw new ConfigError('REDIS_URL', `a list of ${redisUrls.length} URLs is read as seed nodes of a Redis Cluster only with REDIS_CLUSTER=true`);
  }
  config.QUEUE_SHARDS ??= config.REDIS_CLUSTER ? DEFAULT_CLUSTER_QUEUE_SHARDS : 1;
  return config as Config;
}

/** For `main` functions: load, or print the problem and exit non-zero. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`crawlstream: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}
