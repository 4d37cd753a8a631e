// Server-sent events on a raw Node response: the wire format of DESIGN.md
// section 2 and writes paced by 'drain'. A writer never holds more than the
// socket's high-water mark plus one event: when a write reports a full
// buffer it waits for 'drain', and a client that does not drain within the
// limit is cut off (it resumes by Last-Event-ID), so a slow reader costs a
// cursor, not a buffer. A process holds thousands of writers: each listens
// to its response's 'close' through one shared function, not a closure.
import type { ServerResponse } from 'node:http';
import type { EventFrame } from '@crawlstream/progress';

export const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

export const PING = ': ping\n\n';
/** A heartbeat as a write of its own (one array for every writer). */
export const PINGS: readonly string[] = [PING];

/**
 * Frames come from the hub's shared ring, one object per event for every
 * reader of the process: the wire text is built once per event, not per client.
 */
const encoded = new WeakMap<EventFrame, string>();

export function encodeFrame(frame: EventFrame): string {
  let text = encoded.get(frame);
  if (text === undefined) {
    text = `id: ${frame.id}\nevent: ${frame.type}\ndata: ${frame.data}\n\n`;
    encoded.set(frame, text);
  }
  return text;
}

export type WriteResult = 'written' | 'closed' | 'slow';

/** The writer of a response, so that one listener function serves them all. */
const WRITER = Symbol('sse writer');
type WrittenResponse = ServerResponse & { [WRITER]?: SseWriter };

function onResponseClose(this: WrittenResponse): void {
  this[WRITER]?.responseClosed();
}

export class SseWriter {
  private closed = false;

  constructor(
    readonly res: ServerResponse,
    private readonly drainTimeoutMs: number,
  ) {
    (res as WrittenResponse)[WRITER] = this;
    res.on('close', onResponseClose);
  }

  /** The response closed (client gone, or ended); subclasses stop their work here too. */
  responseClosed(): void {
    this.closed = true;
  }

  /** Also true when the client left before this writer was made (its 'close' already fired). */
  get isClosed(): boolean {
    return this.closed || this.res.destroyed || this.res.socket === null || this.res.socket.destroyed;
  }

  /** Status line, headers and the `retry:` line, in one write. */
  start(retryMs: number, extraHeaders: Record<string, string> = {}): void {
    this.res.writeHead(200, { ...SSE_HEADERS, ...extraHeaders });
    this.res.write(`retry: ${retryMs}\n\n`);
  }

  /**
   * Writes events (and comment lines) in order, corked together while the
   * socket takes them, waiting for 'drain' whenever it is full. Synchronous
   * when the socket took everything (the common case: no promise per event
   * per client). 'slow' when the client did not drain in time (the connection
   * is then destroyed), 'closed' when it went away.
   */
  write(chunks: readonly (EventFrame | string)[], from = 0): WriteResult | Promise<WriteResult> {
    if (this.isClosed) return 'closed';
    const { res } = this;
    const corked = chunks.length - from > 1;
    if (corked) res.cork();
    let ok = true;
    let i = from;
    while (ok && i < chunks.length) {
      const chunk = chunks[i++]!;
      ok = res.write(typeof chunk === 'string' ? chunk : encodeFrame(chunk));
    }
    if (corked) res.uncork();
    if (ok) return 'written';
    return this.drained().then((result) =>
      result === 'written' && i < chunks.length ? this.write(chunks, i) : result,
    );
  }

  private drained(): Promise<WriteResult> {
    if (this.isClosed) return Promise.resolve('closed');
    if (!this.res.writableNeedDrain) return Promise.resolve('written');
    return new Promise((resolve) => {
      const finish = (result: WriteResult) => {
        clearTimeout(timer);
        this.res.off('drain', onDrain);
        this.res.off('close', onClose);
        if (result === 'slow') this.res.destroy();
        resolve(result);
      };
      const onDrain = () => finish('written');
      const onClose = () => finish('closed');
      const timer = setTimeout(() => finish('slow'), this.drainTimeoutMs);
      this.res.on('drain', onDrain);
      this.res.on('close', onClose);
    });
  }

  /** Ends the response cleanly: an EventSource reconnects after `retry` and resumes. */
  end(): void {
    if (!this.isClosed && !this.res.writableEnded) this.res.end();
  }
}
