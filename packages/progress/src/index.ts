// @crawlstream/progress: every change to a crawl's state in Redis (Lua
// scripts, counters, event log, throttled progress) and the stream reader.
export {
  type CrawlStoreOptions,
  CrawlStore,
  crawlFromMeta,
  type Dispatch,
  type InflightEntry,
  type PageOutcome,
  type SettleResult,
  type TransitionResult,
} from './crawl-store.js';
export { countCrawlsByStatus, moveCrawlStatus, notePagesProcessed, pagesPerSecond, RATE_WINDOW_SECONDS } from './crawl-counts.js';
export { type CrawlListPage, type CrawlListQuery, isCrawlListCursor, listCrawls } from './crawl-list.js';
export { type EventFrame, idTime, makeFrame, parseFrame } from './frames.js';
export { decodePage, encodePage } from './pages.js';
export { jsonBytes, ResultPage, resultPageBytes } from './result-page.js';
export { ProgressPublisher, type ProgressPublisherOptions } from './progress-publisher.js';
export { defineScripts, scriptKeys } from './scripts.js';
export { type LiveListener, type OpenResult, StreamHub, type StreamHubOptions, StreamReader } from './stream-hub.js';
export { jobIdFor, type SweepOptions, type SweepReport, sweep } from './sweep.js';
