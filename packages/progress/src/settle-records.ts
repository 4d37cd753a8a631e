// What a page's outcome becomes in Redis: the settle record (its event, its
// stored result, its links) and the chunks its links travel in. Pure
// functions; settle-batcher.ts sends them.
import {
  type CrawlErrorItem,
  type DedupeMode,
  type FAILURE_REASONS,
  MAX_DESCRIPTION_LENGTH,
  MAX_HTML_BYTES,
  MAX_LINKS_BYTES,
  MAX_LANGUAGE_LENGTH,
  MAX_LINKS_PER_PAGE,
  MAX_MESSAGE_LENGTH,
  MAX_REJECTED_PER_PAGE,
  MAX_TITLE_LENGTH,
  MAX_URL_LENGTH,
  MAX_VALIDATOR_LENGTH,
  type PageResult,
  type RejectReason,
  type SKIP_REASONS,
} from '@crawlstream/shared';
import { encodePage } from './pages.js';
import type { SettleRecord } from './scripts.js';
import { truncateBytes, truncateText } from './truncate.js';

export type PageOutcome =
  | {
      kind: 'processed';
      url: string;
      title: string;
      depth: number;
      status: number;
      bytes: number;
      durationMs: number;
      markdown: string;
      /** The markdown is not stored (the crawl's `formats` leave it out, or discoverOnly); `truncated` goes with it. */
      withoutMarkdown?: boolean;
      fetchedAt?: string;
      /**
       * The URL the page was fetched from after redirects, when it differs
       * from `url`: the settle claims it, or settles the page as skipped
       * (`redirect_known`) when the crawl already knew it.
       */
      finalUrl?: string;
      /** The markdown was cut at MAX_MARKDOWN_BYTES. */
      truncated?: boolean;
      /** The content is the DOM a browser rendered (true) or the fetched HTML (false); stored and evented when given. */
      rendered?: boolean;
      /** In-scope links the caller did not pass (past MAX_LINKS_PER_PAGE). */
      linksDropped?: number;
      /**
       * Normalized, in-scope links found on the page, claimed at depth + 1;
       * those past MAX_LINKS_PER_PAGE are counted in the page's `linksDropped`.
       */
      links?: string[];
      /**
       * The crawl's `options.dedupe`: what makes this page a duplicate of a
       * stored one (settle-17.lua decides). Absent: none.
       */
      dedupe?: readonly DedupeMode[];
      /**
       * Links found on the page that the worker did not take, with why
       * (out of scope, globs, robots.txt): recorded as rejected, found on the
       * page. At most MAX_REJECTED_PER_PAGE are sent.
       */
      rejected?: readonly RejectedLink[];
    } & PageMetadataFields &
      PageFormatFields
  | {
      kind: 'failed';
      url: string;
      reason: (typeof FAILURE_REASONS)[number];
      message: string;
      status?: number;
      attempts: number;
    }
  | { kind: 'skipped'; url: string; reason: (typeof SKIP_REASONS)[number]; message?: string };

export interface RejectedLink {
  url: string;
  reason: Exclude<RejectReason, 'max_depth' | 'max_pages'>;
}

/**
 * A processed page's metadata (#14), each optional: the worker sends what the
 * page had; the store keeps what is within its bound (description cut,
 * anything else out of bounds left out) on the stored record only, not on the
 * `page` event.
 */
export interface PageMetadataFields {
  description?: string;
  language?: string;
  canonical?: string;
  contentHash?: string;
  wordCount?: number;
  etag?: string;
  lastModified?: string;
}

/** A processed page's other formats (`formats` option), each sent only when the crawl asked for it; the store bounds them. */
export interface PageFormatFields {
  html?: string;
  rawHtml?: string;
  /** Every absolute link found on the page (the `links` format), not only those to follow. */
  pageLinks?: string[];
}

