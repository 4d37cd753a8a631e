// Prometheus metrics at /metrics (prom-client, one registry per app so that
// tests can run several apps in one process). Per process: HTTP latency, open
// streams, events delivered, delivery lag, streams cut off. Cluster-wide,
// read from Redis at scrape time (every instance reports the same values):
// crawls by status and pages per second.
import { crawlKeys, globalKeys, routePatterns } from '@crawlstream/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Metric, Registry } from 'prom-client';

/** Crawls looked at for `crawlstream_crawls` (the newest ones). */
const STATUS_SCAN_LIMIT = 10_000;

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
  /** Deliveries counted since the last scrape: a plain Map on the hot path, flushed into the counter on collect. */
  private delivered = new Map<string, number>();
  private processed = new Map<string, number>();
  private lastRateAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
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
    new Gauge({
      name: 'crawlstream_crawls',
      help: `Crawls by status (cluster-wide, the newest ${STATUS_SCAN_LIMIT})`,
      labelNames: ['status'],
      registers,
      async collect() {
        const counts = await metrics.countByStatus().catch(() => null);
        if (!counts) return;
        this.reset();
        for (const [status, n] of counts) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'crawlstream_pages_per_second',
      help: 'Pages processed per second across all running crawls (cluster-wide, since the previous scrape)',
      registers,
      async collect() {
        const rate = await metrics.pageRate().catch(() => null);
        if (rate !== null) this.set(rate);
      },
    });
  }

  /** One event written to one client. */
  noteDelivered(type: string): void {
    this.delivered.set(type, (this.delivered.get(type) ?? 0) + 1);
  }

  private async countByStatus(): Promise<Map<string, number>> {
    const ids = await this.redis.zrevrange(globalKeys(this.prefix).crawlIndex, 0, STATUS_SCAN_LIMIT - 1);
    const counts = new Map<string, number>(
      ['queued', 'running', 'completed', 'failed', 'cancelled'].map((s) => [s, 0]),
    );
    if (ids.length === 0) return counts;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(crawlKeys(id, this.prefix).meta, 'status');
    for (const [, status] of (await pipeline.exec()) ?? []) {
      if (typeof status === 'string') counts.set(status, (counts.get(status) ?? 0) + 1);
    }
    return counts;
  }

  /** Pages processed since the previous scrape, per second, over the running crawls and those that just ended. */
  private async pageRate(): Promise<number> {
    const active = await this.redis.zrange(globalKeys(this.prefix).active, 0, -1);
    const ids = [...new Set([...active, ...this.processed.keys()])];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(crawlKeys(id, this.prefix).counters, 'processed');
    const replies = ids.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    const now = Date.now();
    const first = this.lastRateAt === 0;
    let delta = 0;
    const next = new Map<string, number>();
    const stillActive = new Set(active);
    for (const [i, id] of ids.entries()) {
      const processed = Number(replies[i]?.[1] ?? 0);
      const before = this.processed.get(id);
      if (!first) delta += Math.max(0, processed - (before ?? 0));
      if (stillActive.has(id)) next.set(id, processed);
    }
    const seconds = (now - this.lastRateAt) / 1000;
    this.processed = next;
    this.lastRateAt = now;
    return first || seconds <= 0 ? 0 : delta / seconds;
  }
}

async function metricsPlugin(app: FastifyInstance, options: { metrics: ApiMetrics }): Promise<void> {
  const { metrics } = options;
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
    { schema: { hide: true }, config: { rateLimit: false } },
    async (_request, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}

export const metricsRoutes = fp(metricsPlugin, { name: 'crawlstream-metrics' });
