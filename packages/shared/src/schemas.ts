// The public shapes of crawlstream (DESIGN.md sections 1 and 2) as zod
// schemas; every TypeScript type of a request, crawl or event is inferred here.
import { z } from 'zod';
import { pathGlobProblem } from './glob.js';
import {
  MAX_DESCRIPTION_LENGTH,
  MAX_GLOB_LENGTH,
  MAX_LANGUAGE_LENGTH,
  MAX_GLOBS,
  MAX_HEADERS,
  MAX_HTML_BYTES,
  MAX_LINKS_BYTES,
  MAX_LINKS_PER_PAGE,
  MAX_OPTIONS_BYTES,
  MAX_PAGE_BYTES,
  MAX_PAGES_CEILING,
  MAX_START_URLS,
  MAX_SELECTOR_LENGTH,
  MAX_SELECTORS,
  MAX_URL_LENGTH,
  MAX_VALIDATOR_LENGTH,
  MAX_WEBHOOK_HEADERS,
} from './limits.js';
import { normalizeUrl } from './urls.js';
import { headerNamesOf, requestHeadersSchema } from './request-headers.js';
import { cssSelectorProblem } from './selector.js';

export const DEFAULT_MAX_PAGES_CAP = 10_000;

export const SCOPES = ['prefix', 'origin', 'domain'] as const;
/** What a stored page carries (the `formats` option): markdown by default. */
export const PAGE_FORMATS = ['markdown', 'html', 'rawHtml', 'links'] as const;
export type PageFormat = (typeof PAGE_FORMATS)[number];
/**
 * The one terminal set: a crawl in one of these statuses never changes again,
 * and each is also the name of the event that ends its stream.
 */
export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];
export const CRAWL_STATUSES = ['queued', 'running', ...TERMINAL_STATUSES] as const;

/** Why a page was given up (`page_failed.reason`, `errors[].reason`). */
export const FAILURE_REASONS = [
  'timeout',
  'too_large',
  'http_4xx',
  'http_5xx',
  'dns',
  'connection',
  'ssrf_blocked',
  'redirect_loop',
  'too_many_redirects',
  'invalid_url',
  'stalled',
  'internal',
  /** `render: always` and no renderer process alive within RENDER_WAIT_MS (docs/rendering.md). */
  'renderer_unavailable',
  /** `render: always` and the browser could not render the page (its attempts spent, or the page's time up). */
  'render_failed',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Why an accepted URL was not stored (`page_skipped.reason`). */
export const SKIP_REASONS = [
  'robots',
  'not_html',
  'redirect_out_of_scope',
  'redirect_known',
  'cancelled',
  'out_of_scope',
  'duplicate',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Why a link found on a page was not taken (GET /rejected). */
export const REJECT_REASONS = ['out_of_scope', 'excluded', 'not_included', 'max_depth', 'max_pages', 'robots'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * When a page goes through the browser renderer (`options.render`): never;
 * auto, when the fetched HTML looks like an app shell (docs/rendering.md);
 * always, every HTML page.
 */
export const RENDER_MODES = ['never', 'auto', 'always'] as const;
export type RenderMode = (typeof RENDER_MODES)[number];
/** `options.render` when not given, and for crawls stored before the option. */
export const DEFAULT_RENDER: RenderMode = 'auto';

/** What makes a page a duplicate of a stored one (`options.dedupe`). */
export const DEDUPE_MODES = ['canonical', 'content'] as const;
export type DedupeMode = (typeof DEDUPE_MODES)[number];
/** `options.dedupe` when not given, and for crawls stored before the option. */
export const DEFAULT_DEDUPE: readonly DedupeMode[] = ['canonical'];

export const httpUrlSchema = z
  .string()
  .max(MAX_URL_LENGTH, `URL is longer than ${MAX_URL_LENGTH} characters`)
  .superRefine((value, ctx) => {
    const url = URL.parse(value);
    if (!url) ctx.addIssue({ code: 'custom', message: 'not a valid absolute URL' });
    else if (url.protocol !== 'http:' && url.protocol !== 'https:')
      ctx.addIssue({ code: 'custom', message: 'only http: and https: URLs can be crawled' });
    else if (url.username !== '' || url.password !== '')
      ctx.addIssue({ code: 'custom', message: 'URLs with credentials are not accepted' });
  });

const storedGlob = z.string().min(1).max(MAX_GLOB_LENGTH);
/**
 * An `include`/`exclude` glob as a request sends it: refused when outside the
 * grammar of glob.ts (the message says which part). Checked on the way in
 * only: a stored crawl's options (responses, events) are not checked again,
 * so answering a crawl costs nothing per pattern.
 */
const requestGlob = storedGlob.superRefine((value, ctx) => {
  if (value.length === 0 || value.length > MAX_GLOB_LENGTH) return;
  const problem = pathGlobProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `unsupported glob: ${problem}` });
});

const storedSelector = z.string().min(1).max(MAX_SELECTOR_LENGTH);
/**
 * An `includeSelectors`/`excludeSelectors` CSS selector as a request sends it:
 * refused when cheerio could not run it. The request schemas are marked pure
 * so that a bundle that never validates a request (the dashboard) leaves out
 * the selector engine (35 KB of its 135).
 */
const requestSelector = /* @__PURE__ */ storedSelector.superRefine((value, ctx) => {
  if (value.length === 0 || value.length > MAX_SELECTOR_LENGTH) return;
  const problem = cssSelectorProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `invalid CSS selector: ${problem}` });
});

