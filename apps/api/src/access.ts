// Who may do what: API keys (API_KEYS), stream tokens, and the rule each
// route's `config.auth` names. Plain functions of a request's Authorization
// header, no Fastify: the auth hook (plugins/auth.ts) and the stream route's
// lean path below Fastify (routes/stream.ts) call the same ones.
//
// With keys set, every `key` route needs `Authorization: Bearer <key>`; the
// owner of a request is a hash of its key, stored on each crawl it creates,
// and a crawl of another owner is answered as if it did not exist. A browser
// EventSource cannot send headers, so POST also returns a short-lived stream
// token (HMAC over crawl id, owner and expiry) that opens that crawl's stream
// only, as `?token=`: the `stream` rule takes a key or, failing that, lets the
// route check the token. The HMAC secret lives in Redis (SET NX), so every
// instance accepts every instance's tokens. The queue board (`operator`)
// takes the first key only, as Bearer or as the password of Basic auth,
// since it shows every tenant's jobs.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { ApiError } from './errors.js';

/**
 * What a route asks of a request when API keys are on (its `config.auth`):
 * - `key`: a valid key (the default for a route that names none);
 * - `stream`: a valid key, or none and a stream token the route checks;
 * - `operator`: the first key, as Bearer or as Basic auth's password;
 * - `public`: nothing (health, docs, dashboard, metrics with its own token).
 */
export type RouteAuth = 'key' | 'stream' | 'operator' | 'public';

/** The owner recorded on a crawl for an API key: not the key, so a Redis dump leaks no key. */
export function ownerOf(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

export class StreamTokens {
  private secret: Promise<Buffer> | null = null;

  constructor(
    private readonly redis: RedisConnection,
    private readonly secretKey: string,
    readonly ttlSeconds: number,
  ) {}

  private key(): Promise<Buffer> {
    if (!this.secret) {
      this.secret = (async () => {
        await this.redis.set(this.secretKey, randomBytes(32).toString('hex'), 'NX');
        const value = await this.redis.get(this.secretKey);
        if (!value) throw new Error('stream token secret vanished');
        return Buffer.from(value, 'hex');
      })();
      // A failure (Redis down) is retried on the next call.
      this.secret.catch(() => {
        this.secret = null;
      });
    }
    return this.secret;
  }

  private mac(secret: Buffer, crawlId: string, owner: string, expires: number): Buffer {
    return createHmac('sha256', secret).update(`${crawlId}\n${owner}\n${expires}`).digest();
  }

  async sign(crawlId: string, owner: string, now: number = Date.now()): Promise<string> {
    const expires = Math.floor(now / 1000) + this.ttlSeconds;
    return `${expires}.${this.mac(await this.key(), crawlId, owner, expires).toString('base64url')}`;
  }

  async verify(token: string, crawlId: string, owner: string, now: number = Date.now()): Promise<boolean> {
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
    if (!match) return false;
    const expires = Number(match[1]);
    if (expires * 1000 < now) return false;
    const expected = this.mac(await this.key(), crawlId, owner, expires);
    const given = Buffer.from(match[2]!, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** The challenge that goes with a 401 on key and stream routes. */
export const BEARER_CHALLENGE: Readonly<Record<string, string>> = { 'www-authenticate': 'Bearer realm="crawlstream"' };
const OPERATOR_CHALLENGE: Readonly<Record<string, string>> = {
  'www-authenticate': 'Basic realm="crawlstream admin", charset="UTF-8"',
};

export function unauthorized(challenge: Readonly<Record<string, string>> = BEARER_CHALLENGE): ApiError {
  return new ApiError('unauthorized', undefined, undefined, challenge);
}

/** The key of an `Authorization: Bearer <key>` header, or null. */
export function bearerKey(authorization: string | undefined): string | null {
  if (typeof authorization !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match ? match[1]! : null;
}

function basicPassword(authorization: string | undefined): string | null {
  if (typeof authorization !== 'string') return null;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

/** The configured API keys, known by their owners (hashes). */
export class ApiKeys {
  private readonly owners: Set<string>;
  /** The first key's owner: the only one the queue board lets in. */
  readonly operator: string | null;

  constructor(keys: readonly string[]) {
    this.owners = new Set(keys.map(ownerOf));
    this.operator = keys[0] ? ownerOf(keys[0]) : null;
  }

  get enabled(): boolean {
    return this.owners.size > 0;
  }

  /** The owner of a presented key, or null when it is none of ours. */
  ownerOfKey(key: string | null): string | null {
    if (key === null) return null;
    const owner = ownerOf(key);
    return this.owners.has(owner) ? owner : null;
  }
}

/**
 * The owner of a request under its route's rule: '' when keys are off;
 * otherwise the hash of its valid key, or null when it has none (allowed on
 * `public` routes, and on `stream` ones, which then need a stream token).
 * Throws 401 with the rule's challenge when the route refuses the request.
 */
export function requestOwner(keys: ApiKeys, auth: RouteAuth, authorization: string | undefined): string | null {
  if (!keys.enabled) return '';
  if (auth === 'operator') {
    const owner = keys.ownerOfKey(bearerKey(authorization) ?? basicPassword(authorization));
    if (owner === null || owner !== keys.operator) throw unauthorized(OPERATOR_CHALLENGE);
    return owner;
  }
  const key = bearerKey(authorization);
  const owner = keys.ownerOfKey(key);
  if (owner !== null || auth === 'public') return owner;
  // A stream request without a key shows a token instead; a key that is not ours is refused everywhere.
  if (auth === 'stream' && key === null) return null;
  throw unauthorized();
}
