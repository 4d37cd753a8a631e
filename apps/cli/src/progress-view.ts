// What a person sees on stderr while a crawl runs: on a terminal, one line
// redrawn in place (a bar of pages done of discovered, rate, elapsed,
// failures) with notes printed above it; elsewhere (a log file, CI), a plain
// line per progress event. Pure rendering over the SDK's CrawlTally (the
// same figures as the dashboard's), so tests drive it with a fake stream and
// clock.
import { type CrawlEvent, CrawlTally, formatDuration, formatRate } from '@crawlstream/client';

export interface TextSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** The bar line, fitted to `columns`. */
export function barLine(tally: CrawlTally, now: number, columns: number): string {
  const { failed, skipped, discovered } = tally.counters;
  const done = tally.settled;
  const extras = [`${formatRate(tally.pagesPerSecond(now))} pages/s`, formatDuration(tally.elapsedMs(now) ?? 0)];
  if (failed > 0) extras.push(`${failed} failed`);
  if (skipped > 0) extras.push(`${skipped} skipped`);
  const text = `${done}/${discovered} pages | ${extras.join(' | ')}`;
  const room = columns - text.length - 4;
  if (room < 10) return text.slice(0, Math.max(0, columns - 1));
  const width = Math.min(40, room);
  const filled = discovered > 0 ? Math.min(width, Math.floor((done / discovered) * width)) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
}

export function plainLine(tally: CrawlTally, now: number): string {
  const { processed, failed, skipped, discovered } = tally.counters;
  return (
    `progress: ${tally.settled}/${discovered} pages (${processed} stored, ${failed} failed, ${skipped} skipped), ` +
    `${formatRate(tally.pagesPerSecond(now))} pages/s, ${formatDuration(tally.elapsedMs(now) ?? 0)} elapsed`
  );
}

/** The last line for a finished crawl. */
export function summaryLine(tally: CrawlTally, now: number): string {
  const { processed, failed, skipped, discovered } = tally.counters;
  const counts = `${processed} pages stored, ${failed} failed, ${skipped} skipped (of ${discovered} discovered)`;
  const took = formatDuration(tally.elapsedMs(now) ?? 0);
  if (tally.status === 'failed') {
    return `failed: ${tally.error ? `${tally.error.message} (${tally.error.code})` : 'the crawl failed'}; ${counts} in ${took}`;
  }
  return `${tally.status ?? 'ended'}: ${counts} in ${took}`;
}

const CLEAR_LINE = '\r\x1b[2K';
const REDRAW_EVERY_MS = 100;
/** Failed pages named one by one; past this, one line says where the rest are. */
export const FAILURES_SHOWN = 20;

export class ProgressView {
  readonly tally = new CrawlTally();
  private readonly tty: boolean;
  private drawn = false;
  private lastDraw = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private failuresShown = 0;

  constructor(
    private readonly out: TextSink,
    private readonly now: () => number = Date.now,
    options: { live?: boolean } = {},
  ) {
    this.tty = out.isTTY === true;
    // On a terminal the clock moves even when no event comes.
    if (this.tty && options.live !== false) {
      this.ticker = setInterval(() => this.draw(true), 1000);
      this.ticker.unref?.();
    }
  }

  update(event: CrawlEvent): void {
    this.tally.apply(event);
    if (event.type === 'page_failed') {
      this.failuresShown++;
      if (this.failuresShown <= FAILURES_SHOWN) {
        this.note(`page failed: ${event.url} (${event.reason}${event.status ? ` ${event.status}` : ''}: ${event.message})`);
      } else if (this.failuresShown === FAILURES_SHOWN + 1) {
        this.note(`more pages failed; list them all with: crawlstream errors ${event.crawlId}`);
      }
    }
    if (this.tty) this.draw(false);
    // Timed by the event, not the clock: after a reconnect, replayed lines say when they happened.
    else if (event.type === 'progress') this.out.write(`${plainLine(this.tally, event.ts)}\n`);
  }

  /** A line above the bar (or on its own without a terminal). */
  note(text: string): void {
    if (this.tty && this.drawn) this.out.write(CLEAR_LINE);
    this.out.write(`${text}\n`);
    this.drawn = false;
    if (this.tty) this.draw(true);
  }

  /** Stops redrawing; prints the summary of a finished crawl. */
  finish(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    const now = this.now();
    if (this.tty) {
      this.draw(true);
      this.out.write('\n');
      this.drawn = false;
    }
    if (this.tally.ended) {
      this.out.write(`${summaryLine(this.tally, now)}\n`);
    }
  }

  /** Stops redrawing and leaves the line as it is (interrupted). */
  stop(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.tty && this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  private draw(force: boolean): void {
    const now = this.now();
    if (!force && now - this.lastDraw < REDRAW_EVERY_MS) return;
    this.lastDraw = now;
    this.out.write(`${CLEAR_LINE}${barLine(this.tally, now, this.out.columns ?? 80)}`);
    this.drawn = true;
  }
}
