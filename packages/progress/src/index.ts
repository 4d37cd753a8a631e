// @crawlstream/progress: every change to a crawl's state in Redis (Lua
// scripts, counters, event log, throttled progress), the stream reader, and
// the crawl loop: the store enqueues what it dispatches on the page-job sink
// it is given (PageJobs; @crawlstream/jobs implements it on BullMQ).
export { type Durability, serverDurability } from './aof-barrier.js';
export { type CrawlStoreOptions, CrawlStore } from './crawl-store.js';
export type { CreateInput, CreateStep, TransitionResult } from './crawl-transitions.js';
export { crawlFromMeta, type InflightEntry, type OpenedCrawl } from './crawl-results.js';
export type { PageJob, PageJobs } from './page-jobs.js';
export type { SettleResult } from './settle-batcher.js';
export type { PageOutcome, RejectedLink } from './settle-records.js';
export { countCrawlsByStatus, moveCrawlStatus, notePagesProcessed, pagesPerSecond, RATE_WINDOW_SECONDS } from './crawl-counts.js';
export { type CrawlListPage, type CrawlListQuery, isCrawlListCursor, listCrawls } from './crawl-list.js';
export { type EventFrame, frameWithMarkdown, idTime, makeFrame, parseFrame } from './frames.js';
export { decodePage, encodePage } from './pages.js';
export { jsonBytes, ResultPage, resultPageBytes } from './result-page.js';
export { ProgressPublisher, type ProgressPublisherOptions } from './progress-publisher.js';
export type { Refused } from './scripts.js';
export { type LiveListener, type OpenResult, StreamHub, type StreamHubOptions, StreamReader } from './stream-hub.js';
export type { SweepOptions, SweepReport } from './sweep.js';
export { CrawlWebhooks, type WebhookFailure, type WebhookTarget } from './webhook-state.js';
