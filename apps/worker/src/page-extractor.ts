// Page extraction (parse, title, links, markdown) kept from holding a
// worker's event loop, which must renew its BullMQ job locks every
// PAGE_LOCK_MS / 2: a MAX_PAGE_BYTES page of the worst shapes took up to
// 19.6 s of synchronous extraction on this 2-core machine
// (`npm run bench -- page-block`). Big pages go to a pool of worker threads
// (piscina); on the main thread they cost only the copy of the result (at
// most about 160 ms). Small pages, nearly all of a crawl, are extracted
// inline: the hop to a thread cost about 10% of the pages per second on
// 12 KB pages (bench/crawl), and 128 KiB of the worst shape takes about
// 220 ms inline (256 KiB: 444 ms), an order of magnitude under the lock's half.
import { availableParallelism } from 'node:os';
import { type ExtractedPage, type ExtractOptions, extractPage } from '@crawlstream/pipeline';
import { Piscina } from 'piscina';

/** What a thread is given (extract-thread.cts). */
interface ExtractTask {
  html: string;
  url: string;
  options?: ExtractOptions | undefined;
}

/**
 * The compiled thread module: from src/ (vitest) and from dist/ alike, this
 * resolves to dist/extract-thread.cjs (tests run after the build).
 */
const THREAD = new URL('../dist/extract-thread.cjs', import.meta.url).href;

/** Pages of more characters than this are extracted in a thread. */
export const INLINE_EXTRACT_MAX_CHARS = 128 * 1024;

/**
 * The young generation of a thread: as the worker's main thread has it
 * (`--max-semi-space-size=64`, three semi-spaces); with V8's default a thread
 * extracted at less than half the speed (bench/crawl).
 */
const THREAD_YOUNG_GENERATION_MB = 192;

/**
 * A crawl's CSS selectors send every page to a thread: selectors are the
 * crawl's own, and css-select's positional ones are quadratic in an
 * element's siblings (20 `:nth-last-child()` selectors took 17 s on a
 * 128 KiB page of 18,718 empty siblings, where 5 KiB of text take 0.3 s).
 */
function hasSelectors(options: ExtractOptions | undefined): boolean {
  return (options?.includeSelectors?.length ?? 0) > 0 || (options?.excludeSelectors?.length ?? 0) > 0;
}

export class PageExtractor {
  private readonly pool: Piscina<ExtractTask, ExtractedPage>;

  /** Default threads: one core left to the main thread (fetches, settles, lock renewals). */
  constructor(threads = Math.max(1, availableParallelism() - 1)) {
    this.pool = new Piscina({
      filename: THREAD,
      minThreads: 1,
      maxThreads: Math.max(1, threads),
      idleTimeout: 30_000,
      resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB },
    });
  }

  /**
   * The page's title, links and markdown (what of the page, as `options` say);
   * a thread's work stops (and this rejects) when `signal` aborts.
   */
  async extract(html: string, url: string, signal?: AbortSignal, options?: ExtractOptions): Promise<ExtractedPage> {
    if (html.length <= INLINE_EXTRACT_MAX_CHARS && !hasSelectors(options)) return extractPage(html, url, options);
    return this.pool.run({ html, url, options }, signal ? { signal } : {});
  }

  /** Pages extracted in a thread so far. */
  get threaded(): number {
    return this.pool.completed;
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
