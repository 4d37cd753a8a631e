// @crawlstream/faults: the fault scenarios of the reliability report, run by
// this workspace's tests and by bench/faults.
export * from './crawl-api.js';
export { type ApiProc, type Proc, Processes } from './processes.js';
export { appendRow, formatTable, readRows, type Row, terminalsText } from './report.js';
export * from './scenarios.js';
export { type Site, type SiteOptions, startSite } from './site.js';
export { CRAWL_OPTIONS, CRAWL_PAGES, openStack, SITE_LATENCY_MS, type Stack, type StartRedis } from './stack.js';
export { type ReaderOptions, type ReaderSummary, readersVerdict, StreamReader } from './stream-reader.js';