function optionsSchema(
  maxPagesCap: number,
  glob: z.ZodType<string>,
  startUrl: z.ZodType<string>,
  selector: z.ZodType<string>,
) {
  return z
    .object({
      maxPages: z.number().int().min(1).max(maxPagesCap).default(Math.min(100, maxPagesCap)),
      maxDepth: z.number().int().min(0).max(100).default(3),
      /**
       * More start URLs, each accepted at depth 0 like `url` (within maxPages,
       * in order); the scope is the union of their scopes. Stored normalized,
       * without `url` and repeats (startUrlsOf).
       */
      urls: z.array(startUrl).max(MAX_START_URLS).default([]),
      scope: z.enum(SCOPES).default('prefix'),
      include: z.array(glob).max(MAX_GLOBS).default([]),
      exclude: z.array(glob).max(MAX_GLOBS).default([]),
      respectRobotsTxt: z.boolean().default(true),
      useSitemap: z.boolean().default(true),
      concurrency: z.number().int().min(1).max(256).default(8),
      delayMs: z.number().int().min(0).max(60_000).default(0),
      timeoutMs: z.number().int().min(100).max(300_000).default(15_000),
      maxBytes: z.number().int().min(1024).max(MAX_PAGE_BYTES).default(5 * 1024 * 1024),
      /** URLs that differ only in their query are one page: links and sitemap URLs are followed without their query. */
      ignoreQueryParameters: z.boolean().default(false),
      /** false: the markdown is the whole body, navigation and other boilerplate kept (scripts, styles and the like still dropped). */
      onlyMainContent: z.boolean().default(true),
      /** When not empty, the markdown is the content of the elements these match, in document order (instead of the main content). */
      includeSelectors: z.array(selector).max(MAX_SELECTORS).default([]),
      /** Elements these match are removed before the markdown is made. */
      excludeSelectors: z.array(selector).max(MAX_SELECTORS).default([]),
      /**
       * A page is settled as skipped (`duplicate`, with `duplicateOf`) instead
       * of stored when, with `canonical`, its <link rel=canonical> names a
       * stored page's URL or a URL a stored page names, or a stored page names
       * it; with `content`, when a stored page has the same contentHash.
       */
      dedupe: z
        .array(z.enum(DEDUPE_MODES))
        .max(DEDUPE_MODES.length)
        .refine((modes) => new Set(modes).size === modes.length, 'dedupe modes must be unique')
        .default(() => [...DEFAULT_DEDUPE]),
      /** What each stored page carries: any of markdown, html (the cleaned content HTML), rawHtml, links; each once. */
      formats: z
        .array(z.enum(PAGE_FORMATS))
        .min(1)
        .max(PAGE_FORMATS.length)
        .refine((formats) => new Set(formats).size === formats.length, 'formats must not repeat')
        .default(['markdown']),
      /** Map mode: pages are fetched and their links followed, but only url, title, depth, status and fetchedAt are stored. */
      discoverOnly: z.boolean().default(false),
      /** Whether pages go through the browser renderer: never, auto (app shells only) or always (docs/rendering.md). */
      render: z.enum(RENDER_MODES).default(DEFAULT_RENDER),
      /** A rendered page is read once this CSS selector matches (instead of once the network is idle), within the page's time. */
      waitFor: selector.optional(),
    })
    .strict();
}

