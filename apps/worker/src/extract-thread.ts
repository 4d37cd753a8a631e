// Runs in a worker thread of the page extractor (page-extractor.ts): one
// page's HTML to what the crawl keeps. Kept off the main thread because it is
// one synchronous stretch that a hostile page can make last seconds, and the
// main thread must renew its BullMQ job locks every PAGE_LOCK_MS / 2.
import { type ExtractedPage, extractPage } from '@crawlstream/pipeline';

export interface ExtractTask {
  html: string;
  url: string;
}

export default function extract({ html, url }: ExtractTask): ExtractedPage {
  return extractPage(html, url);
}
