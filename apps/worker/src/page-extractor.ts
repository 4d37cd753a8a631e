// Page extraction (parse, title, links, markdown) on a pool of worker
// threads (piscina), so that a worker's event loop is never held by a page:
// a MAX_PAGE_BYTES page of 500,000 links took 3.9 to 5.7 s of synchronous
// extraction on this 2-core machine (`npm run bench -- page-block`), past
// PAGE_LOCK_MS / 2, which would have let BullMQ's locks of every page of the
// process expire (a false stall). On the main thread a page now costs only
// the copy of its result (about 55 ms for that page).
import { availableParallelism } from 'node:os';
import type { ExtractedPage } from '@crawlstream/pipeline';
import { Piscina } from 'piscina';
import type { ExtractTask } from './extract-thread.js';

/**
 * The compiled thread module: from src/ (vitest) and from dist/ alike, this
 * resolves to dist/extract-thread.js (tests run after the build).
 */
const THREAD = new URL('../dist/extract-thread.js', import.meta.url).href;

export class PageExtractor {
  private readonly pool: Piscina<ExtractTask, ExtractedPage>;

  constructor(threads = availableParallelism()) {
    this.pool = new Piscina({ filename: THREAD, minThreads: 1, maxThreads: Math.max(1, threads), idleTimeout: 30_000 });
  }

  /** The page's title, links and markdown; rejects (and stops the thread's work) when `signal` aborts. */
  extract(html: string, url: string, signal?: AbortSignal): Promise<ExtractedPage> {
    return this.pool.run({ html, url }, signal ? { signal } : {});
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
