// The commands behind the command line, over the SDK. `run` takes the
// process's streams, environment and Ctrl-C as arguments (main.ts passes the
// real ones) and returns the exit code; nothing here touches `process`.
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { access, constants, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import {
  type Crawl,
  CrawlstreamClient,
  CrawlstreamError,
  type CrawlStatus,
  CrawlTally,
  type ReconnectInfo,
} from '@crawlstream/client';
import { type Invocation, parseCommandLine, USAGE } from './args.js';
import { EXIT, UsageError } from './exit-codes.js';
import { ProgressView, type TextSink } from './progress-view.js';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: TextSink;
  env: Record<string, string | undefined>;
  /** Calls `handler` on each Ctrl-C until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
  version: string;
  /** A fetch for the SDK (tests); default the global one. */
  fetch?: typeof fetch;
}

/** How the CLI reconnects a stream: give up (exit 3) after about a minute without the API. */
const RECONNECT = { initialDelayMs: 500, maxDelayMs: 8_000, maxAttempts: 8 };

async function emit(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

function exitFor(status: CrawlStatus | undefined): number {
  return status === 'failed' || status === 'cancelled' ? EXIT.crawlNotCompleted : EXIT.ok;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/** A message for an API error that says what to do about it where it can. */
export function explain(error: CrawlstreamError, api: string): string {
  if (error.status === 0 && error.code === 'network_error') return `cannot reach the API at ${api}: ${error.message}`;
  let text = `the API answered ${error.status} ${error.code}: ${error.message}`;
  const issues = (error.details as { issues?: { path?: unknown[]; message?: string }[] } | undefined)?.issues;
  if (Array.isArray(issues)) {
    for (const issue of issues) text += `\n  ${(issue.path ?? []).join('.') || '(body)'}: ${issue.message ?? 'invalid'}`;
  }
  if (error.status === 401) text += '\n  (pass --api-key or set CRAWLSTREAM_API_KEY)';
  if (error.code === 'too_many_retries') text = `lost the stream from ${api}: ${error.message}`;
  return text;
}

/** Fails early (usage error) when the markdown could not be written where asked. */
async function checkOutput(output: string): Promise<void> {
  const path = resolve(output);
  const existing = await stat(path).catch(() => null);
  if (existing?.isDirectory()) throw new UsageError(`--output ${output} is a directory`);
  const directory = dirname(path);
  const writable = await stat(directory)
    .then(async (found) => found.isDirectory() && (await access(directory, constants.W_OK).then(() => true)))
    .catch(() => false);
  if (!writable) throw new UsageError(`--output ${output}: ${directory} is not a directory this process can write in`);
}

class Session {
  readonly client: CrawlstreamClient;

  constructor(
    readonly io: Io,
    readonly api: string,
    apiKey: string | undefined,
    readonly json: boolean,
    readonly quiet: boolean,
  ) {
    this.client = new CrawlstreamClient({
      baseUrl: api,
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(io.fetch ? { fetch: io.fetch } : {}),
      reconnect: RECONNECT,
    });
  }

  /** A line for people on stderr (not with --quiet; with --json only warnings). */
  say(text: string, view?: ProgressView, warning = false): void {
    if (this.quiet || (this.json && !warning)) return;
    if (view) view.note(text);
    else this.io.stderr.write(`${text}\n`);
  }

  /**
   * Follows a crawl's events to its end: the progress view on stderr, or a
   * JSON line per event on stdout. With `cancelOnInterrupt`, the first Ctrl-C
   * cancels the crawl and the stream shows it stopping; otherwise (and on
   * the second) Ctrl-C stops watching.
   */
  async follow(id: string, lastEventId: string | undefined, cancelOnInterrupt: boolean, includeMarkdown = false): Promise<CrawlTally> {
    const view = this.json || this.quiet ? undefined : new ProgressView(this.io.stderr);
    const tally = view?.tally ?? new CrawlTally();
    const stop = new AbortController();
    let interrupts = 0;
    const dispose = this.io.onInterrupt(() => {
      interrupts++;
      if (!cancelOnInterrupt || interrupts > 1) {
        stop.abort();
        return;
      }
      this.say('cancelling the crawl (Ctrl-C again to stop waiting)', view, true);
      this.client.cancelCrawl(id).catch((error: unknown) => {
        if (error instanceof CrawlstreamError && error.code === 'already_finished') return;
        this.say(`could not cancel: ${error instanceof CrawlstreamError ? explain(error, this.api) : String(error)}`, view, true);
      });
    });
    const onReconnect = (info: ReconnectInfo) => {
      if (!info.error) return;
      this.say(`stream interrupted (${info.error.message}); reconnecting in ${(info.delayMs / 1000).toFixed(1)}s`, view, true);
    };
    try {
      const events = this.client.events(id, {
        ...(lastEventId !== undefined ? { lastEventId } : {}),
        ...(includeMarkdown ? { include: ['markdown'] as const } : {}),
        signal: stop.signal,
        onReconnect,
      });
      for await (const { id: eventId, event } of events) {
        if (this.json) await emit(this.io.stdout, `${JSON.stringify({ eventId, ...event })}\n`);
        if (view) view.update(event);
        else tally.apply(event);
      }
    } catch (error) {
      view?.stop();
      throw error;
    } finally {
      dispose();
    }
    view?.finish();
    return tally;
  }

  /** The combined markdown into `output` (atomically, through a temporary file) or onto stdout. */
  async writeMarkdown(id: string, output: string | undefined, stored: number): Promise<void> {
    await this.writeBody(await this.client.markdownStream(id), output, `${stored} pages, `);
  }

  /** A streamed answer into `output` (atomically, through a temporary file) or onto stdout, never held whole. */
  async writeBody(stream: ReadableStream<Uint8Array>, output: string | undefined, what = ''): Promise<void> {
    const body = Readable.fromWeb(stream as NodeReadableStream<Uint8Array>);
    if (output === undefined) {
      for await (const chunk of body) await emit(this.io.stdout, chunk as string);
      return;
    }
    const path = resolve(output);
    const temporary = `${path}.${Date.now().toString(36)}.tmp`;
    try {
      await pipeline(body, createWriteStream(temporary));
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    const { size } = await stat(path);
    this.say(`wrote ${output} (${what}${(size / 1024).toFixed(1)} KiB)`);
  }

  async printCrawl(crawl: Crawl): Promise<void> {
    if (this.json) {
      await emit(this.io.stdout, `${JSON.stringify(crawl)}\n`);
      return;
    }
    const { processed, failed, skipped, discovered } = crawl.counters;
    const rows: [string, string | undefined][] = [
      ['id', crawl.id],
      ['url', crawl.url],
      ['status', crawl.status],
      ['pages', `${processed} stored, ${failed} failed, ${skipped} skipped (of ${discovered} discovered)`],
      ['created', crawl.createdAt],
      ['started', crawl.startedAt],
      ['finished', crawl.finishedAt],
      ['error', crawl.error ? `${crawl.error.code}: ${crawl.error.message}` : undefined],
    ];
    const lines = rows.filter(([, value]) => value !== undefined).map(([key, value]) => `${key.padEnd(9)}${value}`);
    await emit(this.io.stdout, `${lines.join('\n')}\n`);
  }
}

async function execute(invocation: Exclude<Invocation, { command: 'help' | 'version' }>, io: Io): Promise<number> {
  const { common } = invocation;
  const session = new Session(io, common.api, common.apiKey, common.json, common.quiet);
  const { client } = session;
  switch (invocation.command) {
    case 'crawl': {
      if (invocation.output !== undefined) await checkOutput(invocation.output);
      const created = await client.createCrawl(
        invocation.url,
        invocation.options,
        {
          ...(invocation.idempotencyKey !== undefined ? { idempotencyKey: invocation.idempotencyKey } : {}),
          ...(invocation.webhook ? { webhook: invocation.webhook } : {}),
        },
      );
      if (invocation.detach) {
        if (common.json) await session.printCrawl(created);
        else await emit(io.stdout, `${created.id}\n`);
        return EXIT.ok;
      }
      session.say(`crawl ${created.id}: ${created.url}`);
      const tally = await session.follow(created.id, '0', true);
      if (invocation.output !== undefined || !common.json) {
        await session.writeMarkdown(created.id, invocation.output, tally.counters.processed);
      }
      return exitFor(tally.status);
    }
    case 'watch': {
      if (invocation.output !== undefined) await checkOutput(invocation.output);
      const tally = await session.follow(invocation.id, invocation.lastEventId, false, invocation.includeMarkdown);
      if (invocation.output !== undefined) await session.writeMarkdown(invocation.id, invocation.output, tally.counters.processed);
      return exitFor(tally.status);
    }
    case 'llms': {
      if (invocation.output !== undefined) await checkOutput(invocation.output);
      const stream = invocation.full
        ? await client.llmsFullTxtStream(invocation.id)
        : (new Blob([await client.llmsTxt(invocation.id)]).stream() as ReadableStream<Uint8Array>);
      await session.writeBody(stream, invocation.output);
      return EXIT.ok;
    }
    case 'status': {
      const crawl = await client.getCrawl(invocation.id);
      await session.printCrawl(crawl);
      return exitFor(crawl.status);
    }
    case 'cancel': {
      try {
        const crawl = await client.cancelCrawl(invocation.id);
        if (common.json) await session.printCrawl(crawl);
        else await emit(io.stdout, `cancelled ${crawl.id}\n`);
        return EXIT.ok;
      } catch (error) {
        if (!(error instanceof CrawlstreamError) || error.code !== 'already_finished') throw error;
        const status = (error.details as { status?: string } | undefined)?.status ?? 'finished';
        io.stderr.write(`crawlstream: crawl ${invocation.id} has already ${status}; nothing to cancel\n`);
        return EXIT.crawlNotCompleted;
      }
    }
    case 'pages': {
      for await (const page of client.pages(invocation.id, { limit: 100 })) {
        if (common.json) await emit(io.stdout, `${JSON.stringify(page)}\n`);
        else {
          // Columns added at the end (#14, #17), so that scripts reading the first ones keep working.
          const words = page.wordCount ?? '-';
          const source = page.rendered === undefined ? '-' : page.rendered ? 'rendered' : 'fetched';
          await emit(io.stdout, `${page.status}\t${page.depth}\t${page.url}\t${page.title}\t${words}\t${page.language ?? '-'}\t${source}\n`);
        }
      }
      return EXIT.ok;
    }
    case 'errors': {
      for (const item of await client.errors(invocation.id)) {
        if (common.json) await emit(io.stdout, `${JSON.stringify(item)}\n`);
        else await emit(io.stdout, `${item.kind}\t${item.reason}\t${item.status ?? '-'}\t${item.url}\t${item.message}\n`);
      }
      return EXIT.ok;
    }
    case 'rejected': {
      let cursor: string | undefined;
      for (;;) {
        const page = await client.rejected(invocation.id, { cursor, limit: 100 });
        for (const item of page.items) {
          if (common.json) await emit(io.stdout, `${JSON.stringify(item)}\n`);
          else await emit(io.stdout, `${item.reason}\t${item.url}\t${item.foundOn}\n`);
        }
        if (page.nextCursor === null || page.nextCursor === cursor) return EXIT.ok;
        cursor = page.nextCursor;
      }
    }
  }
}

/** Runs one command line; resolves to the process's exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let api: string | undefined;
  try {
    const invocation = parseCommandLine(argv, io.env);
    if (invocation.command === 'help') {
      await emit(io.stdout, invocation.text);
      return EXIT.ok;
    }
    if (invocation.command === 'version') {
      await emit(io.stdout, `${io.version}\n`);
      return EXIT.ok;
    }
    api = invocation.common.api;
    return await execute(invocation, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`crawlstream: ${error.message}\n${argv.length === 0 ? USAGE : 'Run crawlstream --help for usage.\n'}`);
      return EXIT.usage;
    }
    if (error instanceof CrawlstreamError) {
      io.stderr.write(`crawlstream: ${explain(error, api ?? '')}\n`);
      return error.status === 400 ? EXIT.usage : EXIT.api;
    }
    if (isAbort(error)) {
      io.stderr.write('crawlstream: interrupted\n');
      return EXIT.interrupted;
    }
    io.stderr.write(`crawlstream: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.crawlNotCompleted;
  }
}
