// The rendering options through `run` with a scripted fetch (#17): the flags
// reach the API as options, a bad one is a usage error before any request,
// and `pages` shows whether each page was rendered.
import { Writable } from 'node:stream';
import { crawlOptionsSchema } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { type Io, run } from './commands.js';
import { EXIT } from './exit-codes.js';

const API = 'http://127.0.0.1:9';
const ID = '0b7c6f1e-2a4d-4c8e-9f3a-5d6e7f8a9b0c';
const URL_ = 'http://127.0.0.1:9/docs/';

interface Sent {
  url: string;
  method: string;
  body: unknown;
}

async function crawlstream(args: string[], answer: (sent: Sent) => unknown) {
  let stdout = '';
  let stderr = '';
  const sent: Sent[] = [];
  const io: Io = {
    stdout: new Writable({
      write(chunk, _encoding, done) {
        stdout += String(chunk);
        done();
      },
    }),
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    onInterrupt: () => () => {},
    version: 'test',
    fetch: async (input, init) => {
      const request = { url: String(input), method: init?.method ?? 'GET', body: init?.body ? JSON.parse(String(init.body)) : undefined };
      sent.push(request);
      const status = request.method === 'POST' ? 201 : 200;
      return new Response(JSON.stringify(answer(request)), { status, headers: { 'content-type': 'application/json' } });
    },
  };
  const code = await run([...args, '--api', API], io);
  return { code, stdout, stderr, sent };
}

const crawlWith = (options: Record<string, unknown>) => ({
  id: ID,
  url: URL_,
  status: 'queued',
  options: { ...crawlOptionsSchema().parse({}), ...options },
  counters: { discovered: 1, processed: 0, failed: 0, skipped: 0 },
  createdAt: '2026-12-01T10:00:00.000Z',
});

describe('crawlstream crawl --render / --wait-for', () => {
  it('sends render and waitFor as crawl options', async () => {
    const { code, stdout, sent } = await crawlstream(['crawl', URL_, '--render', 'always', '--wait-for', '#app article', '--detach'], (request) =>
      crawlWith((request.body as { options: Record<string, unknown> }).options),
    );
    expect(code).toBe(EXIT.ok);
    expect(stdout).toBe(`${ID}\n`);
    expect(sent).toEqual([{ url: `${API}/api/crawl-v2`, method: 'POST', body: { url: URL_, options: { render: 'always', waitFor: '#app article' } } }]);
  });

  it('leaves render out when not given, so the server applies auto', async () => {
    const { code, sent } = await crawlstream(['crawl', URL_, '--detach'], () => crawlWith({}));
    expect(code).toBe(EXIT.ok);
    expect(sent[0]?.body).toEqual({ url: URL_, options: {} });
  });

  it('an unknown --render mode or a bad --wait-for is a usage error (exit 2) before any request', async () => {
    for (const [flags, message] of [
      [['--render', 'sometimes'], '--render must be one of never, auto, always (got "sometimes")'],
      [['--wait-for', 'div['], '--wait-for "div[": invalid CSS selector'],
    ] as const) {
      const { code, stdout, stderr, sent } = await crawlstream(['crawl', URL_, ...flags], () => crawlWith({}));
      expect(code).toBe(EXIT.usage);
      expect(stderr).toContain(`crawlstream: ${message}`);
      expect(stdout).toBe('');
      expect(sent).toEqual([]);
    }
  });
});

describe('crawlstream pages', () => {
  it('shows whether each page was rendered in its last column: rendered, fetched, or - for a page stored before rendering', async () => {
    const page = (n: number, rendered?: boolean) => ({
      url: `${URL_}p${n}`,
      title: `Page ${n}`,
      depth: 1,
      status: 200,
      markdown: 'x',
      fetchedAt: '2026-12-01T10:00:01.000Z',
      wordCount: 1,
      ...(rendered === undefined ? {} : { rendered }),
    });
    const items = [page(0, true), page(1, false), page(2)];
    const { code, stdout } = await crawlstream(['pages', ID], () => ({ items, nextCursor: null }));
    expect(code).toBe(EXIT.ok);
    expect(stdout.trim().split('\n').map((row) => row.split('\t').at(-1))).toEqual(['rendered', 'fetched', '-']);
    const json = await crawlstream(['pages', ID, '--json'], () => ({ items, nextCursor: null }));
    expect(json.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { rendered?: boolean }).rendered)).toEqual([true, false, undefined]);
  });
});
