import { routePatterns } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, startApi } from '../test-support/harness.js';

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }; parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>>;
}

describe('/docs', () => {
  it('is the OpenAPI document generated from the schemas that validate requests; browsers get the UI', async () => {
    const api = await startApi(useRedis('doc'));
    const reply = await call(api.base, 'GET', '/docs');
    expect(reply.status).toBe(200);
    const doc = reply.json as OpenApi;
    expect(doc.openapi).toMatch(/^3\./);
    const path = (pattern: string) => pattern.replace(':id', '{id}');
    expect(Object.keys(doc.paths).sort()).toEqual(
      [routePatterns.crawls, routePatterns.crawl, routePatterns.stream, routePatterns.pages, routePatterns.markdown, routePatterns.errors, routePatterns.rejected, routePatterns.llmsTxt, routePatterns.llmsFullTxt, routePatterns.webhook].map(path).sort(),
    );
    const post = doc.paths[routePatterns.crawls]!.post!;
    const body = post.requestBody!.content['application/json']!.schema;
    expect(Object.keys(body.properties ?? {})).toEqual(['url', 'options', 'webhook']);
    expect(JSON.stringify(body)).toContain('"maxPages"');
    // The rendering options (#17) and the rendered flag of a stored page.
    const options = (body.properties as { options: { properties: Record<string, { enum?: string[]; default?: unknown }> } }).options;
    expect(options.properties.render).toMatchObject({ enum: ['never', 'auto', 'always'], default: 'auto' });
    expect(options.properties).toHaveProperty('waitFor');
    const pages = doc.paths[path(routePatterns.pages)]!.get!;
    expect(JSON.stringify(pages.responses['200'])).toContain('"rendered"');
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['201', '200', '400', '413']));
    expect(post.parameters?.map((p) => `${p.in}:${p.name}`)).toContain('header:idempotency-key');
    const list = doc.paths[routePatterns.crawls]!.get!;
    expect(list.parameters?.map((p) => p.name).sort()).toEqual(['cursor', 'limit', 'status']);
    expect(doc.paths[path(routePatterns.stream)]!.get!.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(['id', 'lastEventId', 'token']));
    expect(doc.paths[path(routePatterns.crawl)]!.delete!.responses).toHaveProperty('409');
    for (const route of [routePatterns.llmsTxt, routePatterns.llmsFullTxt]) {
      const get = doc.paths[path(route)]!.get!;
      expect(get.parameters?.map((p) => p.name)).toEqual(['id']);
      expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['200', '404']));
      expect(JSON.stringify(get.responses['200'])).toContain('text/plain');
    }

    const browser = await call(api.base, 'GET', '/docs', { headers: { accept: 'text/html' } });
    expect(browser.status).toBe(302);
    const ui = await call(api.base, 'GET', browser.headers.location!);
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger');
  });
});