/**
 * Why options do not go together (the message), with the option to name, or
 * null: discoverOnly stores no content, so options that shape content are refused with it.
 */
export function optionsConflict(options: {
  discoverOnly: boolean;
  formats: readonly string[];
  includeSelectors: readonly string[];
  excludeSelectors: readonly string[];
}): { path: string; message: string } | null {
  if (!options.discoverOnly) return null;
  if (options.formats.length !== 1 || options.formats[0] !== 'markdown')
    return { path: 'formats', message: 'discoverOnly stores no content: formats does not apply (leave it out)' };
  for (const key of ['includeSelectors', 'excludeSelectors'] as const)
    if (options[key].length > 0) return { path: key, message: `discoverOnly stores no content: ${key} does not apply (leave it out)` };
  return null;
}

const utf8 = new TextEncoder();

/** Why options are too large as JSON (MAX_OPTIONS_BYTES), or null when they are not. */
export function optionsBytesProblem(options: unknown): string | null {
  const bytes = utf8.encode(JSON.stringify(options)).length;
  return bytes > MAX_OPTIONS_BYTES
    ? `options are ${bytes} bytes as JSON, more than ${MAX_OPTIONS_BYTES} (shorten include/exclude/urls)`
    : null;
}

/**
 * The options as a crawl stores and shows them: `headers` replaced by their
 * names (`headerNames`, lowercased and sorted; absent without headers).
 */
export function storedOptionsOf<T extends { headers?: Readonly<Record<string, string>> | undefined }>(
  options: T,
): Omit<T, 'headers'> & { headerNames?: string[] } {
  const { headers, ...rest } = options;
  const headerNames = headerNamesOf(headers ?? {});
  return headerNames.length > 0 ? { ...rest, headerNames } : rest;
}

/** Options with their defaults and bounds, as a request sends them; `maxPagesCap` is `MAX_PAGES_CAP`. */
export function crawlOptionsSchema(maxPagesCap: number = DEFAULT_MAX_PAGES_CAP) {
  return optionsSchema(maxPagesCap, requestGlob, httpUrlSchema, requestSelector)
    .extend({
      /**
       * Request headers for the crawl's fetches (private docs), sent only to
       * the origins of its start URLs. Never stored with the options: a
       * crawl shows `headerNames` instead (request-headers.ts).
       */
      headers: requestHeadersSchema
        .optional()
        .describe(`Request headers (e.g. Authorization, Cookie) for a private site: sent only to the origins of the start URLs; at most ${MAX_HEADERS}, never shown again (the crawl shows headerNames)`),
    })
    .superRefine((options, ctx) => {
      // Bounded as stored: header values are not stored with the options (nor sent in events), their names are.
      const problem = optionsBytesProblem(storedOptionsOf(options));
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
      const conflict = optionsConflict(options);
      if (conflict) ctx.addIssue({ code: 'custom', path: [conflict.path], message: conflict.message });
    });
}

/**
 * The extra start URLs as a crawl stores them (`options.urls`): each
 * normalized as the API normalizes `url` (normalizeUrl), in the order given,
 * without `url` itself and without repeats. `invalid` is the index of the
 * first one that is not crawlable once normalized (no host, too long).
 */
export function startUrlsOf(url: string, urls: readonly string[]): { urls: string[] } | { invalid: number } {
  const seen = new Set([url]);
  const out: string[] = [];
  for (const [i, raw] of urls.entries()) {
    const normalized = normalizeUrl(raw);
    if (normalized === null) return { invalid: i };
    if (seen.has(normalized)) continue;
    seen.add(normalized);
    out.push(normalized);
  }
  return { urls: out };
}

export const crawlOptions = /* @__PURE__ */ crawlOptionsSchema();
/**
 * The options of a stored crawl (in responses and events): the same shape,
 * globs not re-checked; `headers` never, only their names (`headerNames`,
 * lowercased and sorted, absent when the crawl has none).
 */
