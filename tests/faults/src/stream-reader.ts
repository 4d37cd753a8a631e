// A stream reader as a careful client is: real SSE over HTTP (node:http, so a
// test can stop reading its socket), resuming with Last-Event-ID after any
// cut, failing over to the next API instance when one does not answer. It
// records what a user would notice: an event id twice or out of order, a page
// settled twice, how many terminal events, resets, and whether the pages it
// saw add up to the crawl's final counters.
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { compareEventIds, streamPath } from '@crawlstream/shared';
import { createParser } from 'eventsource-parser';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const SETTLE = new Set(['page', 'page_failed', 'page_skipped']);

export interface ReaderOptions {
  /** API instances, in failover order. */
  bases: string[];
  crawlId: string;
  /** The first cursor (default '0': every stored event). */
  from?: string;
  /** A slow reader: stops reading its socket for `pauseMs` every `everyMs`. */
  slow?: { everyMs: number; pauseMs: number };
  /** The reader gives up (and is not whole) after this long. */
  deadlineMs?: number;
}

export interface ReaderSummary {
  /** Terminal events received (a terminal `snapshot` after a `reset` counts as one). */
  terminals: number;
  duplicateIds: number;
  duplicatePages: number;
  resets: number;
  /** Connections after the first. */
  reconnects: number;
  /** Epoch ms of each 200 answer (the first connection, then every resume). */
  connectedAt: number[];
  /** Epoch ms at which the terminal event arrived. */
  endedAt: number | undefined;
  problems: string[];
  whole: boolean;
}

type Outcome = 'terminal' | 'ended' | 'error' | 'no_content' | 'refused' | 'deadline';

interface Counters {
  discovered: number;
  processed: number;
  failed: number;
  skipped: number;
}

const settledOf = (c: Counters) => c.processed + c.failed + c.skipped;

export class StreamReader {
  private cursor: string;
  private lastStored: string | undefined;
  private readonly ids = new Set<string>();
  private readonly pages = new Set<string>();
  /** Settled pages the last snapshot accounted for (after a reset). */
  private snapshotSettled = 0;
  private finalSettled: number | undefined;
  private terminalId: string | undefined;
  private readonly summary: ReaderSummary = {
    terminals: 0,
    duplicateIds: 0,
    duplicatePages: 0,
    resets: 0,
    reconnects: 0,
    connectedAt: [],
    endedAt: undefined,
    problems: [],
    whole: false,
  };
  private readonly deadline: number;
  /** Resolves when the reader is done (terminal, or gave up). */
  readonly done: Promise<ReaderSummary>;

  constructor(private readonly options: ReaderOptions) {
    this.cursor = options.from ?? '0';
    this.deadline = Date.now() + (options.deadlineMs ?? 180_000);
    this.done = this.run();
  }

  private async run(): Promise<ReaderSummary> {
    const { bases } = this.options;
    let at = 0;
    let first = true;
    for (;;) {
      if (!first) this.summary.reconnects++;
      first = false;
      const outcome = await this.connect(bases[at % bases.length]!);
      if (outcome === 'terminal') break;
      if (outcome === 'deadline') {
        this.summary.problems.push('no terminal event before the deadline');
        break;
      }
      if (outcome === 'no_content') {
        // 204: the cursor is at or past the terminal event, which this reader never received.
        this.summary.problems.push(`204 at cursor ${this.cursor} without a terminal event`);
        break;
      }
      // Refused, reset or 5xx: the next instance; a clean end: the same one again.
      if (outcome !== 'ended') at++;
      await sleep(outcome === 'ended' ? 50 : 200);
    }
    if (this.summary.terminals === 1 && this.terminalId) await this.confirmNothingAfter(bases[at % bases.length]!);
    return this.finish();
  }

  private finish(): ReaderSummary {
    const s = this.summary;
    if (s.terminals > 1) s.problems.push(`${s.terminals} terminal events`);
    if (s.duplicateIds) s.problems.push(`${s.duplicateIds} events twice (or out of order)`);
    if (s.duplicatePages) s.problems.push(`${s.duplicatePages} pages settled twice in the stream`);
    const seen = this.snapshotSettled + this.pages.size;
    if (this.finalSettled !== undefined && seen !== this.finalSettled) {
      s.problems.push(`saw ${seen} settled pages, the terminal counters say ${this.finalSettled}`);
    }
    s.whole = s.terminals === 1 && s.problems.length === 0;
    return s;
  }

