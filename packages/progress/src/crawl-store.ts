// Every change to a crawl's state in Redis goes through this class, and every
// change is one Lua call (scripts.ts): create, claim, settle (and the chunks
// of a page's links before it), dispatch, re-dispatch, cancel, fail,
// progress, host slots, robots.txt and its lock. Each refuses once the crawl
// has ended, so no key is written after its TTL is set. Reads live here too.
import {
  type Counters,
  type Crawl,
  type CrawlErrorItem,
  type CrawlOptions,
  crawlKeys,
  DEFAULT_KEY_PREFIX,
  type ErrorInfo,
  type FAILURE_REASONS,
  globalKeys,
  MAX_LINKS_PER_PAGE,
  MAX_MESSAGE_LENGTH,
  MAX_TITLE_LENGTH,
  MAX_URL_LENGTH,
  newCrawlId,
  type PageResult,
  isTerminalStatus,
  type SKIP_REASONS,
} from '@crawlstream/shared';
import type { Redis } from 'ioredis';
import { type EventFrame, makeFrame } from './frames.js';
import { moveCrawlStatus, notePagesProcessed } from './crawl-counts.js';
import { decodePage, encodePage } from './pages.js';
import { jsonBytes, ResultPage } from './result-page.js';
import { runScript } from './scripts.js';
import { truncateText } from './truncate.js';

export interface CrawlStoreOptions {
  redis: Redis;
  /** Key prefix (tests use one each). */
  prefix?: string;
  /** How long a finished crawl is kept (CRAWL_TTL_SECONDS). */
  ttlSeconds?: number;
  /** Approximate cap of the event log (XADD MAXLEN ~). */
  maxEvents?: number;
}

/** A URL handed to a job: the caller enqueues one job per dispatch, with this job id. */
export interface Dispatch {
  url: string;
  depth: number;
  jobId: string;
}

export type PageOutcome =
  | {
      kind: 'processed';
      url: string;
      title: string;
      depth: number;
      status: number;
      bytes: number;
      durationMs: number;
      markdown: string;
      fetchedAt?: string;
      /**
       * The URL the page was fetched from after redirects, when it differs
       * from `url`: the settle claims it, or settles the page as skipped
       * (`redirect_known`) when the crawl already knew it.
       */
      finalUrl?: string;
      /** The markdown was cut at MAX_MARKDOWN_BYTES. */
      truncated?: boolean;
      /** In-scope links the caller did not pass (past MAX_LINKS_PER_PAGE). */
      linksDropped?: number;
      /**
       * Normalized, in-scope links found on the page, claimed at depth + 1;
       * those past MAX_LINKS_PER_PAGE are counted in the page's `linksDropped`.
       */
      links?: string[];
    }
  | {
      kind: 'failed';
      url: string;
      reason: (typeof FAILURE_REASONS)[number];
      message: string;
      status?: number;
      attempts: number;
    }
  | { kind: 'skipped'; url: string; reason: (typeof SKIP_REASONS)[number]; message?: string };

export type SettleResult =
  | {
      result: 'settled';
      completed: boolean;
      counters: Counters;
      dispatched: Dispatch[];
    }
  | { result: 'duplicate' | 'unknown' | 'missing' }
  | { result: 'finished'; status: string };

export type TransitionResult =
  | { result: 'done' }
  | { result: 'missing' }
  | { result: 'finished'; status: string };

export interface InflightEntry {
  url: string;
  generation: number;
  dispatchedAt: number;
  depth: number;
}

type Reply = (string | number | Buffer | null)[] | null;

function toDispatches(reply: Reply, from: number): Dispatch[] {
  const out: Dispatch[] = [];
  if (!reply) return out;
  for (let i = from; i + 2 < reply.length; i += 3) {
    out.push({ url: String(reply[i]), depth: Number(reply[i + 1]), jobId: String(reply[i + 2]) });
  }
  return out;
}

type Arg = string | number | Buffer;

interface SettleItem {
  args: Arg[];
  /** Bytes and links the record adds to a settle call. */
  bytes: number;
  links: number;
  resolve(result: SettleResult): void;
  reject(error: unknown): void;
}
interface SettleBatch {
  pending: SettleItem[];
  flushing: boolean;
}