const storedCrawlOptions = optionsSchema(MAX_PAGES_CEILING, storedGlob, z.string(), storedSelector).extend({
  headerNames: z.array(z.string()).optional().describe('Names of the request headers the crawl sends (lowercased, sorted); their values are never shown'),
});
/** Options as a request gives them (with `headers`). */
export type CrawlOptions = z.output<typeof crawlOptions>;
/** Options as a crawl stores and shows them: `headerNames`, never `headers`. */
export type StoredCrawlOptions = z.output<typeof storedCrawlOptions>;
export type CrawlOptionsInput = z.input<typeof crawlOptions>;

// ---- webhooks (#16) ----

/** Event types a webhook may deliver: every type of the event log (`snapshot` and `reset` are the stream's own). */
export const WEBHOOK_EVENT_TYPES = [
  'started',
  'discovered',
  'page',
  'page_failed',
  'page_skipped',
  'progress',
  'completed',
  'failed',
  'cancelled',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const WEBHOOK_STATES = ['active', 'failing', 'failed', 'done'] as const;
export type WebhookState = (typeof WEBHOOK_STATES)[number];

/** `webhook` as a request sends it: where each event of the crawl's log is POSTed, signed. */
export const webhookRequestSchema = z
  .object({
    url: httpUrlSchema.describe('Receives one signed POST per event (Standard Webhooks); subject to SSRF_ALLOW as crawling is'),
    events: z
      .array(z.enum(WEBHOOK_EVENT_TYPES))
      .min(1)
      .max(WEBHOOK_EVENT_TYPES.length)
      .refine((types) => new Set(types).size === types.length, 'events must not repeat')
      .optional()
      .describe('Event types to deliver; default every type of the event log (snapshot and reset are stream-only)'),
    headers: requestHeadersSchema
      .superRefine((headers, ctx) => {
        if (Object.keys(headers).length > MAX_WEBHOOK_HEADERS) ctx.addIssue({ code: 'custom', message: `more than ${MAX_WEBHOOK_HEADERS} headers` });
      })
      .optional()
      .describe(`Extra request headers of each delivery; at most ${MAX_WEBHOOK_HEADERS}, never shown again`),
  })
  .strict();
export type WebhookRequest = z.output<typeof webhookRequestSchema>;

/** What a crawl shows of its webhook: never its headers. */
export const crawlWebhook = z.object({
  url: z.string(),
  events: z.array(z.string()).describe('The event types delivered'),
});
export type CrawlWebhook = z.infer<typeof crawlWebhook>;

/** GET /:id/webhook: the delivery state. */
export const webhookStatus = crawlWebhook.extend({
  state: z.enum(WEBHOOK_STATES),
  lastDeliveredId: z.string().nullable().describe('Id of the last event delivered (or passed over by the filter); null before the first'),
  pending: z.number().int().min(0).describe('Events of the log after lastDeliveredId (any type; the filter may pass some over)'),
  attempts: z.number().int().min(0).describe('Failed attempts of the event being delivered'),
  lastError: z.string().optional(),
  lastStatus: z.number().int().optional().describe("HTTP status of the receiver's last answer"),
  nextAttemptAt: z.iso.datetime().optional().describe('When the failing event is tried again'),
});
export type WebhookStatus = z.infer<typeof webhookStatus>;

export function crawlRequestSchema(maxPagesCap: number = DEFAULT_MAX_PAGES_CAP) {
  return z
    .object({
      url: httpUrlSchema,
      options: crawlOptionsSchema(maxPagesCap).default(() =>
        crawlOptionsSchema(maxPagesCap).parse({}),
      ),
      webhook: webhookRequestSchema.optional(),
    })
    .strict();
}
export const crawlRequest = /* @__PURE__ */ crawlRequestSchema();
export type CrawlRequest = z.output<typeof crawlRequest>;
export type CrawlRequestInput = z.input<typeof crawlRequest>;

export const crawlStatus = z.enum(CRAWL_STATUSES);
export type CrawlStatus = z.infer<typeof crawlStatus>;

const count = z.number().int().min(0);
export const counters = z.object({
  discovered: count,
  processed: count,
  failed: count,
  skipped: count,
});
export type Counters = z.infer<typeof counters>;

export const errorInfo = z.object({ code: z.string(), message: z.string() });
export type ErrorInfo = z.infer<typeof errorInfo>;

export const crawl = z.object({
  id: z.string(),
  url: z.string(),
  status: crawlStatus,
  options: storedCrawlOptions,
  counters,
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().optional(),
  finishedAt: z.iso.datetime().optional(),
  error: errorInfo.optional(),
  rejected: z
    .record(z.string(), count)
    .optional()
    .describe('Links found but not taken, per reason (see /rejected); absent when none. Not counted in `counters.discovered`'),
  rejectedDropped: count
    .optional()
    .describe('Rejections not stored once the crawl had MAX_REJECTED_PER_CRAWL of them (counted per page they were found on)'),
  webhook: crawlWebhook.optional().describe('The webhook given at create (its headers never shown); state at /webhook'),
});
export type Crawl = z.infer<typeof crawl>;

/** The crawl object as POST and GET answer it: with a stream token when the API has API_KEYS set. */
export const crawlWithToken = crawl.extend({
  streamToken: z
    .string()
    .optional()
    .describe("With API_KEYS set: opens this crawl's stream as `?token=` until it expires (STREAM_TOKEN_TTL_SECONDS)"),
});
export type CrawlWithToken = z.infer<typeof crawlWithToken>;

export const crawlList = z.object({ items: z.array(crawl), nextCursor: z.string().nullable() });
export type CrawlList = z.infer<typeof crawlList>;

export const pageResult = z.object({
  url: z.string(),
  title: z.string(),
  depth: count,
  status: z.number().int(),
  /** Absent only when the crawl's `formats` leave markdown out. */
  markdown: z.string().optional(),
  fetchedAt: z.iso.datetime(),
  /** Present when the markdown was cut at MAX_MARKDOWN_BYTES. */
  truncated: z.boolean().optional(),
  html: z.string().optional().describe(`With formats html: the cleaned content HTML the markdown is made from, at most ${MAX_HTML_BYTES} bytes of UTF-8`),
  rawHtml: z.string().optional().describe(`With formats rawHtml: the fetched document as decoded, at most ${MAX_HTML_BYTES} bytes of UTF-8`),
  links: z
    .array(z.string())
    .optional()
    .describe(`With formats links: every absolute http(s) link on the page (in scope or not), normalized, in document order, at most ${MAX_LINKS_PER_PAGE} and ${MAX_LINKS_BYTES} bytes`),
  truncatedFormats: z
    .array(z.enum(['html', 'rawHtml', 'links']))
    .optional()
    .describe('The requested formats that were cut at their bound (absent when none)'),
  /** In-scope links past MAX_LINKS_PER_PAGE that were not followed (absent when none). */
  linksDropped: count.optional(),
  rendered: z
    .boolean()
    .optional()
    .describe('True when the content is the DOM a browser rendered (options.render), false when it is the fetched HTML; absent on pages stored before rendering existed'),
  // Page metadata (#14): absent from pages stored before it, and whenever the page had none usable.
  description: z
    .string()
    .max(MAX_DESCRIPTION_LENGTH)
    .optional()
    .describe(`<meta name="description">, else og:description; whitespace collapsed, cut at ${MAX_DESCRIPTION_LENGTH} characters`),
  language: z
    .string()
    .max(MAX_LANGUAGE_LENGTH)
    .optional()
    .describe('Language tag from <html lang>, else the Content-Language header (its first tag); absent when not a well-formed tag'),
  canonical: z
    .string()
    .max(MAX_URL_LENGTH)
    .optional()
    .describe('<link rel="canonical"> resolved against the page (its final URL, or its <base href>) and normalized; absent when not a usable http(s) URL'),
  contentHash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional()
    .describe('SHA-256 (hex) of the markdown with whitespace runs collapsed to one space and trimmed'),
  wordCount: count.optional().describe('Words of the markdown (runs of letters and digits; link targets not counted)'),
  etag: z.string().max(MAX_VALIDATOR_LENGTH).optional().describe('The response\'s ETag header, as sent'),
  lastModified: z.string().max(MAX_VALIDATOR_LENGTH).optional().describe('The response\'s Last-Modified header, as sent'),
});
export type PageResult = z.infer<typeof pageResult>;
export const pageList = z.object({ items: z.array(pageResult), nextCursor: z.string().nullable() });

export const crawlErrorItem = z.object({
  url: z.string(),
  kind: z.enum(['failed', 'skipped']),
  reason: z.string(),
  status: z.number().int().optional(),
  message: z.string(),
  /** A `duplicate`: the stored page it duplicates. */
  duplicateOf: z.string().optional(),
});
export type CrawlErrorItem = z.infer<typeof crawlErrorItem>;
/** `nextCursor` came with pagination: absent from older servers, null on the last page. */
export const crawlErrorList = z.object({ items: z.array(crawlErrorItem), nextCursor: z.string().nullable().optional() });

export const rejectedItem = z.object({
  url: z.string(),
  reason: z.string().describe(`Why it was not taken: ${REJECT_REASONS.join(', ')}`),
  foundOn: z.string().describe('The page it was found on (the first, when several)'),
});
export type RejectedItem = z.infer<typeof rejectedItem>;
export const rejectedList = z.object({ items: z.array(rejectedItem), nextCursor: z.string().nullable() });
export type RejectedList = z.infer<typeof rejectedList>;

/** Every JSON error body: `{error: {code, message, details?}}`. */
export const apiError = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ApiError = z.infer<typeof apiError>;

// ---- stream events (DESIGN.md section 2) ----

const eventBase = { crawlId: z.string(), ts: z.number().int().nonnegative() };

export const snapshotEvent = crawl.extend({ type: z.literal('snapshot'), ...eventBase });
export const startedEvent = z.object({
  type: z.literal('started'),
  ...eventBase,
  url: z.string(),
  options: storedCrawlOptions,
});
export const discoveredEvent = z.object({
  type: z.literal('discovered'),
  ...eventBase,
  urls: z.array(z.string()).min(1),
  depth: count,
});
export const pageEvent = z.object({
  type: z.literal('page'),
  ...eventBase,
  url: z.string(),
  title: z.string(),
  depth: count,
  status: z.number().int(),
  bytes: count,
  durationMs: count,
  /** True when the page's content came from the browser renderer; absent on events written before rendering existed. */
  rendered: z.boolean().optional(),
  /** With `?include=markdown` on the stream: the stored page's markdown, cut to keep the event within MAX_EVENT_BYTES. */
  markdown: z.string().optional(),
  /** With `?include=markdown`: present when the markdown was cut for the event's size. */
  truncated: z.boolean().optional(),
});
export const pageFailedEvent = z.object({
  type: z.literal('page_failed'),
  ...eventBase,
  url: z.string(),
  reason: z.enum(FAILURE_REASONS),
  message: z.string(),
  status: z.number().int().optional(),
  attempts: z.number().int().min(1),
});
export const pageSkippedEvent = z.object({
  type: z.literal('page_skipped'),
  ...eventBase,
  url: z.string(),
  reason: z.enum(SKIP_REASONS),
  /** A `duplicate`: the stored page it duplicates. */
  duplicateOf: z.string().optional(),
});
export const progressEvent = z.object({
  type: z.literal('progress'),
  ...eventBase,
  counters,
  pagesPerSecond: z.number().nonnegative(),
});
export const completedEvent = z.object({
  type: z.literal('completed'),
  ...eventBase,
  counters,
  durationMs: count,
});
export const failedEvent = z.object({
  type: z.literal('failed'),
  ...eventBase,
  error: errorInfo,
  counters,
});
export const cancelledEvent = z.object({
  type: z.literal('cancelled'),
  ...eventBase,
  counters,
});
export const resetEvent = z.object({
  type: z.literal('reset'),
  ...eventBase,
  reason: z.string(),
});

export const crawlEvent = z.discriminatedUnion('type', [
  snapshotEvent,
  startedEvent,
  discoveredEvent,
  pageEvent,
  pageFailedEvent,
  pageSkippedEvent,
  progressEvent,
  completedEvent,
  failedEvent,
  cancelledEvent,
  resetEvent,
]);
export type CrawlEvent = z.infer<typeof crawlEvent>;
export type CrawlEventType = CrawlEvent['type'];
export type EventOf<T extends CrawlEventType> = Extract<CrawlEvent, { type: T }>;

export const EVENT_TYPES = crawlEvent.options.map((o) => o.shape.type.value) as CrawlEventType[];

/** Whether an event of this type ends its crawl's stream (the terminal events are named after the terminal statuses). */
export function isTerminalEvent(type: string): type is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(type);
}

