// @crawlstream/pipeline: the page pipeline of the crawl worker, pure steps
// that a test drives without Redis or BullMQ. normalize -> scope -> (robots)
// -> guarded fetch -> decode -> bounded parse -> extract (title, links,
// markdown); sitemaps seed the frontier. This file is its whole public surface.
export {
  APP_SHELL_MAX_LINKS,
  APP_SHELL_MAX_TEXT_CHARS,
  APP_SHELL_MIN_INLINE_SCRIPT_CHARS,
  isAppShell,
  looksLikeAppShell,
} from './app-shell.js';
export { cutChars, keepLinks } from './bounds.js';
export { type ExtractedPage, type ExtractOptions, extractFromDocument, extractPage, markdownOf } from './extract.js';
export {
  type ContentStats,
  contentStats,
  type DocumentMetadata,
  documentMetadata,
  languageTag,
  type PageMetadata,
  validatorValue,
} from './metadata.js';
export {
  type FailureReason,
  type FetchFailed,
  type FetchOptions,
  type FetchPageResult,
  type FetchSkipped,
  type FetchTextResult,
  fetchPage,
  fetchText,
  headersForOrigins,
  type HtmlPage,
  MAX_REDIRECTS,
  type SkipReason,
  type TextDocument,
} from './fetch-page.js';
export {
  MAX_CRAWL_DELAY_MS,
  parseRobots,
  ROBOTS_TOKEN,
  type RobotsRules,
  robotsForUnavailable,
  robotsUrlFor,
  USER_AGENT,
} from './robots.js';
export {
  DEFAULT_REPEATED_BLOCK_LIMITS,
  type RepeatedBlockLimits,
  RepeatedBlocks,
  splitBlocks,
  withoutRepeatedBlocks,
} from './repeated-blocks.js';
export { makeScope, type Scope, type ScopeOptions } from './scope.js';
export { parseSitemap, type SitemapEntries } from './sitemap.js';
export {
  createSsrfGuard,
  type Resolver,
  SSRF_BLOCKED,
  SsrfBlockedError,
  type SsrfGuard,
  type SsrfGuardOptions,
} from './ssrf.js';
export { normalizeUrl } from './url.js';
