// The HTTP API as the scenarios use it: start a crawl, wait for its terminal
// state through any API instance that answers, and check the result the way a
// user would read it (counters, and every URL once in /pages).
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Crawl,
  type CrawlOptionsInput,
  crawlPath,
  crawlsPath,
  type PageResult,
  pagesPath,
  withQuery,
} from '@crawlstream/shared';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

export interface Answer<T> {
  status: number;
  body: T | undefined;
}

/** One JSON request; a refused or reset connection answers status 0. */
export async function call<T>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as T) : undefined };
  } catch {
    return { status: 0, body: undefined };
  }
}

/** POST a crawl; 201 (or 200 for a known Idempotency-Key) with the crawl, else status and no crawl. */
export function postCrawl(base: string, url: string, options: CrawlOptionsInput, idempotencyKey?: string): Promise<Answer<Crawl>> {
  return call<Crawl>(base, 'POST', crawlsPath(), { url, options }, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
}

/** The crawl from the first base that answers 200, or undefined. */
export async function getCrawl(bases: string[], id: string): Promise<Crawl | undefined> {
  for (const base of bases) {
    const answer = await call<Crawl>(base, 'GET', crawlPath(id));
    if (answer.status === 200) return answer.body;
  }
  return undefined;
}

export const isTerminal = (crawl: Crawl | undefined): boolean => crawl !== undefined && TERMINAL.has(crawl.status);

/** Polls until the crawl is terminal (any base that answers), or undefined after `timeoutMs`. */
export async function waitForTerminal(bases: string[], id: string, timeoutMs: number): Promise<Crawl | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const crawl = await getCrawl(bases, id);
    if (isTerminal(crawl)) return crawl;
    if (Date.now() > deadline) return undefined;
    await sleep(100);
  }
}

/** Polls until `settled` (processed + failed + skipped) reaches `count`; false after `timeoutMs`. */
export async function waitForSettled(bases: string[], id: string, count: number, timeoutMs = 60_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const crawl = await getCrawl(bases, id);
    if (crawl && settled(crawl) >= count) return true;
    await sleep(20);
  }
  return false;
}

export const settled = (crawl: Crawl): number => crawl.counters.processed + crawl.counters.failed + crawl.counters.skipped;

/** Every stored page URL, in order, read through /pages. */
export async function storedPageUrls(base: string, id: string): Promise<string[]> {
  const urls: string[] = [];
  let cursor: string | undefined;
  do {
    const answer = await call<{ items: PageResult[]; nextCursor: string | null }>(base, 'GET', withQuery(pagesPath(id), { limit: 100, cursor }));
    if (answer.status !== 200 || !answer.body) throw new Error(`GET pages answered ${answer.status}`);
    urls.push(...answer.body.items.map((page) => page.url));
    cursor = answer.body.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return urls;
}

/** Seconds a finished crawl ran, from the server's own timestamps. */
export function crawlSeconds(crawl: Crawl): number {
  return (Date.parse(crawl.finishedAt ?? '') - Date.parse(crawl.startedAt ?? crawl.createdAt)) / 1000;
}

export interface CrawlVerdict {
  /** Expected URLs missing from /pages. */
  lost: number;
  /** URLs stored more than once. */
  twice: number;
  /** What is wrong, in words (empty when exact). */
  problems: string[];
}

/**
 * A finished crawl against what it must be: completed, processed = every
 * expected URL, nothing failed or skipped, processed + failed + skipped =
 * discovered, and /pages holds every expected URL exactly once. `expected`
 * is the URLs, or only their number when `maxPages` cuts the site short (which
 * pages a cut crawl takes depends on the order pages settle).
 */
export async function verifyCrawl(base: string, crawl: Crawl | undefined, expectedUrls: string[] | number, label = 'crawl'): Promise<CrawlVerdict> {
  const count = typeof expectedUrls === 'number' ? expectedUrls : expectedUrls.length;
  if (!crawl) return { lost: count, twice: 0, problems: [`${label}: never reached a terminal state`] };
  const problems: string[] = [];
  const c = crawl.counters;
  if (crawl.status !== 'completed') problems.push(`${label}: status ${crawl.status}`);
  if (c.processed + c.failed + c.skipped !== c.discovered) problems.push(`${label}: processed+failed+skipped ${settled(crawl)} != discovered ${c.discovered}`);
  if (c.discovered !== count || c.processed !== count) {
    problems.push(`${label}: counters ${JSON.stringify(c)}, expected ${count} processed`);
  }
  const urls = await storedPageUrls(base, crawl.id);
  const seen = new Set(urls);
  const twice = urls.length - seen.size;
  const lost = typeof expectedUrls === 'number' ? Math.max(0, count - seen.size) : expectedUrls.filter((url) => !seen.has(url)).length;
  if (twice) problems.push(`${label}: ${twice} URLs stored twice`);
  if (lost) problems.push(`${label}: ${lost} URLs missing from /pages`);
  return { lost, twice, problems };
}
