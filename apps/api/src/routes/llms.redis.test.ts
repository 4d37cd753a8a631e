// /llms.txt and /llms-full.txt on a real API and Redis, the pages settled
// through the store as the worker does: the index's sections and order, the
// full document streamed a batch at a time (bounded reads, and no read far
// ahead of a slow client), while the crawl runs and after, and 404 for an
// unknown crawl.
import http from 'node:http';
import { decodePage, encodePage } from '@crawlstream/progress';
import { crawl, crawlKeys, MAX_RESPONSE_BYTES } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { type Api, call, errorCode, START, settleStart, startApi } from '../test-support/harness.js';
import { PAGES_PER_LLMS_READ } from './llms.js';

async function newCrawl(api: Api): Promise<string> {
  return crawl.parse((await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } })).json).id;
}

async function settle(api: Api, id: string, url: string, title: string, markdown: string, depth = 1) {
  const settled = await api.store.settle(id, { kind: 'processed', url, title, depth, status: 200, bytes: markdown.length, durationMs: 1, markdown });
  expect(settled.result).toBe('settled');
}

describe('GET /api/crawl-v2/:id/llms.txt', () => {
  it('lists the stored pages by section, in crawl order, with the start page as the title; text/plain', async () => {
    const api = await startApi(useRedis('llm'));
    const id = await newCrawl(api);
    const links = [`${START}guide/intro`, `${START}api/`, `${START}faq`, `${START}guide/setup`, `${START}api/auth`, `${START}guide/`];
    const settled = await settleStart(api.store, id, links);
    expect(settled.result).toBe('settled');
    await settle(api, id, links[0]!, 'Intro', 'i');
    await settle(api, id, links[1]!, 'API [v2]', 'a');
    await settle(api, id, links[2]!, '  FAQ\n ', 'f');
    await settle(api, id, links[3]!, 'Setup', 's');

    const running = await call(api.base, 'GET', `/api/crawl-v2/${id}/llms.txt`);
    expect(running.status).toBe(200);
    expect(running.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(running.text).toBe(
      [
        '# Start',
        '',
        `> Documentation crawled from ${START}: 5 pages so far (the crawl is still running).`,
        '',
        '## docs',
        '',
        `- [Start](${START})`,
        `- [FAQ](${START}faq)`,
        '',
        '## guide',
        '',
        `- [Intro](${START}guide/intro)`,
        `- [Setup](${START}guide/setup)`,
        '',
        '## api',
        '',
        `- [API \\[v2\\]](${START}api/)`,
        '',
      ].join('\n'),
    );

    await settle(api, id, links[4]!, '', 'auth');
    await settle(api, id, links[5]!, 'Guide', 'g');
    expect(crawl.parse((await call(api.base, 'GET', `/api/crawl-v2/${id}`)).json).status).toBe('completed');
    const done = await call(api.base, 'GET', `/api/crawl-v2/${id}/llms.txt`);
    expect(done.status).toBe(200);
    expect(done.text).toContain(`> Documentation crawled from ${START}: 7 pages.\n`);
    expect(done.text).toContain(`## guide\n\n- [Intro](${START}guide/intro)\n- [Setup](${START}guide/setup)\n- [Guide](${START}guide/)\n`);
    // A page without a title is listed under its URL.
    expect(done.text).toContain(`## api\n\n- [API \\[v2\\]](${START}api/)\n- [${START}api/auth](${START}api/auth)\n`);
  });

  it('adds `: description` once a stored page record carries one', async () => {
    const redis = useRedis('llmd');
    const api = await startApi(redis);
    const id = await newCrawl(api);
    await settleStart(api.store, id, []);
    // The record is given one as the worker writes it (a real worker's, end to end: tests/e2e page-metadata.redis.test.ts).
    const key = crawlKeys(id, redis.prefix).pages;
    const stored = decodePage((await api.app.crawlstream.redis.hgetBuffer(key, START))!);
    await api.app.crawlstream.redis.hset(key, START, encodePage({ ...stored, description: 'The docs,\nall of them.' }));
    const reply = await call(api.base, 'GET', `/api/crawl-v2/${id}/llms.txt`);
    expect(reply.text).toContain(`\n- [Start](${START}): The docs, all of them.\n`);
  });

  it('a crawl with nothing stored yet: the host as the title, 0 pages, no section', async () => {
    const api = await startApi(useRedis('llm0'));
    const id = await newCrawl(api);
    const reply = await call(api.base, 'GET', `/api/crawl-v2/${id}/llms.txt`);
    expect(reply.status).toBe(200);
    expect(reply.text).toBe(`# 127.0.0.1:9\n\n> Documentation crawled from ${START}: 0 pages so far (the crawl is still running).\n`);
  });

  it('404 not_found for an unknown crawl (the JSON error body of every route), 400 invalid_id for a malformed one', async () => {
    const api = await startApi(useRedis('llm404'));
    for (const file of ['llms.txt', 'llms-full.txt']) {
      const missing = await call(api.base, 'GET', `/api/crawl-v2/7c9e6679-7425-40de-944b-e07fc1f90ae7/${file}`);
      expect(missing.status, file).toBe(404);
      expect(missing.json).toEqual({ error: { code: 'not_found', message: 'No such crawl' } });
      const malformed = await call(api.base, 'GET', `/api/crawl-v2/not-an-id/${file}`);
      expect(malformed.status, file).toBe(400);
      expect(errorCode(malformed)).toBe('invalid_id');
    }
  });
});

describe('GET /api/crawl-v2/:id/llms-full.txt', () => {
  it('every stored page under its title and URL, --- between them, in crawl order; while running and after', async () => {
    const api = await startApi(useRedis('llf'));
    const id = await newCrawl(api);
    const links = [`${START}a`, `${START}b/c`];
    await settleStart(api.store, id, links);
    await settle(api, id, links[0]!, 'A', '\n# A\n\nAlpha.\n\n');
    const running = await call(api.base, 'GET', `/api/crawl-v2/${id}/llms-full.txt`);
    expect(running.status).toBe(200);
    expect(running.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(running.text).toBe(`# Start\n\nSource: ${START}\n\n# Start\n\nHello.\n\n---\n\n# A\n\nSource: ${START}a\n\n# A\n\nAlpha.\n`);
    await settle(api, id, links[1]!, '', 'Gamma.');
    const done = await call(api.base, 'GET', `/api/crawl-v2/${id}/llms-full.txt`);
    expect(done.text.split('\n---\n\n')).toHaveLength(3);
    expect(done.text.endsWith(`---\n\n# ${START}b/c\n\nSource: ${START}b/c\n\nGamma.\n`)).toBe(true);

    const empty = await newCrawl(api);
    const none = await call(api.base, 'GET', `/api/crawl-v2/${empty}/llms-full.txt`);
    expect(none.status).toBe(200);
    expect(none.text).toBe('');
  });

  it('reads the store in bounded batches and no further ahead than a slow client allows; every page once', async () => {
    const api = await startApi(useRedis('llfmem'));
    const id = await newCrawl(api);
    const PAGE = 1_000_000;
    const COUNT = 100;
    const links = Array.from({ length: COUNT - 1 }, (_, i) => `${START}big/${i}`);
    await settleStart(api.store, id, links);
    for (const url of links) await settle(api, id, url, url, `${url} `.padEnd(PAGE, 'x'));

    // Each read of the store: its arguments, and how far it ran ahead of what the client had received.
    const reads: { limit: number; maxBytes: number | undefined; ahead: number }[] = [];
    let handedOut = 0;
    let received = 0;
    const pages = api.store.pages.bind(api.store);
    api.store.pages = async (crawlId, offset, limit, maxBytes) => {
      reads.push({ limit, maxBytes, ahead: handedOut - received });
      const batch = await pages(crawlId, offset, limit, maxBytes);
      for (const page of batch.items) handedOut += (page.markdown ?? "").length;
      return batch;
    };

    const text = await new Promise<string>((resolve, reject) => {
      http
        .get(`${api.base}/api/crawl-v2/${id}/llms-full.txt`, { agent: false }, (res) => {
          const chunks: Buffer[] = [];
          let paused = false;
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            received += chunk.length;
            // A slow client: it stops after its first chunk for a while, then reads on.
            if (!paused) {
              paused = true;
              res.pause();
              setTimeout(() => res.resume(), 500);
            }
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', reject);
        })
        .on('error', reject);
    });

    const sections = text.split('\n---\n\n');
    expect(sections).toHaveLength(COUNT);
    expect(sections.map((s) => /^Source: (.*)$/m.exec(s)?.[1])).toEqual([START, ...links]);
    // Batches: at most PAGES_PER_LLMS_READ pages and MAX_RESPONSE_BYTES each, so 8 MB pages a read here.
    expect(reads.length).toBeGreaterThanOrEqual(Math.ceil(COUNT / 9));
    for (const read of reads) {
      expect(read.limit).toBeLessThanOrEqual(PAGES_PER_LLMS_READ);
      expect(read.maxBytes).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
    }
    // Never the whole 100 MB ahead of the client: a batch, a page in the stream and the sockets' buffers at most.
    const most = Math.max(...reads.map((r) => r.ahead));
    expect(most).toBeLessThan(3 * MAX_RESPONSE_BYTES);
  });
});
