// What a worker needs to know about a crawl to process its pages (options,
// scope), read once per crawl per process and kept in a small LRU: the
// options of a crawl never change.
import type { CrawlStore } from '@crawlstream/progress';
import type { CrawlOptions } from '@crawlstream/shared';
import { makeScope, type Scope } from './pipeline/index.js';

export interface CrawlContext {
  id: string;
  startUrl: string;
  options: CrawlOptions;
  scope: Scope;
}

export class CrawlContexts {
  private readonly contexts = new Map<string, CrawlContext>();

  constructor(
    private readonly store: CrawlStore,
    private readonly maxEntries = 1000,
  ) {}

  async get(crawlId: string): Promise<CrawlContext | null> {
    const cached = this.contexts.get(crawlId);
    if (cached) return cached;
    const crawl = await this.store.get(crawlId);
    if (!crawl) return null;
    const context: CrawlContext = {
      id: crawl.id,
      startUrl: crawl.url,
      options: crawl.options,
      scope: makeScope(crawl.url, crawl.options),
    };
    if (this.contexts.size >= this.maxEntries) this.contexts.delete(this.contexts.keys().next().value!);
    this.contexts.set(crawlId, context);
    return context;
  }

  forget(crawlId: string): void {
    this.contexts.delete(crawlId);
  }
}
