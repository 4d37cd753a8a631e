// @crawlstream/test-stack: what the SDK, CLI and dashboard tests share.
export { type Site, type SiteOptions, startSite } from './docs-site.js';
export * from './stack.js';