/** The formats as stored: each cut at its bound (MAX_HTML_BYTES, MAX_LINKS_PER_PAGE and MAX_LINKS_BYTES), the cut ones named in `truncatedFormats`. */
export function storedFormats(outcome: PageFormatFields): Pick<PageResult, 'html' | 'rawHtml' | 'links' | 'truncatedFormats'> {
  const stored: Pick<PageResult, 'html' | 'rawHtml' | 'links' | 'truncatedFormats'> = {};
  const cut: NonNullable<PageResult['truncatedFormats']> = [];
  for (const format of ['html', 'rawHtml'] as const) {
    const value = outcome[format];
    if (value === undefined) continue;
    const bounded = truncateBytes(value, MAX_HTML_BYTES);
    stored[format] = bounded.text;
    if (bounded.cut) cut.push(format);
  }
  if (outcome.pageLinks !== undefined) {
    const links: string[] = [];
    let bytes = 0;
    for (const link of outcome.pageLinks) {
      if (link.length > MAX_URL_LENGTH) continue;
      const size = Buffer.byteLength(link, 'utf8');
      if (links.length === MAX_LINKS_PER_PAGE || bytes + size > MAX_LINKS_BYTES) {
        cut.push('links');
        break;
      }
      links.push(link);
      bytes += size;
    }
    stored.links = links;
  }
  if (cut.length > 0) stored.truncatedFormats = cut;
  return stored;
}

const within = (value: string | undefined, max: number) => (value !== undefined && value !== '' && value.length <= max ? value : undefined);

/** The metadata as stored: bounded, and only the fields that are there. */
export function storedMetadata(outcome: PageMetadataFields): PageMetadataFields {
  const description = outcome.description === undefined ? undefined : truncateText(outcome.description, MAX_DESCRIPTION_LENGTH);
  const fields: PageMetadataFields = {
    description: description === '' ? undefined : description,
    language: within(outcome.language, MAX_LANGUAGE_LENGTH),
    canonical: within(outcome.canonical, MAX_URL_LENGTH),
    contentHash: outcome.contentHash !== undefined && /^[0-9a-f]{64}$/.test(outcome.contentHash) ? outcome.contentHash : undefined,
    wordCount: Number.isSafeInteger(outcome.wordCount) && outcome.wordCount! >= 0 ? outcome.wordCount : undefined,
    etag: within(outcome.etag, MAX_VALIDATOR_LENGTH),
    lastModified: within(outcome.lastModified, MAX_VALIDATOR_LENGTH),
  };
  for (const key of Object.keys(fields) as (keyof PageMetadataFields)[]) if (fields[key] === undefined) delete fields[key];
  return fields;
}

/**
 * At most this much per settle, claimLinks or claim call, so no call comes
 * near MAX_REDIS_COMMAND_MS (50 ms): a page's links travel in chunks of at
 * most LINK_CHUNK_COUNT links and LINK_CHUNK_BYTES characters, and a settle
 * call carries at most one chunk's worth of links in all. Claiming a link
 * costs Redis about 10 us plus 25 ns a character (it is stored in the seen
 * hash, the frontier and a `discovered` event), so a chunk is 1-2 ms; measured
 * by limits.redis.test.ts (SLOWLOG_DIAGNOSTIC=1): median call 0.9 ms. A
 * settle call carries the last chunks of several pages, up to
 * MAX_BATCH_LINKS links and MAX_BATCH_LINK_BYTES characters (about 4 + 3 ms
 * at those costs): at one chunk per call, pages of ~30 links travelled three
 * to a call and bench/crawl counted 0.2 more round trips per page.
 */
export const MAX_BATCH_RECORDS = 64;
export const MAX_BATCH_BYTES = 1024 * 1024;
export const MAX_BATCH_LINKS = 400;
export const MAX_BATCH_LINK_BYTES = 128 * 1024;
export const LINK_CHUNK_COUNT = 100;
const LINK_CHUNK_BYTES = 32 * 1024;

