// What a worker needs to know about a crawl to process its pages (options,
// scope), read once per crawl per process and kept in a small LRU: the
// options of a crawl never change. The LRU is bounded by entries and by the
// bytes of compiled globs (a crawl with 200 long patterns holds megabytes).
import type { CrawlStore } from '@crawlstream/progress';
import { type CrawlOptions, GlobSyntaxError } from '@crawlstream/shared';
import { makeScope, RepeatedBlocks, type Scope } from '@crawlstream/pipeline';

export interface CrawlContext {
  id: string;
  startUrl: string;
  options: CrawlOptions;
  scope: Scope;
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
    const context: CrawlContext = { id: crawl.id, startUrl: crawl.url, options: crawl.options, scope };
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
