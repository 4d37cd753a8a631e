// `?include=markdown` on the stream (#14): each `page` event carries its
// stored page's markdown, joined at read time (the event log holds none),
// cut with `truncated: true` to keep the event within MAX_EVENT_BYTES; event
// ids and resuming are unchanged; a stream without it is unchanged; any
// other `include` is 400 invalid_include, on the lean path and Fastify's.
import { crawl, crawlEvent, MAX_EVENT_BYTES, STREAM_MARKDOWN_BATCH } from '@crawlstream/shared';
import { startExtraRedis, useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { type Api, call, errorCode, openStream, playCrawl, START, settlePage, settleStart, startApi, storedEvents } from '../test-support/harness.js';

const streamOf = (id: string, query = '') => `/api/crawl-v2/${id}/stream${query}`;

async function postCrawl(api: Api): Promise<string> {
  const reply = await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } });
  expect(reply.status).toBe(201);
  return crawl.parse(reply.json).id;
}

/** Settles a page whose markdown is `markdown`. */
async function settleMarkdown(api: Api, id: string, url: string, markdown: string) {
  const settled = await api.store.settle(id, { kind: 'processed', url, title: 'Long', depth: 1, status: 200, bytes: 1, durationMs: 1, markdown });
  expect(settled.result).toBe('settled');
}

/** The bytes of a page event's data line with `markdown` whole (as frameWithMarkdown builds it). */
function eventBytesWith(data: string, markdown: string): number {
  return Buffer.byteLength(data) - 1 + ',"markdown":'.length + Buffer.byteLength(JSON.stringify(markdown)) + 1;
}