/** Links in chunks of at most LINK_CHUNK_COUNT links and LINK_CHUNK_BYTES characters. */
export function chunkLinks(links: string[]): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  let bytes = 0;
  for (const link of links) {
    if (chunk.length > 0 && (chunk.length >= LINK_CHUNK_COUNT || bytes + link.length > LINK_CHUNK_BYTES)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(link);
    bytes += link.length;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** URLs the store accepts at all (none over MAX_URL_LENGTH), in chunks. */
export function urlChunks(urls: string[]): string[][] {
  return chunkLinks(urls.filter((url) => url.length <= MAX_URL_LENGTH));
}

/** A processed page's links as the store keeps them: at most MAX_LINKS_PER_PAGE, none over MAX_URL_LENGTH. */
export function keptLinks(outcome: Extract<PageOutcome, { kind: 'processed' }>, finalUrl: string) {
  // The final URL is claimed by the settle itself (a self-link must not make the page redirect_known).
  const links = (outcome.links ?? []).filter((link) => link.length <= MAX_URL_LENGTH && link !== finalUrl);
  const dropped = Math.max(links.length - MAX_LINKS_PER_PAGE, 0) + (outcome.linksDropped ?? 0);
  return { links: dropped > 0 ? links.slice(0, MAX_LINKS_PER_PAGE) : links, dropped };
}

/** The bytes a record adds to a settle call. */
export function recordBytes(record: SettleRecord): number {
  let n = 8 * 2;
  for (const text of [record.url, record.outcome, record.eventType, record.payload, record.stored, record.finalUrl]) n += text.length;
  n += record.redirectPayload.length + record.redirectItem.length + 2 + record.canonical.length + record.contentHash.length;
  for (const link of record.links) n += link.length;
  for (const [url, reason] of record.rejected) n += url.length + reason.length + 16;
  return n;
}

/** One settle record (settle-17.lua), with the page's last chunk of links. */
export function settleRecord(outcome: PageOutcome, finalUrl: string, lastLinks: string[], linksDropped: number): SettleRecord {
  if (outcome.kind === 'processed') {
    const { url, depth, status, bytes, durationMs } = outcome;
    const markdown = outcome.withoutMarkdown ? undefined : outcome.markdown;
    const title = truncateText(outcome.title, MAX_TITLE_LENGTH);
    const metadata = storedMetadata(outcome);
    const rendered = outcome.rendered === undefined ? {} : { rendered: outcome.rendered };
    const page: PageResult = {
      url,
      title,
      depth,
      status,
      ...(markdown === undefined ? {} : { markdown }),
      fetchedAt: outcome.fetchedAt ?? new Date().toISOString(),
      ...(outcome.truncated && markdown !== undefined ? { truncated: true } : {}),
      ...(linksDropped > 0 ? { linksDropped } : {}),
      ...rendered,
      ...metadata,
      ...storedFormats(outcome),
    };
    const redirectItem: CrawlErrorItem = {
      url,
      kind: 'skipped',
      reason: 'redirect_known',
      message: truncateText(`redirects to ${finalUrl}, which this crawl already has`, MAX_MESSAGE_LENGTH),
    };
    return {
      url,
      outcome: 'processed',
      eventType: 'page',
      payload: JSON.stringify({ url, title, depth, status, bytes, durationMs, ...rendered }),
      stored: encodePage(page),
      childDepth: depth + 1,
      finalUrl,
      redirectPayload: finalUrl === '' ? '' : JSON.stringify({ url, reason: 'redirect_known' }),
      redirectItem: finalUrl === '' ? '' : JSON.stringify(redirectItem),
      dedupeCanonical: outcome.dedupe?.includes('canonical') ?? false,
      canonical: metadata.canonical ?? '',
      // A page without content (selectors that matched nothing) is no copy of another empty one.
      contentHash: (outcome.dedupe?.includes('content') && outcome.markdown.trim() !== '' && metadata.contentHash) || '',
      links: lastLinks,
      rejected: (outcome.rejected ?? [])
        .filter((link) => link.url.length <= MAX_URL_LENGTH)
        .slice(0, MAX_REJECTED_PER_PAGE)
        .map((link) => [link.url, link.reason] as const),
    };
  }
  const status = outcome.kind === 'failed' && outcome.status !== undefined ? { status: outcome.status } : {};
  const message = truncateText(
    outcome.kind === 'failed' ? outcome.message : (outcome.message ?? outcome.reason.replaceAll('_', ' ')),
    MAX_MESSAGE_LENGTH,
  );
  const item: CrawlErrorItem = { url: outcome.url, kind: outcome.kind, reason: outcome.reason, message, ...status };
  const event =
    outcome.kind === 'failed'
      ? { url: outcome.url, reason: outcome.reason, message, ...status, attempts: outcome.attempts }
      : { url: outcome.url, reason: outcome.reason };
  return {
    url: outcome.url,
    outcome: outcome.kind,
    eventType: outcome.kind === 'failed' ? 'page_failed' : 'page_skipped',
    payload: JSON.stringify(event),
    stored: JSON.stringify(item),
    childDepth: 0,
    finalUrl: '',
    redirectPayload: '',
    redirectItem: '',
    dedupeCanonical: false,
    canonical: '',
    contentHash: '',
    links: [],
    rejected: [],
  };
}