  /** After the terminal event the log must hold nothing more: a resume from it answers 204. */
  private async confirmNothingAfter(base: string): Promise<void> {
    const terminalsBefore = this.summary.terminals;
    for (let attempt = 0; attempt < 20; attempt++) {
      const outcome = await this.connect(base, 3_000);
      if (outcome === 'no_content') return;
      if (outcome === 'refused' || outcome === 'error') {
        await sleep(200);
        continue;
      }
      if (this.summary.terminals > terminalsBefore) return;
      this.summary.problems.push(`resume after the terminal event: ${outcome}, not 204`);
      return;
    }
  }

  private onEvent(id: string | undefined, type: string | undefined, data: string): boolean {
    if (!id || !type) return false;
    const body = JSON.parse(data) as { status?: string; counters?: Counters; url?: string };
    this.cursor = id;
    if (type === 'reset') {
      this.summary.resets++;
      return false;
    }
    if (type === 'snapshot') {
      this.pages.clear();
      this.snapshotSettled = body.counters ? settledOf(body.counters) : 0;
      if (body.status && TERMINAL.has(body.status)) {
        this.summary.terminals++;
        this.finalSettled = this.snapshotSettled;
        this.summary.endedAt = Date.now();
        return true;
      }
      return false;
    }
    if (this.ids.has(id) || (this.lastStored !== undefined && compareEventIds(id, this.lastStored) <= 0)) this.summary.duplicateIds++;
    this.ids.add(id);
    this.lastStored = id;
    if (SETTLE.has(type) && body.url) {
      if (this.pages.has(body.url)) this.summary.duplicatePages++;
      this.pages.add(body.url);
    }
    if (TERMINAL.has(type)) {
      this.summary.terminals++;
      if (body.counters) this.finalSettled = settledOf(body.counters);
      this.summary.endedAt ??= Date.now();
      this.terminalId = id;
      return true;
    }
    return false;
  }

  /** One connection from the current cursor, until a terminal event, its end, or an error. */
  private connect(base: string, limitMs = this.deadline - Date.now()): Promise<Outcome> {
    if (limitMs <= 0) return Promise.resolve('deadline');
    const url = new URL(streamPath(this.options.crawlId), base);
    return new Promise<Outcome>((resolve) => {
      let settledOutcome = false;
      const timers: NodeJS.Timeout[] = [];
      const end = (outcome: Outcome) => {
        if (settledOutcome) return;
        settledOutcome = true;
        for (const timer of timers) clearTimeout(timer);
        req.destroy();
        resolve(outcome);
      };
      const req = request(url, {
        agent: false,
        headers: { accept: 'text/event-stream', 'last-event-id': this.cursor },
      });
      timers.push(setTimeout(() => end('deadline'), limitMs));
      req.on('error', (error: NodeJS.ErrnoException) => end(error.code === 'ECONNREFUSED' ? 'refused' : 'error'));
      req.on('response', (res) => {
        if (res.statusCode === 204) return end('no_content');
        if (res.statusCode !== 200) {
          res.resume();
          return end('error');
        }
        this.summary.connectedAt.push(Date.now());
        const parser = createParser({
          onEvent: (event) => {
            if (this.onEvent(event.id, event.event, event.data)) end('terminal');
          },
        });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => parser.feed(chunk));
        res.on('end', () => end('ended'));
        res.on('error', () => end('error'));
        res.on('aborted', () => end('error'));
        const slow = this.options.slow;
        if (slow) {
          const pauser = setInterval(() => {
            res.pause();
            timers.push(setTimeout(() => res.resume(), slow.pauseMs));
          }, slow.everyMs);
          timers.push(pauser);
        }
      });
      req.end();
    });
  }
}

/** Starts `n` readers on one crawl. */
export function startReaders(n: number, options: ReaderOptions): StreamReader[] {
  return Array.from({ length: n }, () => new StreamReader(options));
}

/** What a set of readers adds up to, for a report row. */
export function readersVerdict(summaries: ReaderSummary[]): { whole: number; duplicated: number; terminals: number[]; resets: number; problems: string[] } {
  return {
    whole: summaries.filter((s) => s.whole).length,
    duplicated: summaries.reduce((n, s) => n + s.duplicateIds + s.duplicatePages, 0),
    terminals: summaries.map((s) => s.terminals),
    resets: summaries.reduce((n, s) => n + s.resets, 0),
    problems: summaries.flatMap((s, i) => s.problems.map((p) => `reader ${i + 1}: ${p}`)),
  };
}
