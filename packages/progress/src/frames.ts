// Stored events as the stream sends them. A stored entry keeps the type and
// the payload JSON; the SSE data line `{type, crawlId, ts, ...payload}` is
// built once per entry by string concatenation and shared by every reader.
import { type CrawlEvent, crawlEvent } from '@crawlstream/shared';

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
