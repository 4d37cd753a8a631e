// @crawlstream/progress: every change to a crawl's state in Redis.
export {};
