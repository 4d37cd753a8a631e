// `GET /`: the dashboard's place. Until the dashboard lands (issue 6) a small
// page that points at the API description.
import type { FastifyInstance } from 'fastify';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crawlstream</title></head>
<body><h1>crawlstream</h1>
<p>The API is at <code>/api/crawl-v2</code>; its description at <a href="/docs">/docs</a>.</p>
</body></html>
`;

export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
  app.get('/', { schema: { hide: true }, config: { rateLimit: false } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(PAGE),
  );
}
