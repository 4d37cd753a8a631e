// Reads of one crawl: the crawl object, its status and owner, counters,
// in-flight records (for the sweep), stored pages and errors a range at a
// time, and the event log. Nothing here writes.
import {
  type Counters,
  type Crawl,
  type CrawlErrorItem,
  type StoredCrawlOptions,
  crawlKeys,
  type ErrorInfo,
  type PageResult,
  type RejectedItem,
} from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import { type EventFrame, makeFrame } from './frames.js';
import { decodePage } from './pages.js';
import { jsonBytes, ResultPage } from './result-page.js';
import type { Scripts } from './scripts.js';

/** A URL in flight, as its record (frontier.lua) stores it. */
export interface InflightEntry {
  url: string;
  generation: number;
  dispatchedAt: number;
  depth: number;
  /** The job the URL was handed to ('' for a record written before job ids were stored). */
  jobId: string;
}

/** Decodes an in-flight record: "<generation>|<dispatchedAtMs>|<depth>|<jobId>". */
export function inflightEntry(url: string, record: string): InflightEntry {
  const [generation, dispatchedAt, depth, ...jobId] = record.split('|');
  return { url, generation: Number(generation), dispatchedAt: Number(dispatchedAt), depth: Number(depth), jobId: jobId.join('|') };
}

export interface OpenedCrawl {
  verdict: 'snapshot' | 'replay' | 'ended' | 'trimmed' | 'unknown';
  lastId: string;
  terminalId: string | null;
  crawl: Crawl;
  /** The owner recorded at creation ('' when none): a stream is authorized on the same read. */
  owner: string;
}

/** Page blobs read per round trip while filling a byte budget: the first read, and the most per read. */
const FIRST_PAGES_READ = 8;
const MAX_PAGES_READ = 64;

function iso(ms: string | undefined): string | undefined {
  return ms === undefined || ms === '' ? undefined : new Date(Number(ms)).toISOString();
}

/** Builds the public crawl object from the meta hash and counters (and the rejected counts, open-3.lua). */
export function crawlFromMeta(meta: Record<string, string>, counters: Counters, rejected: Record<string, number> = {}): Crawl {
  const crawl: Crawl = {
    id: meta.id!,
    url: meta.url!,
    status: meta.status as Crawl['status'],
    options: JSON.parse(meta.options!) as StoredCrawlOptions,
    counters,
    createdAt: iso(meta.createdAt)!,
  };
  const startedAt = iso(meta.startedAt);
  const finishedAt = iso(meta.finishedAt);
  if (startedAt) crawl.startedAt = startedAt;
  if (finishedAt) crawl.finishedAt = finishedAt;
  if (meta.error) crawl.error = JSON.parse(meta.error) as ErrorInfo;
  const byReason: Record<string, number> = {};
  for (const [field, n] of Object.entries(rejected)) {
    if (field.startsWith('rejected:') && n > 0) byReason[field.slice('rejected:'.length)] = n;
  }
  if (Object.keys(byReason).length > 0) crawl.rejected = byReason;
  if ((rejected.rejectedDropped ?? 0) > 0) crawl.rejectedDropped = rejected.rejectedDropped;
  return crawl;
}

