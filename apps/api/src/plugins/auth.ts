// API keys (API_KEYS) and stream tokens. With keys set, every /api request
// needs `Authorization: Bearer <key>`; the owner of a request is a hash of its
// key, stored on each crawl it creates, and a crawl of another owner is
// answered as if it did not exist. A browser EventSource cannot send headers,
// so POST also returns a short-lived stream token (HMAC over crawl id, owner
// and expiry) that opens that crawl's stream only, as `?token=`. The HMAC
// secret lives in Redis (SET NX), so every instance accepts every instance's
// tokens. The queue board (/admin) takes the first key only (the operator's),
// as Bearer or as the password of Basic auth, since it shows every tenant's jobs.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { ApiError } from '../errors.js';

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
  keys: readonly string[];
}

function bearer(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

function basicPassword(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

function refuse(reply: FastifyReply, admin: boolean): never {
  if (admin) reply.header('www-authenticate', 'Basic realm="crawlstream admin", charset="UTF-8"');
  else reply.header('www-authenticate', 'Bearer realm="crawlstream"');
  throw new ApiError('unauthorized');
}

/** Whether `routeUrl` (a route pattern) is the stream route, which also takes `?token=`. */
const isStreamRoute = (url: string) => url.endsWith('/stream');

async function auth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const owners = new Map(options.keys.map((key) => [ownerOf(key), key] as const));
  const operator = options.keys[0] ? ownerOf(options.keys[0]) : null;
  app.decorateRequest('owner', null);

  app.addHook('onRequest', async (request, reply) => {
    if (owners.size === 0) {
      request.owner = '';
      return;
    }
    const url = request.routeOptions.url ?? '';
    const admin = url.startsWith('/admin');
    const key = bearer(request) ?? (admin ? basicPassword(request) : null);
    const owner = key === null ? null : ownerOf(key);
    request.owner = owner !== null && owners.has(owner) ? owner : null;
    if (admin) {
      if (request.owner === null || request.owner !== operator) refuse(reply, true);
      return;
    }
    if (!url.startsWith('/api/') || request.owner !== null) return;
    // The stream route checks its token itself, against the crawl's owner.
    if (isStreamRoute(url) && key === null) return;
    refuse(reply, false);
  });
}

export const authPlugin = fp(auth, { name: 'crawlstream-auth' });
