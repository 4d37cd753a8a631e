// Process configuration (DESIGN.md section 3): read from the environment once,
// validated, then passed down. A bad value stops the process with a message
// that names the variable.
import { z } from 'zod';
import { DEFAULT_MAX_PAGES_CAP } from './schemas.js';

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

const redisUrl = z
  .string()
  .trim()
  .superRefine((value, ctx) => {
    const url = URL.parse(value);
    if (!url) ctx.addIssue({ code: 'custom', message: 'must be a URL such as redis://127.0.0.1:6379' });
    else if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
      ctx.addIssue({ code: 'custom', message: 'must start with redis:// or rediss://' });
  });

const CIDR_OR_HOST =
  /^(?:(?:\d{1,3}\.){3}\d{1,3}(?:\/\d{1,2})?|[0-9a-fA-F:]+(?:\/\d{1,3})?|[a-zA-Z0-9.-]+)$/;

/** One validator per variable; the variable's default applies when it is unset or empty. */
const variables = {
  REDIS_URL: { schema: redisUrl.optional(), fallback: undefined },
  PORT: { schema: intIn(0, 65535), fallback: '3000' },
  HOST: { schema: z.string().trim().min(1), fallback: '127.0.0.1' },
  WORKER_CONCURRENCY: { schema: intIn(1, 1000), fallback: '16' },
  WORKER_MAX_BYTES_IN_FLIGHT: { schema: intIn(1_048_576, 68_719_476_736), fallback: String(256 * 1024 * 1024) },
  SSRF_ALLOW: {
    schema: list.pipe(
      z.array(z.string().regex(CIDR_OR_HOST, 'each entry must be a CIDR or a host name')),
    ),
    fallback: '',
  },
  API_KEYS: {
    schema: list.pipe(z.array(z.string().min(16, 'each key must be at least 16 characters'))),
    fallback: '',
  },
  HEARTBEAT_MS: { schema: intIn(100, 3_600_000), fallback: '15000' },
  MAX_PAGES_CAP: { schema: intIn(1, 1_000_000), fallback: String(DEFAULT_MAX_PAGES_CAP) },
  CRAWL_TTL_SECONDS: { schema: intIn(60, 31_536_000), fallback: '86400' },
  LOG_LEVEL: { schema: z.enum(LOG_LEVELS), fallback: 'info' },
} as const;

type Variables = typeof variables;
export type Config = {
  [K in keyof Variables]: z.output<Variables[K]['schema']>;
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
