// `GET /`: the dashboard (apps/dashboard), served from its Vite build, the
// directory buildApp is given (`dashboardDir`; main.ts resolves it):
// `index.html` never cached (so a deploy shows at once), `/assets/*`
// (content-hashed names) cached for good. Without a build (none given, or
// only the API was built), a small page that points at the API description
// instead. Hidden from the docs and exempt from rate limiting,
// like the stream: a dashboard reload must never be refused.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const FALLBACK_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crawlstream</title></head>
<body><h1>crawlstream</h1>
<p>The API is at <code>/api/crawl-v2</code>; its description at <a href="/docs">/docs</a>.</p>
<p>The dashboard is not built: run <code>npm run build</code>.</p>
</body></html>
`;

/**
 * The page only loads its own hashed script and stylesheet and talks only to
 * this origin; markdown downloads are blob: URLs it makes itself.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface DashboardOptions {
  /** The dashboard build to serve; none: the fallback page. */
  root?: string | undefined;
}

const routeOptions = { schema: { hide: true }, config: { rateLimit: false, auth: 'public' } } as const;

export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions = {}): Promise<void> {
  const { root } = options;
  if (root === undefined || !existsSync(join(root, 'index.html'))) {
    app.get('/', routeOptions, async (_request, reply) => reply.type('text/html; charset=utf-8').send(FALLBACK_PAGE));
    return;
  }

  // Only the reply decorator: the two routes below decide what is served and how long it is cached.
  await app.register(fastifyStatic, { root, serve: false });

  app.get('/', routeOptions, (_request, reply) =>
    reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .sendFile('index.html', { cacheControl: false }),
  );

  app.get<{ Params: { '*': string } }>('/assets/*', routeOptions, (request, reply) =>
    // @fastify/send refuses paths that leave the root; a missing file is the JSON 404.
    reply
      .header('x-content-type-options', 'nosniff')
      .sendFile(`assets/${request.params['*']}`, { maxAge: '365d', immutable: true }),
  );
}