export function isTerminalStatus(status: string): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

// ---- what clients read (forward compatible) ----
//
// Additive changes never break a client: a newer server may send new event
// types, new fields, new options and new reason codes. The schemas below are
// the ones the SDK, the CLI and the dashboard read answers and events with:
// every known field is still checked, unknown fields are kept (objects are
// loose), reasons are any string with the known ones typed, and an event whose
// `type` is not in CLIENT_EVENT_TYPES is skipped by the reader. The server's
// own request validation above stays strict.

/** A code from a list that grows (failure and skip reasons): the known ones typed, any other string accepted. */
export type OpenCode<Known extends string> = Known | (string & {});

function openCode<Known extends string>(_known: readonly Known[]): z.ZodType<OpenCode<Known>> {
  return z.string() as unknown as z.ZodType<OpenCode<Known>>;
}

const clientOptions = storedCrawlOptions.loose();
const clientCounters = counters.loose();
const clientErrorInfo = errorInfo.loose();
const clientCrawlFields = { options: clientOptions, counters: clientCounters, error: clientErrorInfo.optional() };

export const clientCrawl = crawl.extend(clientCrawlFields).loose();
export type ClientCrawl = z.infer<typeof clientCrawl>;
export const clientCrawlWithToken = crawlWithToken.extend(clientCrawlFields).loose();
export type ClientCrawlWithToken = z.infer<typeof clientCrawlWithToken>;
export const clientCrawlList = crawlList.extend({ items: z.array(clientCrawl) }).loose();
export type ClientCrawlList = z.infer<typeof clientCrawlList>;
export const clientPageList = pageList.extend({ items: z.array(pageResult.loose()) }).loose();
export type ClientPageResult = z.infer<typeof clientPageList>['items'][number];
const clientCrawlErrorItem = crawlErrorItem.extend({ reason: openCode<FailureReason | SkipReason>([...FAILURE_REASONS, ...SKIP_REASONS]) }).loose();
export type ClientCrawlErrorItem = z.infer<typeof clientCrawlErrorItem>;
export const clientCrawlErrorList = crawlErrorList.extend({ items: z.array(clientCrawlErrorItem) }).loose();

