import { crawl, crawlOptions } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { type Api, call, errorCode, openStream, START, settlePage, settleStart, startApi } from '../test-support/harness.js';

/** The value of an unlabelled sample. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('/metrics', () => {
  it('exposes HTTP latency, streams, deliveries, lag, crawls by status and pages per second', async () => {
    const api = await startApi(useRedis('m'));
    const created = crawl.parse((await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } })).json);
    const other = crawl.parse((await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } })).json);
    await call(api.base, 'DELETE', `/api/crawl-v2/${other.id}`);
    const client = await openStream(api.base, `/api/crawl-v2/${created.id}/stream?lastEventId=0`);
    await client.waitFor((c) => c.events.length >= 2, 10_000, 'events');

    const baseline = await call(api.base, 'GET', '/metrics');
    expect(baseline.status).toBe(200);
    expect(baseline.headers['content-type']).toMatch(/^text\/plain/);
    expect(sample(baseline.text, 'crawlstream_open_streams')).toBe(1);

    const links = Array.from({ length: 10 }, (_, i) => `${START}p${i}`);
    await settleStart(api.store, created.id, links);
    for (const [i, url] of links.entries()) await settlePage(api.store, created.id, url, i);
    await client.done;

    const text = (await call(api.base, 'GET', '/metrics')).text;
    expect(text).toMatch(/crawlstream_http_request_duration_seconds_count\{method="POST",route="\/api\/crawl-v2",status_code="201"\} 2/);
    expect(sample(text, 'crawlstream_open_streams')).toBe(0);
    expect(text).toMatch(new RegExp(`crawlstream_events_delivered_total\\{type="page"\\} ${links.length + 1}`));
    expect(text).toMatch(/crawlstream_events_delivered_total\{type="completed"\} 1/);
    expect(sample(text, 'crawlstream_delivery_lag_seconds_count')).toBe(client.events.length);
    expect(text).toMatch(new RegExp(`crawlstream_delivery_lag_seconds_bucket\\{le="\\+Inf"\\} ${client.events.length}\n`));
    expect(text).toMatch(/# TYPE crawlstream_delivery_lag_seconds histogram/);
    expect(text).toMatch(/crawlstream_crawls\{status="completed"\} 1/);
    expect(text).toMatch(/crawlstream_crawls\{status="cancelled"\} 1/);
    expect(text).toMatch(/crawlstream_crawls\{status="running"\} 0/);
    // 11 pages were processed between the two scrapes (each process writes its count once a second).
    await expect
      .poll(async () => sample((await call(api.base, 'GET', '/metrics')).text, 'crawlstream_pages_per_second'), { timeout: 5000 })
      .toBeGreaterThan(0);
    expect(text).toContain('process_resident_memory_bytes');
  });
});

/** Redis commands the API's command connection sends while `work` runs. */
async function commandsDuring(api: Api, work: () => Promise<unknown>): Promise<string[]> {
  const { redis } = api.app.crawlstream;
  const sent: string[] = [];
  const original = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: { name: string }, ...rest: unknown[]) => {
    sent.push(command.name);
    return (original as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof redis.sendCommand;
  try {
    await work();
  } finally {
    redis.sendCommand = original;
  }
  return sent;
}

describe('/metrics at scale and behind a token', () => {
  it('a scrape costs the same Redis commands with 3 crawls as with 300', async () => {
    const api = await startApi(useRedis('mc'));
    const scrape = async () => {
      const reply = await call(api.base, 'GET', '/metrics');
      expect(reply.status).toBe(200);
      return reply.text;
    };
    const create = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const { crawl: created } = await api.store.create({ url: START, options: crawlOptions.parse({}) });
        if (i % 3 === 1) await api.store.cancel(created.id);
      }
    };
    await create(3);
    const few = await commandsDuring(api, scrape);
    expect(sample(await scrape(), 'crawlstream_crawls{status="running"}')).toBe(2);
    await create(297);
    const many = await commandsDuring(api, scrape);
    const text = await scrape();
    expect(sample(text, 'crawlstream_crawls{status="running"}')).toBe(200);
    expect(sample(text, 'crawlstream_crawls{status="cancelled"}')).toBe(100);
    expect(many).toEqual(few);
    expect(few.length).toBeLessThanOrEqual(16);
  });

  it('pages per second is the same however often it is scraped', async () => {
    const api = await startApi(useRedis('mr'));
    const created = crawl.parse((await call(api.base, 'POST', '/api/crawl-v2', { body: { url: START } })).json);
    const links = Array.from({ length: 11 }, (_, i) => `${START}p${i}`);
    await settleStart(api.store, created.id, links);
    for (const [i, url] of links.entries()) await settlePage(api.store, created.id, url, i);
    // Each process writes its count once a second; then the rate holds still however often it is read.
    await expect.poll(async () => sample((await call(api.base, 'GET', '/metrics')).text, 'crawlstream_pages_per_second'), { timeout: 5000 }).toBe(12 / 60);
    const rates: (number | undefined)[] = [];
    for (let i = 0; i < 3; i++) rates.push(sample((await call(api.base, 'GET', '/metrics')).text, 'crawlstream_pages_per_second'));
    expect(rates).toEqual([12 / 60, 12 / 60, 12 / 60]);
  });

  it('with METRICS_TOKEN: 401 without it or with another, 200 with it', async () => {
    const token = 'scrape-token-0123456789';
    const api = await startApi(useRedis('mt'), { settings: { metricsToken: token } });
    for (const headers of [{} as Record<string, string>, { authorization: 'Bearer scrape-token-012345678X' }, { authorization: `Bearer ${token}x` }, { authorization: token }]) {
      const refused = await call(api.base, 'GET', '/metrics', { headers });
      expect(refused.status, JSON.stringify(headers)).toBe(401);
      expect(errorCode(refused)).toBe('unauthorized');
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="crawlstream metrics"');
      expect(refused.text).not.toContain('crawlstream_');
    }
    const scraped = await call(api.base, 'GET', '/metrics', { headers: { authorization: `Bearer ${token}` } });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('crawlstream_crawls');
  });
});
