// The CLI against a newer server (answers and a stream with event types,
// fields, options and reasons it does not know), through `run` with a
// scripted fetch: it carries on and shows what it knows.
import { Writable } from 'node:stream';
import { crawlOptionsSchema } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { type Io, run } from './commands.js';
import { EXIT } from './exit-codes.js';

const API = 'http://127.0.0.1:9';
const ID = '0b7c6f1e-2a4d-4c8e-9f3a-5d6e7f8a9b0c';
// The defaults, plus an option this CLI does not know.
const OPTIONS = { ...crawlOptionsSchema().parse({}), renderJavaScript: true };
const CRAWL = {
  id: ID,
  url: 'http://127.0.0.1:9/docs/',
  status: 'running',
  options: OPTIONS,
  counters: { discovered: 1, processed: 0, failed: 0, skipped: 0, queued: 1 },
  createdAt: '2026-11-23T10:00:00.000Z',
  startedAt: '2026-11-23T10:00:00.000Z',
  priority: 'high',
};
const T0 = Date.parse(CRAWL.startedAt);

function frame(id: string, type: string, payload: Record<string, unknown>, ts = T0): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ type, crawlId: ID, ts, ...payload })}\n\n`;
}

const counters = { discovered: 3, processed: 1, failed: 1, skipped: 1, queued: 0 };
const NEWER_STREAM = [
  frame('1-0', 'snapshot', CRAWL),
  frame('1-1', 'screenshot', { url: CRAWL.url, png: 'iVBORw0KGgo=' }),
  frame('1-2', 'discovered', { urls: [`${CRAWL.url}a`, `${CRAWL.url}b`], depth: 1, via: 'sitemap' }),
  frame('1-3', 'page', { url: CRAWL.url, title: 'Docs', depth: 0, status: 200, bytes: 10, durationMs: 1, language: 'en' }),
  frame('1-4', 'page_failed', { url: `${CRAWL.url}a`, reason: 'tls_handshake', message: 'bad certificate', attempts: 1 }),
  frame('1-5', 'page_skipped', { url: `${CRAWL.url}b`, reason: 'duplicate_content' }),
  frame('1-6', 'progress', { counters, pagesPerSecond: 1, etaMs: 0 }, T0 + 2_000),
  frame('1-7', 'paused', { reason: 'quota' }),
  frame('1-8', 'completed', { counters, durationMs: 3_000, bytes: 10 }, T0 + 3_000),
];

/** A fetch that answers each path with the scripted body. */
/** Every URL the CLI fetched, in order. */
const fetched: string[] = [];

function fakeFetch(routes: Record<string, (url: string) => Response>): typeof fetch {
  return async (input) => {
    fetched.push(String(input));
    const { pathname } = new URL(String(input));
    const answer = routes[pathname];
    if (!answer) return new Response(JSON.stringify({ error: { code: 'not_found', message: pathname } }), { status: 404 });
    return answer(String(input));
  };
}

const json = (body: unknown) => () => new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
const sse = (frames: string[]) => () => new Response(frames.join(''), { headers: { 'content-type': 'text/event-stream' } });

async function crawlstream(args: string[], routes: Record<string, (url: string) => Response>) {
  let stdout = '';
  let stderr = '';
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
    fetch: fakeFetch(routes),
  };
  const code = await run([...args, '--api', API], io);
  return { code, stdout, stderr };
}

const STREAM = `/api/crawl-v2/${ID}/stream`;

describe('crawlstream against a newer server', () => {
  it('watch: follows the stream to its end, showing what it knows and skipping unknown event types', async () => {
    const { code, stdout, stderr } = await crawlstream(['watch', ID], { [STREAM]: sse(NEWER_STREAM) });
    expect(code).toBe(EXIT.ok);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'page failed: http://127.0.0.1:9/docs/a (tls_handshake: bad certificate)\n' +
        'progress: 3/3 pages (1 stored, 1 failed, 1 skipped), 1.0 pages/s, 0:02 elapsed\n' +
        'completed: 1 pages stored, 1 failed, 1 skipped (of 3 discovered) in 0:03\n',
    );
  });

  it('watch --include-markdown --json: asks for the markdown and prints it on page events', async () => {
    const withMarkdown = NEWER_STREAM.map((f) => (f.includes('event: page\n') ? f.replace(/}\n\n$/, ',"markdown":"# Docs"}\n\n') : f));
    fetched.length = 0;
    const { code, stdout } = await crawlstream(['watch', ID, '--json', '--include-markdown'], { [STREAM]: sse(withMarkdown) });
    expect(code).toBe(EXIT.ok);
    expect(fetched).toEqual([`${API}${STREAM}?include=markdown`]);
    const page = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>).find((l) => l.type === 'page');
    expect(page).toMatchObject({ url: CRAWL.url, markdown: '# Docs' });
  });

  it('watch --json: a line per known event, unknown fields kept', async () => {
    const { code, stdout } = await crawlstream(['watch', ID, '--json'], { [STREAM]: sse(NEWER_STREAM) });
    expect(code).toBe(EXIT.ok);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((l) => `${l.eventId} ${l.type}`)).toEqual([
      '1-0 snapshot',
      '1-2 discovered',
      '1-3 page',
      '1-4 page_failed',
      '1-5 page_skipped',
      '1-6 progress',
      '1-8 completed',
    ]);
    expect(lines[0]).toMatchObject({ priority: 'high', options: { renderJavaScript: true } });
    expect(lines[2]).toMatchObject({ language: 'en' });
  });

  it('status and errors: unknown fields, options and reasons are shown or passed over, not refused', async () => {
    const status = await crawlstream(['status', ID], { [`/api/crawl-v2/${ID}`]: json(CRAWL) });
    expect(status.code).toBe(EXIT.ok);
    expect(status.stdout).toContain('pages    0 stored, 0 failed, 0 skipped (of 1 discovered)');
    const errors = await crawlstream(['errors', ID], {
      [`/api/crawl-v2/${ID}/errors`]: json({ items: [{ url: `${CRAWL.url}a`, kind: 'failed', reason: 'tls_handshake', message: 'bad certificate', hint: 'x' }], nextCursor: null }),
    });
    expect(errors.code).toBe(EXIT.ok);
    expect(errors.stdout).toBe('failed\ttls_handshake\t-\thttp://127.0.0.1:9/docs/a\tbad certificate\n');
  });

  it('rejected: every page of links through the cursor, a reason it does not know shown as sent', async () => {
    const calls: string[] = [];
    const page = (items: object[], nextCursor: string | null) => (url: string) => {
      calls.push(new URL(url).search);
      return json({ items, nextCursor })();
    };
    const first = page([{ url: 'http://127.0.0.1:9/blog/', reason: 'out_of_scope', foundOn: CRAWL.url }], '1');
    const second = page([{ url: `${CRAWL.url}x`, reason: 'too_slow', foundOn: CRAWL.url, extra: 1 }], null);
    const rejected = await crawlstream(['rejected', ID], {
      [`/api/crawl-v2/${ID}/rejected`]: (url: string) => (new URL(url).searchParams.get('cursor') === '1' ? second(url) : first(url)),
    });
    expect(rejected.code).toBe(EXIT.ok);
    expect(rejected.stdout).toBe(`out_of_scope\thttp://127.0.0.1:9/blog/\t${CRAWL.url}\ntoo_slow\t${CRAWL.url}x\t${CRAWL.url}\n`);
    expect(calls).toEqual(['?limit=100', '?cursor=1&limit=100']);
  });

  it('still refuses a known event whose known field has the wrong type', async () => {
    const broken = [NEWER_STREAM[0]!, frame('1-3', 'page', { url: CRAWL.url, title: 'Docs', depth: 0, status: '200', bytes: 10, durationMs: 1 })];
    const { code, stderr } = await crawlstream(['watch', ID], { [STREAM]: sse(broken) });
    expect(code).toBe(EXIT.api);
    expect(stderr).toContain('invalid_response: stream event 1-3 does not match the contract');
  });
});