const clientRejectedItem = rejectedItem.extend({ reason: openCode<RejectReason>(REJECT_REASONS) }).loose();
export type ClientRejectedItem = z.infer<typeof clientRejectedItem>;
export const clientRejectedList = rejectedList.extend({ items: z.array(clientRejectedItem) }).loose();
export type ClientRejectedList = z.infer<typeof clientRejectedList>;

const clientProgressCounters = { counters: clientCounters };
export const clientCrawlEvent = z.discriminatedUnion('type', [
  snapshotEvent.extend(clientCrawlFields).loose(),
  startedEvent.extend({ options: clientOptions }).loose(),
  discoveredEvent.loose(),
  pageEvent.loose(),
  pageFailedEvent.extend({ reason: openCode(FAILURE_REASONS) }).loose(),
  pageSkippedEvent.extend({ reason: openCode(SKIP_REASONS) }).loose(),
  progressEvent.extend(clientProgressCounters).loose(),
  completedEvent.extend(clientProgressCounters).loose(),
  failedEvent.extend({ ...clientProgressCounters, error: clientErrorInfo }).loose(),
  cancelledEvent.extend(clientProgressCounters).loose(),
  resetEvent.loose(),
]);
/** An event as clients read it: one of the known types, with any fields a newer server added. */
export type ClientCrawlEvent = z.infer<typeof clientCrawlEvent>;
export type ClientEventOf<T extends CrawlEventType> = Extract<ClientCrawlEvent, { type: T }>;
/** GET /:id/webhook as clients read it: states a newer server adds are let through. */
export const clientWebhookStatus = webhookStatus.extend({ state: openCode(WEBHOOK_STATES) }).loose();
export type ClientWebhookStatus = z.infer<typeof clientWebhookStatus>;
/** `webhook` of a create request, as the SDK and CLI send it. */
export type WebhookRequestInput = z.input<typeof webhookRequestSchema>;

/** The event types this client knows; a reader skips the others. */
export const CLIENT_EVENT_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);
