// Test fixtures: a CrawlStore on the run's real Redis under a prefix of its own.
import { crawlKeys, crawlOptionsSchema, type CrawlOptionsInput, type EventOf } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { CrawlStore, type CrawlStoreOptions } from '../crawl-store.js';
import { type EventFrame, parseFrame } from '../frames.js';
import type { PageJob, PageJobs } from '../page-jobs.js';
import type { PageOutcome } from '../settle-records.js';

/** A page queue in memory: what the store enqueued, in order; every job is alive unless `alive` says otherwise. */
export class RecordingJobs implements PageJobs {
  /** Every URL added, in order (URLs sharing a job id are one job; a job id added again later is kept once, as BullMQ does). */
  readonly added: (PageJob & { crawlId: string })[] = [];
  /** Calls of add() with at least one job. */
  adds = 0;
  /** The jobs not taken yet (take()). */
  private pending: PageJob[] = [];
  private readonly ids = new Set<string>();
  isAlive: (jobId: string) => boolean | Promise<boolean> = () => true;

  async add(crawlId: string, jobs: readonly PageJob[]): Promise<void> {
    if (jobs.length > 0) this.adds++;
    const known = new Set(this.ids);
    for (const job of jobs) {
      if (known.has(job.jobId)) continue;
      this.ids.add(job.jobId);
      this.added.push({ crawlId, ...job });
      this.pending.push(job);
    }
  }

  async alive(jobId: string): Promise<boolean> {
    return this.isAlive(jobId);
  }

  /** The jobs added since the last take(), oldest first. */
  take(): PageJob[] {
    const jobs = this.pending;
    this.pending = [];
    return jobs;
  }

  urls(): string[] {
    return this.take().map((job) => job.url);
  }
}

export function testStore(overrides: Partial<CrawlStoreOptions> = {}) {
  const redis = useRedis('p');
  const connection = redis.connect();
  const jobs = new RecordingJobs();
  const store = new CrawlStore({ redis: connection, prefix: redis.prefix, jobs, ...overrides });
  /** Another store on its own connection, sharing the prefix and the queue (another process, in effect). */
  const another = (): CrawlStore =>
    new CrawlStore({ redis: redis.connect(), prefix: redis.prefix, jobs, ...overrides });
  return { store, another, redis, connection, jobs, keys: (id: string) => crawlKeys(id, redis.prefix) };
}

export function options(input: CrawlOptionsInput = {}) {
  return crawlOptionsSchema().parse(input);
}

/** Every stored event of a crawl, in order. */
export function allEvents(store: CrawlStore, id: string): Promise<EventFrame[]> {
  return store.readAll(id);
}

export function ofType<T extends EventFrame['type']>(frames: EventFrame[], type: T): EventOf<T>[] {
  return frames.filter((f) => f.type === type).map((f) => parseFrame(f) as EventOf<T>);
}

export async function ttlOfAllKeys(redis: RedisConnection, prefix: string, id: string): Promise<number[]> {
  const keys = Object.entries(crawlKeys(id, prefix))
    .filter(([name]) => name !== 'wake')
    .map(([, key]) => key);
  const ttls: number[] = [];
  for (const key of keys) if (await redis.exists(key)) ttls.push(await redis.ttl(key));
  return ttls;
}

/** A processed page outcome with plausible fields, for settles in tests. */
export const page = (url: string, links: string[] = [], depth = 0): Extract<PageOutcome, { kind: 'processed' }> => ({
  kind: 'processed',
  url,
  title: `T ${url}`,
  depth,
  status: 200,
  bytes: 100,
  durationMs: 5,
  markdown: `# ${url}`,
  links,
});
