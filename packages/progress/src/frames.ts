// Stored events as the stream sends them. A stored entry keeps the type and
// the payload JSON; the SSE data line `{type, crawlId, ts, ...payload}` is
// built once per entry by string concatenation and shared by every reader.
import { type CrawlEvent, crawlEvent, MAX_EVENT_BYTES } from '@crawlstream/shared';

export interface EventFrame {
  /** The stream id, which is the SSE event id. */
  id: string;
  type: CrawlEvent['type'];
  /** One JSON line: `{type, crawlId, ts, ...payload}`. */
  data: string;
}

/** Epoch milliseconds of a stream id: the time the entry was appended. */
export function idTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

export function makeFrame(
  crawlId: string,
  id: string,
  type: CrawlEvent['type'],
  payloadJson: string,
  ts: number = idTime(id),
): EventFrame {
  const head = `{"type":"${type}","crawlId":"${crawlId}","ts":${ts}`;
  const data = payloadJson.length > 2 ? `${head},${payloadJson.slice(1)}` : `${head}}`;
  return { id, type, data };
}

/** Parses and validates a frame's data (for clients and tests; the server never needs to). */
export function parseFrame(frame: EventFrame): CrawlEvent {
  return crawlEvent.parse(JSON.parse(frame.data));
}

/** `,"markdown":` + the JSON string + `,"truncated":true` + `}`: what a page event gains, besides the string's own bytes. */
const MARKDOWN_FIELD = ',"markdown":';
const TRUNCATED_FIELD = ',"truncated":true';

/** Bytes of `text` as a JSON string literal (quotes and escapes included), in UTF-8. */
function jsonStringBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text));
}

/** `text` cut to `end` UTF-16 units, never between the halves of a surrogate pair. */
function cutAt(text: string, end: number): string {
  const last = text.charCodeAt(end - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? end - 1 : end);
}

/**
 * A `page` frame with the page's markdown added (`?include=markdown`), as a
 * new frame with the same id (frames are shared by readers: never changed).
 * The whole data line stays within `maxBytes` (MAX_EVENT_BYTES): longer
 * markdown is cut to the longest prefix that fits, at a character boundary,
 * with `truncated: true`. `markdown` undefined (a page stored without it, or
 * no longer stored) leaves the frame as it is.
 */
export function frameWithMarkdown(frame: EventFrame, markdown: string | undefined, maxBytes = MAX_EVENT_BYTES): EventFrame {
  if (markdown === undefined || frame.type !== 'page') return frame;
  const head = frame.data.slice(0, -1); // without its closing brace
  const fixed = Buffer.byteLength(head) + MARKDOWN_FIELD.length + 1;
  if (fixed + jsonStringBytes(markdown) <= maxBytes) return { ...frame, data: `${head}${MARKDOWN_FIELD}${JSON.stringify(markdown)}}` };
  const budget = maxBytes - fixed - TRUNCATED_FIELD.length;
  // Escaping only grows a string: the prefix that fits is at most `budget` UTF-16 units. Binary search for the longest.
  let low = 0;
  let high = Math.min(markdown.length, Math.max(0, budget));
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (jsonStringBytes(cutAt(markdown, mid)) <= budget) low = mid;
    else high = mid - 1;
  }
  const cut = cutAt(markdown, low);
  return { ...frame, data: `${head}${MARKDOWN_FIELD}${JSON.stringify(cut)}${TRUNCATED_FIELD}}` };
}
