// The auth hook: every request's owner, by the rule its route names in
// `config.auth` (access.ts); a route that names none needs a key, and a
// request that matches no route is let through to its 404. The stream
// route's lean path below Fastify applies the same rule (routes/stream.ts).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type ApiKeys, type RouteAuth, requestOwner } from '../access.js';
import { replyWithError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Hash of the request's API key ('' when keys are off); null when the request carries no valid key. */
    owner: string | null;
  }
  interface FastifyContextConfig {
    /** Who may call the route when API keys are on (access.ts); default `key`. */
    auth?: RouteAuth;
  }
}

export interface AuthOptions {
  keys: ApiKeys;
}

/**
 * Sets `config.auth` on every route registered in `app`'s scope (and its
 * children) that does not name one: for routes a third-party plugin
 * declares (the queue board, the docs UI).
 */
export function defaultRouteAuth(app: FastifyInstance, auth: RouteAuth): void {
  app.addHook('onRoute', (route) => {
    if (route.config?.auth === undefined) route.config = { ...route.config, auth };
  });
}

async function auth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  const { keys } = options;
  app.decorateRequest('owner', null);

  app.addHook('onRequest', async (request, reply) => {
    const rule: RouteAuth = request.is404 ? 'public' : (request.routeOptions.config.auth ?? 'key');
    try {
      request.owner = requestOwner(keys, rule, request.headers.authorization);
    } catch (error) {
      // Answered here, not thrown: the queue board has an error handler of its own (not our JSON error).
      return replyWithError(request, reply, error);
    }
  });
}

export const authPlugin = fp(auth, { name: 'crawlstream-auth' });
