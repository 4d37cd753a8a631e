// robots.txt per host per crawl, fetched once for all workers: the first
// worker to ask takes a short lock, fetches and stores the file in the
// crawl's state; the others wait for it. Each process keeps parsed rules in a
// small LRU so a page costs no Redis read for robots.txt.
import type { CrawlStore } from '@crawlstream/progress';
import {
  type FetchOptions,
  fetchText,
  parseRobots,
  type RobotsRules,
  robotsForUnavailable,
  robotsUrlFor,
} from '@crawlstream/pipeline';

interface StoredRobots {
  /** HTTP status, or absent when the server could not be reached. */
  status?: number;
  body?: string;
}

const LOCK_MS = 30_000;
const WAIT_STEP_MS = 100;

export class RobotsCache {
  private readonly parsed = new Map<string, RobotsRules>();

  constructor(
    private readonly store: CrawlStore,
    private readonly fetchOptions: Omit<FetchOptions, 'timeoutMs' | 'maxBytes'>,
    private readonly maxEntries = 1000,
  ) {}

  /** `headersFor`: the crawl's request headers (a private site's robots.txt may need them), by origin. */
  async rules(crawlId: string, pageUrl: string, timeoutMs: number, headersFor?: FetchOptions['headersFor']): Promise<RobotsRules> {
    const robotsUrl = robotsUrlFor(pageUrl);
    const key = `${crawlId} ${robotsUrl}`;
    const cached = this.parsed.get(key);
    if (cached) return cached;
    const stored = await this.load(crawlId, robotsUrl, timeoutMs, headersFor);
    const rules =
      stored.status !== undefined && stored.status >= 200 && stored.status < 300
        ? parseRobots(robotsUrl, stored.body ?? '')
        : robotsForUnavailable(stored.status);
    if (this.parsed.size >= this.maxEntries) this.parsed.delete(this.parsed.keys().next().value!);
    this.parsed.set(key, rules);
    return rules;
  }

  private async load(crawlId: string, robotsUrl: string, timeoutMs: number, headersFor: FetchOptions['headersFor']): Promise<StoredRobots> {
    const host = new URL(robotsUrl).host;
    const deadline = Date.now() + timeoutMs + LOCK_MS;
    for (;;) {
      const stored = await this.store.robots(crawlId, host);
      if (stored) return JSON.parse(stored) as StoredRobots;
      const lock = await this.store.lockRobots(crawlId, host, LOCK_MS);
      if (lock === 'finished') return {}; // the crawl ended: its settle will be refused anyway
      if (lock === 'locked') {
        const fetched = await fetchText(robotsUrl, { ...this.fetchOptions, timeoutMs, maxBytes: 512 * 1024, ...(headersFor ? { headersFor } : {}) });
        // Cut short by a worker stopping, not an answer of the site: store nothing, and let the next worker fetch it.
        if (this.fetchOptions.signal?.aborted) {
          await this.store.unlockRobots(crawlId, host);
          throw new Error('worker shutting down: robots.txt not fetched');
        }
        const value: StoredRobots =
          fetched.kind === 'text'
            ? { status: fetched.status, body: fetched.text }
            : fetched.status !== undefined
              ? { status: fetched.status }
              : {};
        await this.store.saveRobots(crawlId, host, JSON.stringify(value));
        return value;
      }
      if (lock === 'stored') continue;
      if (Date.now() > deadline) return {};
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    }
  }

  /** The rules this process holds for the URL's host, without reading or fetching anything (undefined when it has none). */
  known(crawlId: string, pageUrl: string): RobotsRules | undefined {
    return this.parsed.get(`${crawlId} ${robotsUrlFor(pageUrl)}`);
  }

  /** Forgets a crawl's rules (it ended). */
  forget(crawlId: string): void {
    for (const key of this.parsed.keys()) if (key.startsWith(`${crawlId} `)) this.parsed.delete(key);
  }
}
