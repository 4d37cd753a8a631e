// @crawlstream/worker: crawl page processing on BullMQ.
export { type CrawlWorker, type CrawlWorkerOptions, createCrawlWorker } from './crawl-worker.js';