/** Page blobs read per round trip while filling a byte budget: the first read, and the most per read. */
const FIRST_PAGES_READ = 8;
const MAX_PAGES_READ = 64;

/**
 * At most this much per settle, claimLinks or claim call, so no call comes
 * near MAX_REDIS_COMMAND_MS (50 ms): a page's links travel in chunks of at
 * most LINK_CHUNK_COUNT links and LINK_CHUNK_BYTES characters, and a settle
 * call carries at most one chunk's worth of links in all. Claiming a link
 * costs Redis about 10 us plus 25 ns a character (it is stored in the seen
 * hash, the frontier and a `discovered` event), so a chunk is 1-2 ms; measured
 * by limits.redis.test.ts (SLOWLOG_DIAGNOSTIC=1): median call 0.9 ms.
 */
const MAX_BATCH_RECORDS = 64;
const MAX_BATCH_BYTES = 1024 * 1024;
const LINK_CHUNK_COUNT = 100;
const LINK_CHUNK_BYTES = 32 * 1024;

function argBytes(args: Arg[]): number {
  return args.reduce<number>((n, arg) => n + (typeof arg === 'number' ? 8 : arg.length), 0);
}

function takeBatch(pending: SettleItem[]): SettleItem[] {
  let bytes = 0;
  let links = 0;
  let count = 0;
  while (count < pending.length && count < MAX_BATCH_RECORDS) {
    const item = pending[count]!;
    if (count > 0 && (bytes + item.bytes > MAX_BATCH_BYTES || links + item.links > LINK_CHUNK_COUNT)) break;
    bytes += item.bytes;
    links += item.links;
    count++;
  }
  return pending.splice(0, count);
}

