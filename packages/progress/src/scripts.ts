// The script layer: the only caller of the Lua scripts in ../lua, and the
// only code that knows their argument order and reply layout. Each script is
// loaded once (resolving `--@include` lines and turning its `--@keys` line
// into locals), registered with ioredis' defineCommand (EVALSHA with an
// automatic EVAL fallback), given exactly the keys it declares, and its reply
// decoded into named fields here.
import { readdirSync, readFileSync } from 'node:fs';
import { type CrawlKeys, crawlKeys, type Counters, globalKeys, MAX_REJECTED_PER_CRAWL, PAGES_PER_JOB } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import type { PageJob } from './page-jobs.js';

const LUA_DIR = new URL('../lua/', import.meta.url);

/** Every per-crawl key a script may take, in the order includes/crawl.lua names them. */
const KEY_ORDER = [
  'meta',
  'counters',
  'events',
  'seen',
  'frontier',
  'inflight',
  'done',
  'pages',
  'pageOrder',
  'errors',
  'expanded',
  'robots',
  'hosts',
  'secrets',
  'dedupe',
  'rejected',
  'rejectedOrder',
] as const satisfies readonly (keyof CrawlKeys)[];
type KeyName = (typeof KEY_ORDER)[number];

const SCRIPT_NAMES = [
  'createCrawl',
  'claim',
  'claimLinks',
  'settle',
  'dispatch',
  'redispatch',
  'cancel',
  'fail',
  'appendProgress',
  'open',
  'readAfter',
  'hostSlot',
  'lockRobots',
  'saveRobots',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

interface LoadedScript {
  /** The Lua source, includes resolved and the key locals bound. */
  lua: string;
  /** The keys it takes, in KEYS order. */
  keys: KeyName[];
}

/** Limits the scripts share with the TypeScript side: `{{NAME}}` in a script is replaced by the number. */
const LUA_CONSTANTS: Record<string, number> = { PAGES_PER_JOB, MAX_REJECTED_PER_CRAWL };

function readLua(file: string, seen: Set<string>): string {
  const source = readFileSync(new URL(file, LUA_DIR), 'utf8').replace(/\{\{(\w+)\}\}/g, (_match, name: string) => {
    const value = LUA_CONSTANTS[name];
    if (value === undefined) throw new Error(`${file}: unknown constant {{${name}}}`);
    return String(value);
  });
  return source.replace(/^--@include (\S+)$/gm, (_line, include: string) => {
    if (seen.has(include)) return '';
    seen.add(include);
    return readLua(include, seen);
  });
}

/** `name-N.lua`, whose `--@keys` line names N keys. */
function loadScript(name: ScriptName): LoadedScript {
  const file = readdirSync(LUA_DIR).find((f) => new RegExp(`^${name}-\\d+\\.lua$`).test(f));
  if (!file) throw new Error(`no Lua script for ${name}`);
  const source = readLua(file, new Set());
  const declared = /^--@keys ((?:\w+ ?)+)$/m.exec(source);
  if (!declared) throw new Error(`${file} declares no --@keys`);
  const keys = declared[1]!.trim().split(' ') as KeyName[];
  for (const key of keys) if (!KEY_ORDER.includes(key)) throw new Error(`${file}: unknown key ${key}`);
  if (file !== `${name}-${keys.length}.lua`) throw new Error(`${file} takes ${keys.length} keys`);
  const locals = KEY_ORDER.map((key) => `${key}Key`).join(', ');
  const values = KEY_ORDER.map((key) => (keys.includes(key) ? `KEYS[${keys.indexOf(key) + 1}]` : 'false')).join(', ');
  return { lua: source.replace(declared[0], `local ${locals} = ${values}`), keys };
}

const loaded = new Map<ScriptName, LoadedScript>();
function script(name: ScriptName): LoadedScript {
  let found = loaded.get(name);
  if (!found) {
    found = loadScript(name);
    loaded.set(name, found);
  }
  return found;
}

/** The keys a script takes, by name in KEYS order (what its file name counts). */
export function scriptKeyNames(name: ScriptName): readonly string[] {
  return script(name).keys;
}

type Arg = string | number | Buffer;
type Raw = string | number | Buffer | null;
type ScriptFn = (...args: Arg[]) => Promise<Raw[] | null>;

/** The answer of a script that refuses to touch a crawl that does not exist or has ended. */
export type Refused = { result: 'missing' } | { result: 'finished'; status: string };

/** The stored fields of a crawl's meta hash, as HGETALL gives them. */
export type MetaFields = Record<string, string>;

/** One record of a settle call (settle-17.lua). */
export interface SettleRecord {
  url: string;
  outcome: 'processed' | 'failed' | 'skipped';
  eventType: 'page' | 'page_failed' | 'page_skipped';
  /** The page event's payload JSON. */
  payload: string;
  /** The stored result: a compressed page, or an error item's JSON. */
  stored: string | Buffer;
  childDepth: number;
  /** '' when the page was not redirected. */
  finalUrl: string;
  /** The redirect_known event payload and error item JSON ('' without a final URL). */
  redirectPayload: string;
  redirectItem: string;
  /** Dedupe (options.dedupe): check and record the page's URLs and canonical; its canonical ('' when none). */
  dedupeCanonical: boolean;
  canonical: string;
  /** The page's content hash when `content` dedupe is on, else ''. */
  contentHash: string;
  /** The (last chunk of) in-scope links. */
  links: string[];
  /** Links the worker did not take, with why (out of scope, globs, robots.txt): recorded as rejected. */
  rejected: readonly (readonly [url: string, reason: string])[];
}

export type SettleOne = 'settled' | 'duplicate' | 'unknown';

export interface CreateArgs {
  url: string;
  optionsJson: string;
  owner: string;
  maxEvents: number;
  ttlSeconds: number;
  channel: string;
  /** globalKeys().ended: where the crawl's end is announced. */
  endedChannel: string;
  maxPages: number;
  maxDepth: number;
  concurrency: number;
  /** The extra start URLs (options.urls), accepted at depth 0 after `url`. */
  startUrls: readonly string[];
  /** The crawl's request headers (options.headers), name and value: written to the secrets hash only. */
  headers: readonly (readonly [string, string])[];
}

export interface EventRow {
  id: string;
  type: string;
  data: string;
}

/**
 * ioredis puts a failed command's arguments on its error (`command.args`),
 * where a logger's error serializer would print them: for the create script
 * they hold the crawl's request headers. Dropped, the command's name kept.
 */
function withoutArgs(error: unknown): unknown {
  if (error !== null && typeof error === 'object' && 'command' in error) {
    const { command } = error as { command?: { name?: unknown } };
    (error as { command?: unknown }).command = { name: command?.name, args: '[not logged: may hold request headers]' };
  }
  return error;
}

function refused(reply: Raw[]): Refused | null {
  if (reply[0] === 'missing') return { result: 'missing' };
  if (reply[0] === 'finished') return { result: 'finished', status: String(reply[1]) };
  return null;
}

function pageJobs(reply: Raw[], from: number): PageJob[] {
  const out: PageJob[] = [];
  for (let i = from; i + 2 < reply.length; i += 3) {
    out.push({ url: String(reply[i]), depth: Number(reply[i + 1]), jobId: String(reply[i + 2]) });
  }
  return out;
}

function counters(values: Raw[]): Counters {
  const [discovered, processed, failed, skipped] = values.map(Number);
  return { discovered: discovered!, processed: processed!, failed: failed!, skipped: skipped! };
}

export class Scripts {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {
    const marked = redis as RedisConnection & { __crawlstreamScripts?: true };
    if (marked.__crawlstreamScripts) return;
    for (const name of SCRIPT_NAMES) {
      const { lua, keys } = script(name);
      redis.defineCommand(`cs_${name}`, { numberOfKeys: keys.length, lua });
    }
    marked.__crawlstreamScripts = true;
  }

  /** The pub/sub channel that wakes readers of one crawl. */
  channel(id: string): string {
    return crawlKeys(id, this.prefix).wake;
  }

  /** The pub/sub channel where each crawl's end is announced (its id). */
  endedChannel(): string {
    return globalKeys(this.prefix).ended;
  }

  private async call(name: ScriptName, id: string, args: Arg[] = []): Promise<Raw[] | null> {
    const all = crawlKeys(id, this.prefix);
    const fn = (this.redis as unknown as Record<string, ScriptFn>)[`cs_${name}`]!;
    return fn.call(this.redis, ...script(name).keys.map((key) => all[key]), ...args);
  }

  private async run(name: ScriptName, id: string, args: Arg[] = []): Promise<Raw[]> {
    return (await this.call(name, id, args)) ?? [];
  }

  async createCrawl(id: string, c: CreateArgs): Promise<{ result: 'exists' } | { result: 'created'; jobs: PageJob[] }> {
    const reply = await this.run('createCrawl', id, [
      id,
      c.url,
      c.optionsJson,
      c.owner,
      c.maxEvents,
      c.ttlSeconds,
      c.channel,
      c.maxPages,
      c.maxDepth,
      c.concurrency,
      c.endedChannel,
      // A wake channel is a sharded channel on a cluster (its slot is the crawl's).
      this.redis.isCluster ? 'SPUBLISH' : 'PUBLISH',
      c.headers.length,
      ...c.headers.flat(),
      ...c.startUrls,
    ]).catch((error: unknown) => {
      throw withoutArgs(error);
    });
    if (reply[0] === 'exists') return { result: 'exists' };
    return { result: 'created', jobs: pageJobs(reply, 1) };
  }

  async claim(
    id: string,
    parent: string,
    depth: number,
    urls: string[],
  ): Promise<Refused | { result: 'claimed'; accepted: string[]; fresh: boolean; jobs: PageJob[] }> {
    const reply = await this.run('claim', id, [parent, depth, ...urls]);
    const no = refused(reply);
    if (no) return no;
    const count = Number(reply[1]);
    return {
      result: 'claimed',
      accepted: reply.slice(3, 3 + count).map(String),
      fresh: Number(reply[2]) === 1,
      jobs: pageJobs(reply, 3 + count + 1),
    };
  }

  async claimLinks(
    id: string,
    page: { url: string; finalUrl: string; childDepth: number; links: string[] },
  ): Promise<Refused | { result: 'unknown' | 'settled' | 'redirect_known' } | { result: 'claimed'; accepted: number }> {
    const reply = await this.run('claimLinks', id, [page.url, page.finalUrl, page.childDepth, ...page.links]);
    const no = refused(reply);
    if (no) return no;
    if (reply[0] === 'claimed') return { result: 'claimed', accepted: Number(reply[1]) };
    return { result: reply[0] as 'unknown' };
  }

  async settle(
    id: string,
    records: readonly SettleRecord[],
  ): Promise<Refused | { result: 'batch'; completed: boolean; counters: Counters; results: SettleOne[]; jobs: PageJob[] }> {
    const args: Arg[] = [records.length];
    for (const r of records) {
      args.push(
        r.url,
        r.outcome,
        r.eventType,
        r.payload,
        r.stored,
        r.childDepth,
        r.finalUrl,
        r.redirectPayload,
        r.redirectItem,
        r.dedupeCanonical ? '1' : '0',
        r.canonical,
        r.contentHash,
        r.links.length,
        ...r.links,
        r.rejected.length,
        ...r.rejected.flat(),
      );
    }
    const reply = await this.run('settle', id, args);
    const no = refused(reply);
    if (no) return no;
    const n = records.length;
    return {
      result: 'batch',
      completed: Number(reply[1]) === 1,
      counters: counters(reply.slice(2, 6)),
      results: reply.slice(7, 7 + n).map(String) as SettleOne[],
      jobs: pageJobs(reply, 7 + n),
    };
  }

  async dispatch(id: string): Promise<Refused | { result: 'dispatched'; completed: boolean; jobs: PageJob[] }> {
    const reply = await this.run('dispatch', id);
    const no = refused(reply);
    if (no) return no;
    return { result: 'dispatched', completed: Number(reply[1]) === 1, jobs: pageJobs(reply, 2) };
  }

  async redispatch(
    id: string,
    url: string,
    generation: number,
  ): Promise<Refused | { result: 'stale' } | { result: 'redispatched'; job: PageJob; generation: number }> {
    const reply = await this.run('redispatch', id, [url, generation]);
    const no = refused(reply);
    if (no) return no;
    if (reply[0] !== 'redispatched') return { result: 'stale' };
    return { result: 'redispatched', job: pageJobs(reply, 1)[0]!, generation: Number(reply[4]) };
  }

  async cancel(id: string): Promise<Refused | { result: 'cancelled' }> {
    const reply = await this.run('cancel', id);
    return refused(reply) ?? { result: 'cancelled' };
  }

  async fail(id: string, errorJson: string): Promise<Refused | { result: 'failed' }> {
    const reply = await this.run('fail', id, [errorJson]);
    return refused(reply) ?? { result: 'failed' };
  }

  async appendProgress(
    id: string,
    minIntervalMs: number,
  ): Promise<Refused | { result: 'throttled'; msLeft: number } | { result: 'appended'; eventId: string }> {
    const reply = await this.run('appendProgress', id, [minIntervalMs]);
    const no = refused(reply);
    if (no) return no;
    if (reply[0] === 'throttled') return { result: 'throttled', msLeft: Number(reply[1]) };
    return { result: 'appended', eventId: String(reply[1]) };
  }

  /** open-3.lua: null when the crawl does not exist. */
  async open(
    id: string,
    cursor: string,
  ): Promise<{
    verdict: 'snapshot' | 'replay' | 'ended' | 'trimmed' | 'unknown';
    lastId: string;
    terminalId: string | null;
    meta: MetaFields;
    counters: Counters;
    /** The rejected counts: 'rejected:<reason>' and 'rejectedDropped' fields of the counters hash. */
    rejected: Record<string, number>;
  } | null> {
    const reply = await this.call('open', id, [cursor]);
    if (!reply) return null;
    const bar = reply.indexOf('|', 3);
    const meta: MetaFields = {};
    for (let i = 3; i < bar; i += 2) meta[String(reply[i])] = String(reply[i + 1]);
    return {
      verdict: String(reply[0]) as 'snapshot',
      lastId: String(reply[1]),
      terminalId: String(reply[2]) || null,
      meta,
      counters: counters(reply.slice(bar + 1, bar + 5)),
      rejected: Object.fromEntries(
        Array.from({ length: Math.floor((reply.length - bar - 5) / 2) }, (_, i) => [String(reply[bar + 5 + 2 * i]), Number(reply[bar + 6 + 2 * i])]),
      ),
    };
  }

  /** Events after `cursor`, or `lost` when the log no longer has them. */
  async readAfter(id: string, cursor: string, count: number): Promise<EventRow[] | 'lost'> {
    const reply = await this.run('readAfter', id, [cursor, count]);
    if (reply[0] === 'lost') return 'lost';
    const rows: EventRow[] = [];
    for (let i = 1; i + 2 < reply.length; i += 3) {
      rows.push({ id: String(reply[i]), type: String(reply[i + 1]), data: String(reply[i + 2]) });
    }
    return rows;
  }

  async hostSlot(
    id: string,
    host: string,
    gapMs: number,
    heldSlotAt?: number,
  ): Promise<Refused | { result: 'slot'; waitMs: number; slotAt: number }> {
    const reply = await this.run('hostSlot', id, [host, gapMs, heldSlotAt ?? '']);
    return refused(reply) ?? { result: 'slot', waitMs: Number(reply[1]), slotAt: Number(reply[2]) };
  }

  async lockRobots(id: string, host: string, ms: number): Promise<Refused | { result: 'locked' | 'busy' | 'stored' }> {
    const reply = await this.run('lockRobots', id, [host, ms]);
    return refused(reply) ?? { result: reply[0] as 'locked' };
  }

  /** The crawl's request headers (its secrets hash): empty when it has none, or has ended. */
  async requestHeaders(id: string): Promise<Record<string, string>> {
    return this.redis.hgetall(crawlKeys(id, this.prefix).secrets);
  }

  async saveRobots(id: string, host: string, value: string): Promise<Refused | { result: 'saved' }> {
    const reply = await this.run('saveRobots', id, [host, value]);
    return refused(reply) ?? { result: 'saved' };
  }
}
