// What a worker needs to know about a crawl to process its pages (options,
// scope, its request headers), read once per crawl per process and kept in a
// small LRU: the options of a crawl never change. A crawl's headers live here
// in memory only and go with its entry (forgotten when the crawl ends). The
// LRU is bounded by entries and by the bytes of compiled globs (a crawl with
// 200 long patterns holds megabytes).
import type { CrawlStore } from '@crawlstream/progress';
import { GlobSyntaxError, type StoredCrawlOptions } from '@crawlstream/shared';
import { type FetchOptions, headersForOrigins, makeScope, RepeatedBlocks, type Scope } from '@crawlstream/pipeline';
import { SentRejections } from './rejected-links.js';

export interface CrawlContext {
  id: string;
  startUrl: string;
  options: StoredCrawlOptions;
  scope: Scope;
  /** The crawl's request headers for a URL: given to the origins of its start URLs only; absent when it has none. */
  headersFor?: FetchOptions['headersFor'];
  /** The rejected links this process sent for the crawl (rejected-links.ts). */
  sentRejections: SentRejections;
  /**
   * Short blocks seen on this crawl's pages in this process, to drop the
   * repeated ones (pipeline repeated-blocks.ts); absent when the crawl asked
   * for the whole body (`onlyMainContent: false`) or for exact elements
   * (`includeSelectors`).
   */
  repeatedBlocks?: RepeatedBlocks;
}

export interface CrawlContextLimits {
  maxEntries: number;
  /** Bytes of compiled globs held at most, over all cached crawls. */
  maxBytes: number;
}

export const DEFAULT_CONTEXT_LIMITS: CrawlContextLimits = { maxEntries: 1000, maxBytes: 64 * 1024 * 1024 };

export class CrawlContexts {
  private readonly contexts = new Map<string, CrawlContext>();
  private bytes = 0;

  constructor(
    private readonly store: CrawlStore,
    private readonly limits: CrawlContextLimits = DEFAULT_CONTEXT_LIMITS,
  ) {}

  /** Bytes of compiled globs held now. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.contexts.size, bytes: this.bytes };
  }

  /**
   * The crawl's context, or null when the crawl is gone or its options can no
   * longer be compiled (a crawl stored before a pattern grammar change): such
   * a crawl is failed with `invalid_options`, so it ends instead of retrying.
   */
  async get(crawlId: string): Promise<CrawlContext | null> {
    const cached = this.contexts.get(crawlId);
    if (cached) {
      // Most recently used last.
      this.contexts.delete(crawlId);
      this.contexts.set(crawlId, cached);
      return cached;
    }
    const crawl = await this.store.get(crawlId);
    if (!crawl) return null;
    let scope: Scope;
    try {
      scope = makeScope(crawl.url, crawl.options);
    } catch (error) {
      if (!(error instanceof GlobSyntaxError)) throw error;
      await this.store.fail(crawlId, { code: 'invalid_options', message: `unsupported glob: ${error.message}` });
      return null;
    }
    const context: CrawlContext = { id: crawl.id, startUrl: crawl.url, options: crawl.options, scope, sentRejections: new SentRejections() };
    if ((crawl.options.headerNames ?? []).length > 0) {
      const headers = await this.store.requestHeaders(crawlId);
      if (Object.keys(headers).length === 0) {
        // Ended meanwhile (its end deleted them: this fail is refused), or it outran the
        // secrets' TTL: fetching without them would only store the site's login page.
        await this.store.fail(crawlId, { code: 'headers_expired', message: 'the crawl\'s request headers are gone (it ran longer than the crawl TTL)' });
        return null;
      }
      // Sent only to the origins of the start URLs, whatever else the scope takes in.
      context.headersFor = headersForOrigins(
        [crawl.url, ...(crawl.options.urls ?? [])].map((url) => new URL(url).origin),
        headers,
      );
    }
    if (crawl.options.onlyMainContent !== false && (crawl.options.includeSelectors?.length ?? 0) === 0)
      context.repeatedBlocks = new RepeatedBlocks();
    this.contexts.set(crawlId, context);
    this.bytes += scope.bytes;
    for (const [id, old] of this.contexts) {
      if (this.contexts.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      if (id === crawlId) continue;
      this.drop(id, old);
    }
    return context;
  }

  forget(crawlId: string): void {
    const context = this.contexts.get(crawlId);
    if (context) this.drop(crawlId, context);
  }

  private drop(crawlId: string, context: CrawlContext): void {
    this.contexts.delete(crawlId);
    this.bytes -= context.scope.bytes;
  }
}
