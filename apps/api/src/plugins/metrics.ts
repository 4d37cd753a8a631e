// Prometheus metrics at /metrics (prom-client, one registry per app so that
// tests can run several apps in one process). Per process: HTTP latency, open
// streams, events delivered, delivery lag, streams cut off. Cluster-wide,
// read from Redis at scrape time (every instance reports the same values):
// crawls by status and pages per second, kept up to date as crawls change
// (progress/crawl-counts.ts), so a scrape costs the same few commands however
// many crawls there are, and changes nothing. With METRICS_TOKEN set, a
// scrape needs `Authorization: Bearer <token>`.
import { timingSafeEqual } from 'node:crypto';
import { countCrawlsByStatus, pagesPerSecond, RATE_WINDOW_SECONDS } from '@crawlstream/progress';
import { routePatterns } from '@crawlstream/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { ApiError } from '../errors.js';
import { bearerKey } from '../access.js';
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';

/**
 * A label-less Prometheus histogram whose observe() allocates nothing: it
 * runs once per event per open stream (a hundred thousand times a second at
 * 10,000 streams), where prom-client's Histogram builds several objects per
 * call. Exposed in the registry exactly as a prom-client histogram.
 */
export class CheapHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registry: Registry,
  ) {
    this.counts = new Float64Array(buckets.length);
    registry.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    const { buckets, counts } = this;
    for (let i = 0; i < buckets.length; i++) {
      if (value <= buckets[i]!) {
        counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }

  /** What the registry renders (the shape of prom-client's histograms). */
  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    let cumulative = 0;
    for (const [i, le] of this.buckets.entries()) {
      cumulative += this.counts[i]!;
      values.push({ labels: { le }, value: cumulative, metricName: `${this.name}_bucket` });
    }
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: `${this.name}_bucket` });
    values.push({ labels: {}, value: this.sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class ApiMetrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly openStreams: Gauge;
  readonly eventsDelivered: Counter<'type'>;
  readonly deliveryLag: CheapHistogram;
  readonly streamsCutOff: Counter<'reason'>;
  readonly connectHookDuration: Histogram;
  readonly connectHookOutcomes: Counter<'outcome'>;
  readonly disconnectNotices: Counter<'outcome'>;
  readonly streamOpens: Counter<'status'>;
  readonly timeToFirstEvent: Histogram;
  /** Deliveries counted since the last scrape: a plain Map on the hot path, flushed into the counter on collect. */
  private delivered = new Map<string, number>();

  constructor(
    readonly redis: RedisConnection,
    readonly prefix: string,
    /** CRAWL_TTL_SECONDS: how long an ended crawl is kept, and counted. */
    readonly keepSeconds: number,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'crawlstream_http_request_duration_seconds',
      help: 'HTTP request latency (streams excluded), by route pattern',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.openStreams = new Gauge({
      name: 'crawlstream_open_streams',
      help: 'SSE connections open on this process',
      registers,
    });
    const metrics = this;
    this.eventsDelivered = new Counter({
      name: 'crawlstream_events_delivered_total',
      help: 'Stream events written to clients, by type',
      labelNames: ['type'],
      registers,
      collect() {
        for (const [type, n] of metrics.delivered) this.inc({ type }, n);
        metrics.delivered.clear();
      },
    });
    this.deliveryLag = new CheapHistogram(
      'crawlstream_delivery_lag_seconds',
      'Time from an event being appended to it being written to a client (replays included)',
      [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      this.registry,
    );
    this.streamsCutOff = new Counter({
      name: 'crawlstream_streams_cut_off_total',
      help: 'Streams ended by the server: slow (did not drain in time) or shutdown',
      labelNames: ['reason'],
      registers,
    });
    this.connectHookDuration = new Histogram({
      name: 'crawlstream_stream_connect_hook_seconds',
      help: 'Time the connect hook (STREAM_CONNECT_URL) took to answer, whatever the outcome',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.connectHookOutcomes = new Counter({
      name: 'crawlstream_stream_connect_hook_total',
      help: 'Connect hook calls by outcome: allowed, refused (401/403/404/429 relayed), timeout (504), unavailable (503), failed (502), client_gone',
      labelNames: ['outcome'],
      registers,
    });
    this.disconnectNotices = new Counter({
      name: 'crawlstream_stream_disconnect_notices_total',
      help: 'Disconnect notices (STREAM_DISCONNECT_URL) by outcome: sent, failed (every attempt failed), dropped (queue full or shutting down)',
      labelNames: ['outcome'],
      registers,
    });
    this.streamOpens = new Counter({
      name: 'crawlstream_stream_opens_total',
      help: 'Stream requests by the status they were answered with (200 opened, 204, refusals; gone: the client left first)',
      labelNames: ['status'],
      registers,
    });
    this.timeToFirstEvent = new Histogram({
      name: 'crawlstream_stream_first_event_seconds',
      help: 'Time from a stream request to its first event written (connect hook included)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    new Gauge({
      name: 'crawlstream_crawls',
      help: 'Crawls still kept (CRAWL_TTL_SECONDS), by status (cluster-wide)',
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await countCrawlsByStatus(metrics.redis, metrics.prefix, metrics.keepSeconds).catch(() => null);
        if (!counts) return;
        this.reset();
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'crawlstream_pages_per_second',
      help: `Pages processed per second across the cluster, over the last ${RATE_WINDOW_SECONDS} s`,
      registers,
      async collect() {
        const rate = await pagesPerSecond(metrics.redis, metrics.prefix).catch(() => null);
        if (rate !== null) this.set(rate);
      },
    });
  }

  /** One event written to one client. */
  noteDelivered(type: string): void {
    this.delivered.set(type, (this.delivered.get(type) ?? 0) + 1);
  }
}

const METRICS_CHALLENGE = { 'www-authenticate': 'Bearer realm="crawlstream metrics"' } as const;

/** Whether `authorization` is `Bearer <token>`, compared in constant time. */
function bearerMatches(authorization: string | undefined, token: string): boolean {
  const given = Buffer.from(bearerKey(authorization) ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function metricsPlugin(app: FastifyInstance, options: { metrics: ApiMetrics; token: string | null }): Promise<void> {
  const { metrics, token } = options;
  app.addHook('onResponse', async (request, reply) => {
    // A stream's "response time" is its lifetime: not latency.
    if (request.routeOptions.url === routePatterns.stream) return;
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.get(
    routePatterns.metrics,
    // Its own token (METRICS_TOKEN), not an API key.
    { schema: { hide: true }, config: { rateLimit: false, auth: 'public' } },
    async (request, reply) => {
      if (token !== null && !bearerMatches(request.headers.authorization, token)) {
        throw new ApiError('unauthorized', 'A valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)', undefined, METRICS_CHALLENGE);
      }
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}

export const metricsRoutes = fp(metricsPlugin, { name: 'crawlstream-metrics' });
