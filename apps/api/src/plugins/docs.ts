// OpenAPI, generated from the same zod schemas that validate requests (the
// route schemas, converted by fastify-type-provider-zod). `GET /docs` is the
// OpenAPI document as JSON; a browser (Accept: text/html) is sent to the
// Swagger UI at /docs/ui.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { routePatterns } from '@crawlstream/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createJsonSchemaTransform } from 'fastify-type-provider-zod';
import { defaultRouteAuth } from './auth.js';

/** Where the Swagger UI is served (exempt from the rate limit, as /docs is: plugins/rate-limit.ts). */
export const DOCS_UI_PREFIX = `${routePatterns.docs}/ui`;
const UI_PREFIX = DOCS_UI_PREFIX;

async function docs(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'crawlstream',
        description: 'Distributed documentation crawler with a live, lossless progress stream (DESIGN.md sections 1-3).',
        version: '0.1.0',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'One of API_KEYS, when set' } },
      },
      security: [{ apiKey: [] }],
      tags: [
        { name: 'crawls', description: 'Start, list, watch and cancel crawls' },
        { name: 'results', description: 'What a crawl stored' },
      ],
    },
    transform: createJsonSchemaTransform({ skipList: [routePatterns.docs, `${UI_PREFIX}/*`] }),
  });
}

/** Registered after every route, so the document covers them all. */
async function docsRoutes(app: FastifyInstance): Promise<void> {
  // The description of the API is public: the UI's routes and the document.
  defaultRouteAuth(app, 'public');
  await app.register(swaggerUi, { routePrefix: UI_PREFIX, uiConfig: { docExpansion: 'list' } });
  app.get(
    routePatterns.docs,
    { schema: { hide: true }, config: { rateLimit: false } },
    async (request, reply) => {
      const accept = request.headers.accept ?? '';
      if (/text\/html/.test(accept)) return reply.redirect(`${UI_PREFIX}/`);
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(app.swagger()));
    },
  );
}

export const docsPlugin = fp(docs, { name: 'crawlstream-docs' });
export { docsRoutes };
