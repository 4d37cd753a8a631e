// What every fault scenario shares: a scenario is a function that builds its
// own world (private Redis, site, API and worker processes), runs the crawl
// without the fault and then with it, and returns one report row. Every
// invariant a user depends on that does not hold is listed in
// `row.problems` (and makes the row FAILED): the crawl terminal with exact
// counts, every URL once in /pages, every stream reader whole (one terminal
// event, no event twice, its pages adding up to the final counters). Healing
// times are measured and set against their target; only a generous `boundS`
// counts as a problem.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Crawl, CrawlOptionsInput } from '@crawlstream/shared';
import { type CrawlVerdict, call, crawlSeconds, postCrawl, verifyCrawl, waitForSettled, waitForTerminal } from './crawl-api.js';
import type { ApiProc, Proc } from './processes.js';
import type { SiteOptions } from './site.js';
import { type Row, terminalsText } from './report.js';
import { CRAWL_OPTIONS, CRAWL_PAGES, openStack, type Stack, type StartRedis } from './stack.js';
import { type ReaderSummary, readersVerdict, StreamReader } from './stream-reader.js';

export interface Scenario {
  name: string;
  /** Seconds the issue allows for healing (printed beside the measure). */
  targetS?: number;
  /** A generous bound the test asserts (the old design was clearly beyond it). */
  boundS?: number;
  run(startRedis?: StartRedis): Promise<Row>;
}

export interface Run {
  crawl: Crawl | undefined;
  verdict: CrawlVerdict;
  readers: ReaderSummary[];
  /** Seconds from start to finish, by the crawl's own timestamps. */
  seconds: number;
  /** Epoch ms at which the crawl finished (server clock, same machine). */
  finishedAt: number;
}

export interface RunOptions {
  /** Readers and the API instances they fail over across (default: the first base). */
  readers?: number;
  readerBases?: string[];
  slowReaders?: number;
  options?: CrawlOptionsInput;
  pages?: number;
  /** The fault, started when this fraction of the pages has settled (or when `when()` turns true). */
  fault?: { at: number; when?: () => boolean; act: (settledCount: number) => Promise<void> };
  timeoutMs?: number;
}

export const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
export const round = (value: number) => Math.round(value * 10) / 10;

/** Polls `condition` every 10 ms; false after 60 s. */
export async function waitUntil(condition: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/** POST until an instance answers 201 (an instance may still be starting). */
export async function startCrawl(bases: string[], url: string, options: CrawlOptionsInput): Promise<Crawl> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const answer = await postCrawl(bases[attempt % bases.length]!, url, options);
    if (answer.status === 201 && answer.body) return answer.body;
    await sleep(100);
  }
  throw new Error(`POST never answered 201 on ${bases.join(', ')}`);
}

/** One crawl of copy `k` of the site, with readers and an optional fault; checked when it ends. */
export async function runCrawl(stack: Stack, bases: string[], k: number, options: RunOptions = {}): Promise<Run> {
  const crawlOptions = options.options ?? CRAWL_OPTIONS;
  const pages = options.pages ?? CRAWL_PAGES;
  const created = await startCrawl(bases, stack.site.start(k), crawlOptions);
  const readerBases = options.readerBases ?? [bases[0]!];
  const readers = [
    ...Array.from({ length: options.readers ?? 0 }, () => new StreamReader({ bases: readerBases, crawlId: created.id })),
    ...Array.from(
      { length: options.slowReaders ?? 0 },
      () => new StreamReader({ bases: readerBases, crawlId: created.id, slow: { everyMs: 1500, pauseMs: 1000 } }),
    ),
  ];
  let fault: Promise<void> = Promise.resolve();
  if (options.fault) {
    const { at, when, act } = options.fault;
    const count = Math.ceil(pages * at);
    const reached = when ? waitUntil(when) : waitForSettled(bases, created.id, count);
    fault = reached.then((ok) => {
      if (!ok) throw new Error(`the crawl never reached the point of its fault (${count} settled pages)`);
      return act(count);
    });
  }
  const timeoutMs = options.timeoutMs ?? 150_000;
  const [crawl] = await Promise.all([waitForTerminal(bases, created.id, timeoutMs), fault]);
  const summaries = await Promise.all(readers.map((reader) => reader.done));
  const all = stack.site.pageUrls(k);
  const verdict = await verifyCrawl(bases.at(-1)!, crawl, pages < all.length ? pages : all, `crawl ${k}`);
  const finishedAt = crawl?.finishedAt ? Date.parse(crawl.finishedAt) : Date.now();
  return { crawl, verdict, readers: summaries, seconds: crawl ? crawlSeconds(crawl) : timeoutMs / 1000, finishedAt };
}

interface RowParts {
  scenario: Scenario;
  fault: string;
  baseline?: Run;
  hit: Run;
  heldS?: number;
  /** Overrides the default heal (extra time beyond the baseline and the held fault). */
  healS?: number;
  notes?: string;
  problems?: string[];
}

export function rowOf(parts: RowParts): Row {
  const { scenario, baseline, hit } = parts;
  const runs = baseline ? [baseline, hit] : [hit];
  const readers = readersVerdict(hit.readers);
  const baselineReaders = baseline ? readersVerdict(baseline.readers) : undefined;
  const healS =
    parts.healS ?? (baseline ? Math.max(0, hit.seconds - baseline.seconds - (parts.heldS ?? 0)) : undefined);
  const problems = [
    ...runs.flatMap((run) => run.verdict.problems),
    ...readers.problems,
    ...(baselineReaders?.problems.map((p) => `without the fault: ${p}`) ?? []),
    ...(parts.problems ?? []),
  ];
  if (healS !== undefined && scenario.boundS !== undefined && healS > scenario.boundS) {
    problems.push(`healed in ${round(healS)} s, beyond the bound of ${scenario.boundS} s`);
  }
  return {
    scenario: scenario.name,
    fault: parts.fault,
    ...(baseline ? { baselineS: round(baseline.seconds) } : {}),
    faultedS: round(hit.seconds),
    ...(parts.heldS !== undefined ? { heldS: round(parts.heldS) } : {}),
    ...(healS !== undefined ? { healS: round(healS) } : {}),
    ...(scenario.targetS !== undefined ? { targetS: scenario.targetS } : {}),
    pagesLost: sum(runs.map((run) => run.verdict.lost)),
    eventsDuplicated: readers.duplicated + (baselineReaders?.duplicated ?? 0),
    terminalEvents: terminalsText(readers.terminals),
    readersWhole: hit.readers.length ? `${readers.whole}/${hit.readers.length}` : '-',
    ...(parts.notes ? { notes: parts.notes } : {}),
    result: problems.length ? 'FAILED' : 'ok',
    ...(problems.length ? { problems } : {}),
  };
}

/** A scenario on its own stack, closed whatever happens. */
export async function onStack<T>(startRedis: StartRedis | undefined, fn: (stack: Stack) => Promise<T>, site?: Partial<SiteOptions>): Promise<T> {
  const stack = await openStack(startRedis, site);
  try {
    return await fn(stack);
  } finally {
    await stack.close();
  }
}

export async function apiAndWorkers(stack: Stack, workers = 2, redisUrl = stack.redis.url): Promise<{ api: ApiProc; workers: Proc[] }> {
  const [api, ...started] = await Promise.all([
    stack.procs.startApi({ redisUrl: stack.redis.url }),
    ...Array.from({ length: workers }, () => stack.procs.startWorker({ redisUrl })),
  ]);
  return { api: api as ApiProc, workers: started as Proc[] };
}

export const readyz = (base: string) => async () => (await call(base, 'GET', '/readyz')).status;
