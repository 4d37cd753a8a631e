// API keys (API_KEYS) and stream tokens. With keys set, every /api request
// needs `Authorization: Bearer <key>`; the owner of a request is a hash of its
// key, stored on each crawl it creates, and a crawl of another owner is
// answered as if it did not exist. A browser EventSource cannot send headers,
// so POST also returns a short-lived stream token (HMAC over crawl id, owner
// and expiry) that opens that crawl's stream only, as `?token=`. The HMAC
// secret lives in Redis (SET NX), so every instance accepts every instance's
// tokens. The queue board (/admin) takes the first key only (the operator's),
// as Bearer or as the password of Basic auth, since it shows every tenant's jobs.
// ApiKeys and authorizeStream are plain functions, so the stream route's lean
// path below Fastify (routes/stream.ts) applies exactly the same rules.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { type ApiContext, visibleCrawlOwner } from '../context.js';
import { ApiError, replyWithError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Hash of the request's API key ('' when keys are off); null when the request carries no valid key. */
    owner: string | null;
  }
}

/** The owner recorded on a crawl for an API key: not the key, so a Redis dump leaks no key. */
export function ownerOf(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

export class StreamTokens {
  private secret: Promise<Buffer> | null = null;

  constructor(
    private readonly redis: Redis,
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

export interface AuthOptions {
  keys: ApiKeys;
}

/** The challenge that goes with a 401 on /api routes. */
export const BEARER_CHALLENGE: Readonly<Record<string, string>> = { 'www-authenticate': 'Bearer realm="crawlstream"' };
const ADMIN_CHALLENGE: Readonly<Record<string, string>> = {
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

  /**
   * The owner of a stream request ('' when keys are off; null when it brings
   * no key and must show a stream token instead). A key that is not ours is
   * refused here, as on every /api route.
   */
  streamOwner(authorization: string | undefined): string | null {
    if (!this.enabled) return '';
    const key = bearerKey(authorization);
    const owner = this.ownerOfKey(key);
    if (owner === null && key !== null) throw unauthorized();
    return owner;
  }
}

/**
 * May a request of `owner` (see streamOwner) with `token` (`?token=`) watch
 * crawl `id`? Without a key only a stream token for this very crawl will do
 * (401); with one, another key's crawl is answered as missing (404). Returns
 * the owner the stream counts against: the key's, or for a token the
 * crawl's ('' with keys off).
 */
export async function authorizeStream(ctx: ApiContext, id: string, owner: string | null, token: string | undefined): Promise<string> {
  if (owner === null) {
    const crawlOwner = token ? await ctx.store.owner(id) : null;
    if (token === undefined || crawlOwner === null || !(await ctx.tokens.verify(token, id, crawlOwner))) throw unauthorized();
    return crawlOwner;
  }
  if (ctx.apiKeys.enabled) await visibleCrawlOwner(ctx, id, owner);
  return owner;
}

/** Whether `routeUrl` (a route pattern) is the stream route, which also takes `?token=`. */
const isStreamRoute = (url: string) => url.endsWith('/stream');

async function auth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const { keys } = options;
  app.decorateRequest('owner', null);

  // Answered here, not thrown: the queue board has an error handler of its own (not our JSON error).
  const refuse = (request: FastifyRequest, reply: FastifyReply, challenge: Readonly<Record<string, string>>) =>
    replyWithError(request, reply, unauthorized(challenge));

  app.addHook('onRequest', async (request, reply) => {
    if (!keys.enabled) {
      request.owner = '';
      return;
    }
    const url = request.routeOptions.url ?? '';
    const admin = url.startsWith('/admin');
    const { authorization } = request.headers;
    const key = bearerKey(authorization) ?? (admin ? basicPassword(authorization) : null);
    request.owner = keys.ownerOfKey(key);
    if (admin) {
      if (request.owner === null || request.owner !== keys.operator) return refuse(request, reply, ADMIN_CHALLENGE);
      return;
    }
    if (!url.startsWith('/api/') || request.owner !== null) return;
    // The stream route checks its token itself, against the crawl's owner.
    if (isStreamRoute(url) && key === null) return;
    return refuse(request, reply, BEARER_CHALLENGE);
  });
}

export const authPlugin = fp(auth, { name: 'crawlstream-auth' });
