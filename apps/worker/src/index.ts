// @crawlstream/worker: crawl job processing.
export {};
