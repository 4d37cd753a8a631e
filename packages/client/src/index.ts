// @crawlstream/client: the typed crawlstream SDK for Node 20 and browsers.
export { DEFAULT_RECONNECT, type ReconnectOptions, reconnectDelay } from './backoff.js';
export {
  type CrawlstreamClientOptions,
  CrawlstreamClient,
  type CrawlWithToken,
  type CreateCrawlOptions,
  crawlWithToken,
  type ListCrawlsQuery,
  type PagesOptions,
  type RequestOptions,
} from './client.js';
export { type ClientErrorCode, CrawlstreamError } from './errors.js';
export { formatDuration, formatRate } from './format.js';
export { type EventsOptions, type ReconnectInfo, type StreamedEvent, StreamPosition } from './event-stream.js';
export {
  type Counters,
  type Crawl,
  type CrawlErrorItem,
  type CrawlEvent,
  type CrawlEventType,
  type CrawlList,
  type CrawlOptionsInput,
  type CrawlStatus,
  type EventOf,
  isTerminalEvent,
  isTerminalStatus,
  type PageResult,
} from '@crawlstream/shared';
