// The only caller of the Lua scripts in ../lua: loads each once (resolving
// `--@include` lines), registers it with ioredis' defineCommand (EVALSHA with
// an automatic EVAL fallback), and exposes it with typed arguments.
import { readFileSync } from 'node:fs';
import { crawlKeys } from '@crawlstream/shared';
import type { Redis } from 'ioredis';

const LUA_DIR = new URL('../lua/', import.meta.url);
const CRAWL_KEY_COUNT = 13;

function loadLua(name: string, seen = new Set<string>()): string {
  const source = readFileSync(new URL(name, LUA_DIR), 'utf8');
  return source.replace(/^--@include (\S+)$/gm, (_line, include: string) => {
    if (seen.has(include)) return '';
    seen.add(include);
    return loadLua(include, seen);
  });
}

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
type ScriptName = (typeof SCRIPT_NAMES)[number];

/** The 13 keys every per-crawl script takes, in the order includes/crawl.lua names them. */
export function scriptKeys(id: string, prefix: string): string[] {
  const k = crawlKeys(id, prefix);
  return [
    k.meta,
    k.counters,
    k.events,
    k.seen,
    k.frontier,
    k.inflight,
    k.done,
    k.pages,
    k.pageOrder,
    k.errors,
    k.expanded,
    k.robots,
    k.hosts,
  ];
}

type Arg = string | number | Buffer;
type Reply = (string | number | Buffer | null)[] | null;
type ScriptFn = (...args: Arg[]) => Promise<Reply>;

const sources = new Map<ScriptName, string>();
function source(name: ScriptName): string {
  let lua = sources.get(name);
  if (!lua) {
    lua = loadLua(`${name}-${CRAWL_KEY_COUNT}.lua`);
    sources.set(name, lua);
  }
  return lua;
}

/** Registers every script on a connection (idempotent per connection). */
export function defineScripts(redis: Redis): void {
  const marked = redis as Redis & { __crawlstreamScripts?: true };
  if (marked.__crawlstreamScripts) return;
  for (const name of SCRIPT_NAMES) {
    redis.defineCommand(`cs_${name}`, { numberOfKeys: CRAWL_KEY_COUNT, lua: source(name) });
  }
  marked.__crawlstreamScripts = true;
}

/** Calls one script for one crawl. */
export function runScript(
  redis: Redis,
  name: ScriptName,
  prefix: string,
  crawlId: string,
  args: Arg[] = [],
): Promise<Reply> {
  defineScripts(redis);
  const fn = (redis as unknown as Record<string, ScriptFn>)[`cs_${name}`]!;
  return fn.call(redis, ...scriptKeys(crawlId, prefix), ...args);
}

/** The raw source, for benchmarks and tests that count round trips. */
export function scriptSource(name: ScriptName): string {
  return source(name);
}
