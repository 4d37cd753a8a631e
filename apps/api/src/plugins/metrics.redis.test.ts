import { crawl } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, openStream, START, settlePage, settleStart, startApi } from '../test-support/harness.js';

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
    // 11 pages were processed between the two scrapes.
    expect(sample(text, 'crawlstream_pages_per_second')).toBeGreaterThan(0);
    expect(text).toContain('process_resident_memory_bytes');
  });
});
