// @crawlstream/e2e: the end-to-end stack the SDK's tests here and the CLI's
// and dashboard's tests in their apps share.
export { type Site, type SiteOptions, startSite } from './docs-site.js';
export * from './stack.js';