export class CrawlResults {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly scripts: Scripts,
  ) {}

  private keys(id: string) {
    return crawlKeys(id, this.prefix);
  }

  /** The crawl object, or null when it does not exist (or expired). */
  async get(id: string): Promise<Crawl | null> {
    const opened = await this.open(id, '');
    return opened ? opened.crawl : null;
  }

  /**
   * Atomic read for stream readers: crawl, newest event id, terminal event id
   * and a verdict on the cursor ('' = none).
   */
  async open(id: string, cursor: string): Promise<OpenedCrawl | null> {
    const opened = await this.scripts.open(id, cursor);
    if (!opened) return null;
    const { verdict, lastId, terminalId, meta, counters, rejected } = opened;
    return { verdict, lastId, terminalId, crawl: crawlFromMeta(meta, counters, rejected), owner: meta.owner ?? '' };
  }

  /** The owner recorded at creation ('' when none). */
  owner(id: string): Promise<string | null> {
    return this.redis.hget(this.keys(id).meta, 'owner');
  }

  /** The status only (one small read): cheaper than get() on a hot path. */
  status(id: string): Promise<string | null> {
    return this.redis.hget(this.keys(id).meta, 'status');
  }

  async counters(id: string): Promise<Counters> {
    const [discovered, processed, failed, skipped] = await this.redis.hmget(
      this.keys(id).counters,
      'discovered',
      'processed',
      'failed',
      'skipped',
    );
    return {
      discovered: Number(discovered ?? 0),
      processed: Number(processed ?? 0),
      failed: Number(failed ?? 0),
      skipped: Number(skipped ?? 0),
    };
  }

  async inflight(id: string): Promise<InflightEntry[]> {
    const all = await this.redis.hgetall(this.keys(id).inflight);
    return Object.entries(all).map(([url, record]) => inflightEntry(url, record));
  }

  /**
   * Stored pages in settle order, at most `limit` from `offset`, and as many
   * as fit in `maxBytes` of the API's body (result-page.ts; at least one).
   * With a byte budget the blobs are read a few at a time, so a page of
   * results never holds much more than its budget in memory.
   */
  async pages(
    id: string,
    offset: number,
    limit: number,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<{ items: PageResult[]; next: number | null }> {
    const keys = this.keys(id);
    const [total, urls] = await this.listRange(keys.pageOrder, offset, limit);
    if (urls.length === 0) return { items: [], next: null };
    const page = new ResultPage<PageResult>(offset, total, maxBytes);
    const bounded = Number.isFinite(maxBytes);
    let chunk = bounded ? FIRST_PAGES_READ : urls.length;
    for (let from = 0; from < urls.length && !page.full; from += chunk) {
      if (from > 0 && bounded) {
        // As many more as the budget left seems to hold, judging by the pages so far, and one to spare.
        const average = page.bytes / Math.max(1, page.items.length);
        chunk = Math.min(MAX_PAGES_READ, Math.max(1, Math.floor((maxBytes - page.bytes) / average) + 1));
      }
      const blobs = await this.redis.hmgetBuffer(keys.pages, ...urls.slice(from, from + chunk));
      for (const blob of blobs) {
        const item = blob === null ? null : decodePage(blob);
        if (!page.offer(item, item === null || !bounded ? 0 : jsonBytes(item))) break;
      }
    }
    return { items: page.items, next: page.nextCursor === null ? null : offset + page.consumed };
  }

  /**
   * The markdown of stored pages by their URL (the `page` event's), one
   * HMGET for all: undefined for a page not stored (or stored without
   * markdown).
   */
  async pageMarkdowns(id: string, urls: string[]): Promise<(string | undefined)[]> {
    if (urls.length === 0) return [];
    const blobs = await this.redis.hmgetBuffer(this.keys(id).pages, ...urls);
    return blobs.map((blob) => (blob === null ? undefined : decodePage(blob).markdown));
  }

  /** LLEN and LRANGE of a list in one step. */
  private async listRange(key: string, offset: number, limit: number): Promise<[number, string[]]> {
    const replies = await this.redis.multi().llen(key).lrange(key, offset, offset + limit - 1).exec();
    if (!replies) throw new Error('MULTI was aborted');
    for (const [error] of replies) if (error) throw error;
    return [Number(replies[0]![1]), replies[1]![1] as string[]];
  }

  /** Every failure and skip of a crawl (tests and tools; the API reads errorPage). */
  async errors(id: string): Promise<CrawlErrorItem[]> {
    const items = await this.redis.lrange(this.keys(id).errors, 0, -1);
    return items.map((item) => JSON.parse(item) as CrawlErrorItem);
  }

  /** Failures and skips in the order they were settled: as pages() (a range, at most `maxBytes` of body). */
  async errorPage(
    id: string,
    offset: number,
    limit: number,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<{ items: CrawlErrorItem[]; next: number | null }> {
    const [total, raw] = await this.listRange(this.keys(id).errors, offset, limit);
    const page = new ResultPage<CrawlErrorItem>(offset, total, maxBytes);
    // Stored as JSON.stringify wrote them: their length is their length in the body.
    for (const text of raw) if (!page.offer(JSON.parse(text) as CrawlErrorItem, Buffer.byteLength(text))) break;
    return { items: page.items, next: page.nextCursor === null ? null : offset + page.consumed };
  }

  /** Rejected links in the order they were recorded: as errorPage (a range, at most `maxBytes` of body). */
  async rejectedPage(
    id: string,
    offset: number,
    limit: number,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<{ items: RejectedItem[]; next: number | null }> {
    const keys = this.keys(id);
    const [total, urls] = await this.listRange(keys.rejectedOrder, offset, limit);
    if (urls.length === 0) return { items: [], next: null };
    const raw = await this.redis.hmget(keys.rejected, ...urls);
    const page = new ResultPage<RejectedItem>(offset, total, maxBytes);
    for (const text of raw) if (!page.offer(text === null ? null : (JSON.parse(text) as RejectedItem), text === null ? 0 : Buffer.byteLength(text))) break;
    return { items: page.items, next: page.nextCursor === null ? null : offset + page.consumed };
  }

  /** Events after `cursor` ('0' = from the first), or `lost` when the log no longer has them. */
  async readAfter(id: string, cursor: string, count: number): Promise<EventFrame[] | 'lost'> {
    const rows = await this.scripts.readAfter(id, cursor, count);
    if (rows === 'lost') return 'lost';
    return rows.map((row) => makeFrame(id, row.id, row.type as EventFrame['type'], row.data));
  }

  /** The whole event log of a crawl, in order (what a reader from '0' sees); throws when it was trimmed. */
  async readAll(id: string, batchSize = 1000): Promise<EventFrame[]> {
    const frames: EventFrame[] = [];
    let cursor = '0';
    for (;;) {
      const batch = await this.readAfter(id, cursor, batchSize);
      if (batch === 'lost') throw new Error(`the event log of crawl ${id} was trimmed`);
      if (batch.length === 0) return frames;
      frames.push(...batch);
      cursor = batch[batch.length - 1]!.id;
    }
  }
}
