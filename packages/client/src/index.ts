// @crawlstream/client: the typed crawlstream SDK for Node 20 and browsers.
// Forward compatible: what a newer server adds (event types, fields, options,
// reason codes) is let through or skipped, never an error; see shared's
// `clientCrawlEvent`.
export { DEFAULT_RECONNECT, type ReconnectOptions, reconnectDelay } from './backoff.js';
export {
  type CrawlstreamClientOptions,
  CrawlstreamClient,
  type CreateCrawlOptions,
  type ListCrawlsQuery,
  type PagesOptions,
  type RejectedQuery,
  type RequestOptions,
} from './client.js';
export { CrawlTally } from './crawl-tally.js';
export { type ClientErrorCode, CrawlstreamError } from './errors.js';
export { formatDuration, formatRate } from './format.js';
export {
  type EventsOptions,
  type ReconnectInfo,
  type SkippedEvent,
  type StreamedEvent,
  type StreamInclude,
  StreamPosition,
} from './event-stream.js';
// The shapes as this client reads them: known fields checked, anything newer let through.
export {
  type ClientCrawl as Crawl,
  type ClientCrawlErrorItem as CrawlErrorItem,
  type ClientCrawlEvent as CrawlEvent,
  type ClientCrawlList as CrawlList,
  type ClientCrawlWithToken as CrawlWithToken,
  type ClientRejectedItem as RejectedItem,
  type ClientRejectedList as RejectedList,
  type ClientEventOf as EventOf,
  type ClientPageResult as PageResult,
  clientCrawlWithToken as crawlWithToken,
  type Counters,
  type CrawlEventType,
  type CrawlOptionsInput,
  type CrawlStatus,
  DEFAULT_RENDER,
  type FailureReason,
  isTerminalEvent,
  isTerminalStatus,
  type OpenCode,
  PAGE_FORMATS,
  type PageFormat,
  RENDER_MODES,
  type RenderMode,
  type SkipReason,
  TERMINAL_STATUSES,
  type TerminalStatus,
} from '@crawlstream/shared';
export { verifyWebhook, type WebhookHeaders } from './webhooks.js';
export type { ClientWebhookStatus as WebhookStatus, WebhookRequestInput } from '@crawlstream/shared';