describe('stream ?include=markdown', () => {
  it('adds each page\'s stored markdown to its page event, cut with truncated at the limit and one past; ids and other events unchanged', async () => {
    const api = await startApi(useRedis('sim'));
    const id = await postCrawl(api);
    const [p0, p1, atUrl, pastUrl, last] = ['p0', 'p1', 'at', 'up', 'last'].map((name) => `${START}${name}`) as [string, string, string, string, string];
    await settleStart(api.store, id, [p0, p1, atUrl, pastUrl, last]);
    await settlePage(api.store, id, p0, 0);
    await settlePage(api.store, id, p1, 1);
    // The at-limit page: its event with the markdown is MAX_EVENT_BYTES exactly (its data line as makeFrame writes it; ts has 13 digits).
    const payload = JSON.stringify({ url: atUrl, title: 'Long', depth: 1, status: 200, bytes: 1, durationMs: 1 });
    const atData = `{"type":"page","crawlId":"${id}","ts":${Date.now()},${payload.slice(1)}`;
    const atMarkdown = 'y'.repeat(MAX_EVENT_BYTES - eventBytesWith(atData, ''));
    expect(eventBytesWith(atData, atMarkdown)).toBe(MAX_EVENT_BYTES);
    await settleMarkdown(api, id, atUrl, atMarkdown);
    // The same event (a URL of the same length) with one byte more of markdown.
    await settleMarkdown(api, id, pastUrl, `${atMarkdown}y`);
    await settlePage(api.store, id, last, 9);
    const stored = await storedEvents(api.store, id);
    expect(stored.find((e) => e.data.includes(atUrl))!.data).toHaveLength(atData.length);

    const client = await openStream(api.base, streamOf(id, '?include=markdown&lastEventId=0'));
    expect(client.status).toBe(200);
    await client.waitFor((c) => c.events.length >= stored.length, 15_000, 'every stored event');
    client.close();
    expect(client.events.map((e) => e.id)).toEqual(stored.map((e) => e.id));
    const byUrl = new Map<string, Record<string, unknown>>();
    for (const [i, event] of client.events.entries()) {
      const data = JSON.parse(event.data);
      expect(crawlEvent.safeParse(data).success).toBe(true);
      expect(Buffer.byteLength(event.data)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
      if (event.event !== 'page') {
        expect(event.data).toBe(stored[i]!.data);
        continue;
      }
      const { markdown, truncated, ...rest } = data;
      expect(rest).toEqual(JSON.parse(stored[i]!.data));
      byUrl.set(data.url, { markdown, truncated });
    }
    expect(byUrl.get(START)).toEqual({ markdown: '# Start\n\nHello.', truncated: undefined });
    expect(byUrl.get(p1)).toEqual({ markdown: 'Body of page 1.', truncated: undefined });
    expect(byUrl.get(atUrl)).toEqual({ markdown: atMarkdown, truncated: undefined });
    const past = byUrl.get(pastUrl)!;
    expect(past.truncated).toBe(true);
    expect(past.markdown).toBe(atMarkdown.slice(0, atMarkdown.length - ',"truncated":true'.length));
    expect(Buffer.byteLength(client.events.find((e) => e.data.includes(pastUrl))!.data)).toBe(MAX_EVENT_BYTES);
  });

  it('resumes mid-stream with markdown still joined, follows new pages as they settle, and leaves a stream without include unchanged', async () => {
    const api = await startApi(useRedis('sim2'));
    const id = await postCrawl(api);
    const links = [0, 1, 2, 3].map((i) => `${START}p${i}`);
    await settleStart(api.store, id, links);
    await settlePage(api.store, id, links[0]!, 0);
    const before = await storedEvents(api.store, id);
    const cursor = before[before.length - 1]!.id;

    const resumed = await openStream(api.base, streamOf(id, '?include=markdown'), { 'last-event-id': cursor });
    const plain = await openStream(api.base, streamOf(id, `?lastEventId=${cursor}`));
    for (const [i, link] of links.slice(1).entries()) await settlePage(api.store, id, link, i + 1);
    await resumed.done;
    await plain.done;
    const stored = await storedEvents(api.store, id);
    const after = stored.slice(stored.findIndex((e) => e.id === cursor) + 1);
    expect(plain.events).toEqual(after);
    expect(resumed.events.map((e) => e.id)).toEqual(after.map((e) => e.id));
    const pages = resumed.events.filter((e) => e.event === 'page').map((e) => JSON.parse(e.data));
    expect(pages.map((p) => [p.url, p.markdown])).toEqual(links.slice(1).map((link, i) => [link, `Body of page ${i + 1}.`]));
    expect(resumed.events.at(-1)!.event).toBe('completed');
  });

  it('reads the markdown of STREAM_MARKDOWN_BATCH page events with one HMGET, and of one more with two', async () => {
    // A redis-server of its own: commandstats count every client's commands, other test files' too.
    const redis = useRedis('sim4', (await startExtraRedis()).url);
    const api = await startApi(redis);
    const admin = redis.connect();
    const hmgets = async () => Number(/cmdstat_hmget:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    /** HMGET calls of a replay with include=markdown, less those of the same replay without it. */
    async function joinReads(id: string): Promise<number> {
      const counts: number[] = [];
      for (const query of ['?lastEventId=0', '?lastEventId=0&include=markdown']) {
        const before = await hmgets();
        const client = await openStream(api.base, streamOf(id, query));
        await client.done;
        expect(client.events.filter((e) => e.event === 'page')).toHaveLength(pagesOf.get(id)!);
        counts.push((await hmgets()) - before);
      }
      return counts[1]! - counts[0]!;
    }
    const pagesOf = new Map<string, number>();
    for (const pages of [STREAM_MARKDOWN_BATCH, STREAM_MARKDOWN_BATCH + 1]) {
      const id = await postCrawl(api);
      await playCrawl(api.store, id, pages - 1); // the start page and pages - 1 more
      pagesOf.set(id, pages);
      expect(await joinReads(id)).toBe(pages === STREAM_MARKDOWN_BATCH ? 1 : 2);
    }
  });

  it('refuses any other include with 400 invalid_include, on both paths', async () => {
    const api = await startApi(useRedis('sim3'));
    const id = await postCrawl(api);
    // `html` takes the lean path; the comma (not a plain query) and the repeat go through Fastify.
    for (const query of ['?include=html', '?include=markdown,html', '?include=', '?include=markdown&include=markdown']) {
      const reply = await call(api.base, 'GET', streamOf(id, query));
      expect(reply.status, query).toBe(400);
      if (!query.includes('&include')) expect(errorCode(reply), query).toBe('invalid_include');
      else expect(errorCode(reply), query).toBe('validation_failed');
    }
  });
});
