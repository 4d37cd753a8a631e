// Runs in a worker thread of the page extractor (page-extractor.ts): one
// page's HTML to what the crawl keeps. Kept off the main thread because it is
// one synchronous stretch that a big hostile page can make last seconds, and
// the main thread must renew its BullMQ job locks every PAGE_LOCK_MS / 2.
// CommonJS on purpose: piscina loads a task module with require() first, and
// Node 20's require() of an ES module aborted the whole process (V8 fatal
// "IsGraphAsync must be used on an instantiated module") when the thread was
// terminated while loading it (an aborted extraction's replacement thread,
// then the pool destroyed). The pipeline, an ES module, is loaded with import().
import type { ExtractedPage, ExtractOptions } from '@crawlstream/pipeline';

const pipeline = import('@crawlstream/pipeline');

async function extract({ html, url, options }: { html: string; url: string; options?: ExtractOptions }): Promise<ExtractedPage> {
  return (await pipeline).extractPage(html, url, options);
}

export = extract;