/** Links in chunks of at most LINK_CHUNK_COUNT links and LINK_CHUNK_BYTES characters. */
function chunkLinks(links: string[]): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let bytes = 0;
  for (const link of links) {
    if (chunk.length > 0 && (chunk.length >= LINK_CHUNK_COUNT || bytes + link.length > LINK_CHUNK_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(link);
    bytes += link.length;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** A processed page's links as the store keeps them: at most MAX_LINKS_PER_PAGE, none over MAX_URL_LENGTH. */
function keptLinks(outcome: Extract<PageOutcome, { kind: 'processed' }>, finalUrl: string) {
  // The final URL is claimed by the settle itself (a self-link must not make the page redirect_known).
  const links = (outcome.links ?? []).filter((link) => link.length <= MAX_URL_LENGTH && link !== finalUrl);
  const dropped = Math.max(links.length - MAX_LINKS_PER_PAGE, 0) + (outcome.linksDropped ?? 0);
  return { links: dropped > 0 ? links.slice(0, MAX_LINKS_PER_PAGE) : links, dropped };
}

/** One settle record's ARGV values (settle-13.lua), with the page's last chunk of links. */
function settleArgs(outcome: PageOutcome, finalUrl: string, lastLinks: string[], linksDropped: number): Arg[] {
  if (outcome.kind === 'processed') {
    const { url, depth, status, bytes, durationMs, markdown } = outcome;
    const title = truncateText(outcome.title, MAX_TITLE_LENGTH);
    const page: PageResult = {
      url,
      title,
      depth,
      status,
      markdown,
      fetchedAt: outcome.fetchedAt ?? new Date().toISOString(),
      ...(outcome.truncated ? { truncated: true } : {}),
      ...(linksDropped > 0 ? { linksDropped } : {}),
    };
    const redirectItem: CrawlErrorItem = {
      url,
      kind: 'skipped',
      reason: 'redirect_known',
      message: truncateText(`redirects to ${finalUrl}, which this crawl already has`, MAX_MESSAGE_LENGTH),
    };
    return [
      url,
      'processed',
      'page',
      JSON.stringify({ url, title, depth, status, bytes, durationMs }),
      encodePage(page),
      depth + 1,
      finalUrl,
      finalUrl === '' ? '' : JSON.stringify({ url, reason: 'redirect_known' }),
      finalUrl === '' ? '' : JSON.stringify(redirectItem),
      lastLinks.length,
      ...lastLinks,
    ];
  }
  const status = outcome.kind === 'failed' && outcome.status !== undefined ? { status: outcome.status } : {};
  const message = truncateText(
    outcome.kind === 'failed' ? outcome.message : (outcome.message ?? outcome.reason.replaceAll('_', ' ')),
    MAX_MESSAGE_LENGTH,
  );
  const item: CrawlErrorItem = { url: outcome.url, kind: outcome.kind, reason: outcome.reason, message, ...status };
  const event =
    outcome.kind === 'failed'
      ? { url: outcome.url, reason: outcome.reason, message, ...status, attempts: outcome.attempts }
      : { url: outcome.url, reason: outcome.reason };
  return [
    outcome.url,
    outcome.kind,
    outcome.kind === 'failed' ? 'page_failed' : 'page_skipped',
    JSON.stringify(event),
    JSON.stringify(item),
    0,
    '',
    '',
    '',
    0,
  ];
}

function iso(ms: string | undefined): string | undefined {
  return ms === undefined || ms === '' ? undefined : new Date(Number(ms)).toISOString();
}

/** Builds the public crawl object from the meta hash and counters. */
export function crawlFromMeta(meta: Record<string, string>, counters: Counters): Crawl {
  const crawl: Crawl = {
    id: meta.id!,
    url: meta.url!,
    status: meta.status as Crawl['status'],
    options: JSON.parse(meta.options!) as CrawlOptions,
    counters,
    createdAt: iso(meta.createdAt)!,
  };
  const startedAt = iso(meta.startedAt);
  const finishedAt = iso(meta.finishedAt);
  if (startedAt) crawl.startedAt = startedAt;
  if (finishedAt) crawl.finishedAt = finishedAt;
  if (meta.error) crawl.error = JSON.parse(meta.error) as ErrorInfo;
  return crawl;
}

export class CrawlStore {
  readonly redis: Redis;
  readonly prefix: string;
  readonly ttlSeconds: number;
  readonly maxEvents: number;

  constructor(options: CrawlStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.ttlSeconds = options.ttlSeconds ?? 86_400;
    this.maxEvents = options.maxEvents ?? 100_000;
  }

  keys(id: string) {
    return crawlKeys(id, this.prefix);
  }

  /** The pub/sub channel that wakes readers of one crawl. */
  channel(id: string): string {
    return this.keys(id).wake;
  }

  private run(name: Parameters<typeof runScript>[1], id: string, args: Arg[] = []) {
    return runScript(this.redis, name, this.prefix, id, args);
  }

  /**
   * Creates a crawl: stored, its `started` event appended and its start URL
   * dispatched before this resolves, so any instance can serve it at once.
   */
  async create(input: {
    url: string;
    options: CrawlOptions;
    owner?: string;
    id?: string;
  }): Promise<{ crawl: Crawl; dispatched: Dispatch[] }> {
    const id = input.id ?? newCrawlId();
    const { options } = input;
    const reply = await this.run('createCrawl', id, [
      id,
      input.url,
      JSON.stringify(options),
      input.owner ?? '',
      this.maxEvents,
      this.ttlSeconds,
      this.channel(id),
      options.maxPages,
      options.maxDepth,
      options.concurrency,
    ]);
    if (reply?.[0] === 'exists') throw new Error(`crawl ${id} exists already`);
    const global = globalKeys(this.prefix);
    const now = Date.now();
    await this.redis
      .multi()
      .zadd(global.crawlIndex, now, id)
      .zadd(global.active, now, id)
      .zadd(global.crawlsByStatus('running'), 'NX', now, id)
      .exec();
    const crawl = await this.get(id);
    return { crawl: crawl!, dispatched: toDispatches(reply, 1) };
  }

  /** The crawl object, or null when it does not exist (or expired). */
  async get(id: string): Promise<Crawl | null> {
    const opened = await this.open(id, '');
    return opened ? opened.crawl : null;
  }

  /** The owner recorded at creation ('' when none). */
  async owner(id: string): Promise<string | null> {
    return this.redis.hget(this.keys(id).meta, 'owner');
  }

  /**
   * Atomic read for stream readers: crawl, newest event id, terminal event id
   * and a verdict on the cursor ('' = none).
   */
  async open(
    id: string,
    cursor: string,
  ): Promise<{
    verdict: 'snapshot' | 'replay' | 'ended' | 'trimmed' | 'unknown';
    lastId: string;
    terminalId: string | null;
    crawl: Crawl;
  } | null> {
    const reply = (await this.run('open', id, [cursor])) as string[] | null;
    if (!reply) return null;
    const [verdict, lastId, terminalId] = reply as [string, string, string];
    const bar = reply.indexOf('|', 3);
    const meta: Record<string, string> = {};
    for (let i = 3; i < bar; i += 2) meta[reply[i]!] = reply[i + 1]!;
    const [discovered, processed, failed, skipped] = reply.slice(bar + 1).map(Number) as number[];
    return {
      verdict: verdict as 'snapshot',
      lastId,
      terminalId: terminalId || null,
      crawl: crawlFromMeta(meta, {
        discovered: discovered!,
        processed: processed!,
        failed: failed!,
        skipped: skipped!,
      }),
    };
  }

  /**
   * Claims URLs found outside a settle (sitemaps), idempotent per parent. A
   * long list goes in chunks (one claim call each, the chunk's parent key is
   * `parent#i` past the first), so no call is big.
   */
  async claim(
    id: string,
    parent: string,
    depth: number,
    urls: string[],
  ): Promise<
    | { result: 'claimed'; accepted: string[]; fresh: boolean; dispatched: Dispatch[] }
    | { result: 'missing' }
    | { result: 'finished'; status: string }
  > {
    const chunks = chunkLinks(urls.filter((url) => url.length <= MAX_URL_LENGTH));
    const claimed = { result: 'claimed' as const, accepted: [] as string[], fresh: false, dispatched: [] as Dispatch[] };
    for (const [i, chunk] of (chunks.length > 0 ? chunks : [[]]).entries()) {
      const key = i === 0 ? parent : `${parent}#${i}`;
      const reply = (await this.run('claim', id, [key, depth, ...chunk])) as (string | number)[];
      if (reply[0] === 'missing') return { result: 'missing' };
      if (reply[0] === 'finished') return { result: 'finished', status: String(reply[1]) };
      const count = Number(reply[1]);
      claimed.accepted.push(...reply.slice(3, 3 + count).map(String));
      claimed.fresh ||= Number(reply[2]) === 1;
      claimed.dispatched.push(...toDispatches(reply, 3 + count + 1));
    }
    return claimed;
  }

  /**
   * Settles one URL exactly once; see settle-13.lua. A page with more links
   * than one chunk first claims the others chunk by chunk (claimLinks-13.lua,
   * idempotent, the page still in flight), and its settle carries the last
   * chunk: no call is big, and a crash between them loses nothing. Settles of
   * one crawl that arrive while a call for it is in flight are sent together
   * in the next call (group commit): one round trip for many pages under
   * load, no added wait when idle.
   */
  async settle(id: string, outcome: PageOutcome): Promise<SettleResult> {
    let finalUrl = '';
    let last: string[] = [];
    let dropped = 0;
    if (outcome.kind === 'processed') {
      if (outcome.finalUrl !== undefined && outcome.finalUrl !== outcome.url) finalUrl = outcome.finalUrl;
      const kept = keptLinks(outcome, finalUrl);
      dropped = kept.dropped;
      const chunks = chunkLinks(kept.links);
      last = chunks.pop() ?? [];
      for (const chunk of chunks) {
        const reply = (await this.run('claimLinks', id, [outcome.url, finalUrl, outcome.depth + 1, ...chunk])) as (
          | string
          | number
        )[];
        if (reply[0] === 'missing') return { result: 'missing' };
        if (reply[0] === 'finished') return { result: 'finished', status: String(reply[1]) };
        // Settled already, unknown or redirect_known: claim no more; the settle gives the answer.
        if (reply[0] !== 'claimed') {
          last = [];
          break;
        }
      }
    }
    const args = settleArgs(outcome, finalUrl, last, dropped);
    return new Promise((resolve, reject) => {
      let batch = this.batches.get(id);
      if (!batch) {
        batch = { pending: [], flushing: false };
        this.batches.set(id, batch);
      }
      batch.pending.push({ args, bytes: argBytes(args), links: last.length, resolve, reject });
      if (!batch.flushing) void this.flush(id, batch);
    });
  }

  private readonly batches = new Map<string, SettleBatch>();

  private async flush(id: string, batch: SettleBatch): Promise<void> {
    batch.flushing = true;
    while (batch.pending.length > 0) {
      const items = takeBatch(batch.pending);
      try {
        const reply = (await this.run('settle', id, [items.length, ...items.flatMap((item) => item.args)])) as (
          | string
          | number
        )[];
        const results = this.settleResults(reply, items.length);
        // The rate is a metric: it never delays or fails a settle that Redis already applied.
        this.countProcessed(items, results).catch(() => {});
        if (results.some((r) => r.result === 'settled' && r.completed)) await this.forgetActive(id);
        for (const [i, item] of items.entries()) item.resolve(results[i]!);
      } catch (error) {
        for (const item of items) item.reject(error);
      }
    }
    batch.flushing = false;
    this.batches.delete(id);
  }

  private settleResults(reply: (string | number)[], n: number): SettleResult[] {
    const head = reply[0];
    if (head === 'missing') return Array.from({ length: n }, () => ({ result: 'missing' }));
    if (head === 'finished') {
      return Array.from({ length: n }, () => ({ result: 'finished', status: String(reply[1]) }));
    }
    const [, completed, discovered, processed, failed, skipped] = reply.map(Number);
    const counters = { discovered: discovered!, processed: processed!, failed: failed!, skipped: skipped! };
    const dispatched = toDispatches(reply as Reply, 7 + n);
    let handedOut = false;
    return reply.slice(7, 7 + n).map((result) => {
      if (result !== 'settled') return { result: result as 'duplicate' };
      // The batch's dispatches go to one caller, who enqueues them.
      const mine = handedOut ? [] : dispatched;
      handedOut = true;
      return { result: 'settled', completed: completed === 1, counters, dispatched: mine };
    });
  }

  /** Fills free slots from the frontier; completes a drained crawl. */
  async dispatch(id: string): Promise<
    { result: 'dispatched'; completed: boolean; dispatched: Dispatch[] } | { result: 'missing' } | { result: 'finished'; status: string }
  > {
    const reply = (await this.run('dispatch', id)) as (string | number)[];
    if (reply[0] === 'missing') return { result: 'missing' };
    if (reply[0] === 'finished') return { result: 'finished', status: String(reply[1]) };
    const completed = Number(reply[1]) === 1;
    if (completed) await this.forgetActive(id);
    return { result: 'dispatched', completed, dispatched: toDispatches(reply as Reply, 2) };
  }

  /** Gives an in-flight URL a new job if its generation is still `generation`. */
  async redispatch(id: string, url: string, generation: number): Promise<Dispatch | null> {
    const reply = (await this.run('redispatch', id, [url, generation])) as string[];
    if (reply[0] !== 'redispatched') return null;
    return { url: reply[1]!, depth: Number(reply[2]), jobId: reply[3]! };
  }

  async cancel(id: string): Promise<TransitionResult> {
    return this.transition(id, await this.run('cancel', id), 'cancelled');
  }

  async fail(id: string, error: ErrorInfo): Promise<TransitionResult> {
    const bounded = { ...error, message: truncateText(error.message, MAX_MESSAGE_LENGTH) };
    return this.transition(id, await this.run('fail', id, [JSON.stringify(bounded)]), 'failed');
  }

  private async transition(id: string, reply: Reply, won: string): Promise<TransitionResult> {
    const head = reply?.[0];
    if (head === won) {
      await this.forgetActive(id);
      return { result: 'done' };
    }
    if (head === 'missing') return { result: 'missing' };
    return { result: 'finished', status: String(reply?.[1]) };
  }

  /** A `progress` event unless one was appended less than `minIntervalMs` ago. */
  async appendProgress(
    id: string,
    minIntervalMs: number,
  ): Promise<{ result: 'appended' } | { result: 'throttled'; msLeft: number } | { result: 'finished' | 'missing' }> {
    const reply = (await this.run('appendProgress', id, [minIntervalMs])) as (string | number)[];
    if (reply[0] === 'appended') return { result: 'appended' };
    if (reply[0] === 'throttled') return { result: 'throttled', msLeft: Number(reply[1]) };
    return { result: reply[0] === 'missing' ? 'missing' : 'finished' };
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
    return Object.entries(all).map(([url, record]) => {
      const [generation, dispatchedAt, depth] = record.split('|').map(Number);
      return { url, generation: generation!, dispatchedAt: dispatchedAt!, depth: depth! };
    });
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

  /** LLEN and LRANGE of a list in one step. */
  private async listRange(key: string, offset: number, limit: number): Promise<[number, string[]]> {
    const replies = await this.redis.multi().llen(key).lrange(key, offset, offset + limit - 1).exec();
    if (!replies) throw new Error('MULTI was aborted');
    for (const [error] of replies) if (error) throw error;
    return [Number(replies[0]![1]), replies[1]![1] as string[]];
  }

  /** Events after `cursor` ('0' = from the first), or `lost` when the log no longer has them. */
  async readAfter(id: string, cursor: string, count: number): Promise<EventFrame[] | 'lost'> {
    const reply = (await this.run('readAfter', id, [cursor, count])) as string[];
    if (reply[0] === 'lost') return 'lost';
    const frames: EventFrame[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      frames.push(makeFrame(id, reply[i]!, reply[i + 1] as EventFrame['type'], reply[i + 2]!));
    }
    return frames;
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

  /**
   * Reserves this host's next request slot for the crawl (politeness across
   * workers): the wait in ms (0 = now) and the slot's time; null when the
   * crawl is not running (nothing is written then).
   */
  async reserveHostSlot(id: string, host: string, gapMs: number): Promise<{ waitMs: number; slotAt: number } | null> {
    const reply = (await this.run('hostSlot', id, [host, gapMs])) as (string | number)[];
    if (reply[0] !== 'slot') return null;
    return { waitMs: Number(reply[1]), slotAt: Number(reply[2]) };
  }

  /** The status only (one small read): cheaper than get() on a hot path. */
  async status(id: string): Promise<string | null> {
    return this.redis.hget(this.keys(id).meta, 'status');
  }

  /** robots.txt of a host as stored for this crawl (see saveRobots), or null. */
  async robots(id: string, host: string): Promise<string | null> {
    return this.redis.hget(this.keys(id).robots, host);
  }

  /** Stores a host's robots.txt for this crawl and releases its lock; false (nothing written) when the crawl is not running. */
  async saveRobots(id: string, host: string, value: string): Promise<boolean> {
    const reply = (await this.run('saveRobots', id, [host, value])) as string[];
    return reply[0] === 'saved';
  }

  /**
   * Takes the right to fetch a host's robots.txt for this crawl, for `ms`:
   * `locked` (fetch it, then saveRobots), `busy` (another worker has it: wait),
   * `stored` (read it with robots()), or `finished` (the crawl is not running;
   * nothing is written).
   */
  async lockRobots(id: string, host: string, ms: number): Promise<'locked' | 'busy' | 'stored' | 'finished'> {
    const reply = (await this.run('lockRobots', id, [host, ms])) as string[];
    const head = reply[0];
    return head === 'locked' || head === 'busy' || head === 'stored' ? head : 'finished';
  }

  /** Ids of crawls that may still be running (for the sweep). */
  async activeIds(): Promise<string[]> {
    return this.redis.zrange(globalKeys(this.prefix).active, 0, -1);
  }

  /**
   * A crawl ended: moved to its terminal status's set (crawl-counts.ts), then
   * out of `active`. In that order: a crash in between leaves it in `active`,
   * and the sweep calls this again.
   */
  async forgetActive(id: string): Promise<void> {
    const [status = null, finishedAt = null] = await this.redis.hmget(this.keys(id).meta, 'status', 'finishedAt');
    if (status !== 'running') {
      const terminal = status !== null && isTerminalStatus(status) ? status : null;
      await moveCrawlStatus(this.redis, this.prefix, id, terminal, Number(finishedAt) || Date.now());
    }
    await this.redis.zrem(globalKeys(this.prefix).active, id);
  }

  /** Pages processed by a settle call, for the cluster-wide pages per second. */
  private async countProcessed(items: SettleItem[], results: SettleResult[]): Promise<void> {
    let processed = 0;
    for (const [i, item] of items.entries()) if (item.args[1] === 'processed' && results[i]?.result === 'settled') processed++;
    await notePagesProcessed(this.redis, this.prefix, processed);
  }
}
