// The `crawlstream` binary end to end, spawned as a user runs it, against a
// real API (buildApp) and crawl worker in this process and the fixture site,
// all on 127.0.0.1, on the run's real Redis.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CrawlstreamClient } from '@crawlstream/client';
import { crawl as crawlSchema, crawlEvent, pageResult } from '@crawlstream/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '@crawlstream/testkit';
import { cli, startCli } from './test-support/cli.js';
import { type Site, startSite, type TestApi, useStack } from '@crawlstream/e2e';

const stack = useStack('cli');
let api: TestApi;
let site: Site;
let slowSite: Site;
let dir: string;

beforeAll(async () => {
  [api, site, slowSite, dir] = await Promise.all([
    stack.startApi(),
    startSite({ pages: 25 }),
    startSite({ pages: 30, latencyMs: 300 }),
    mkdtemp(join(tmpdir(), 'crawlstream-cli-')),
  ]);
  await stack.startWorker({ concurrency: 4 });
});

afterAll(async () => {
  await Promise.all([site.close(), slowSite.close(), rm(dir, { recursive: true, force: true })]);
});

const noSitemap = ['--no-sitemap', '--concurrency', '4'];


describe('crawlstream crawl', () => {
  let crawlId: string;

  it('crawls the fixture site and writes every page to the output file, with progress on stderr', async () => {
    const output = join(dir, 'site.md');
    const run = await cli(['crawl', site.start, '-o', output, '--api', api.base, ...noSitemap]);
    expect(run.stderr).toMatch(/^crawl [0-9a-f-]{36}: /);
    expect(run.code).toBe(0);
    crawlId = /^crawl ([0-9a-f-]{36})/.exec(run.stderr)![1]!;
    const markdown = await readFile(output, 'utf8');
    for (const url of site.pageUrls) expect(markdown).toContain(`> Source: ${url}\n`);
    expect(markdown.split('\n---\n')).toHaveLength(site.pageUrls.length);
    expect(markdown).toMatch(/^# Page \d+/);
    // Not a terminal: a plain line per progress event, then the summary.
    expect(run.stderr).toMatch(/^progress: \d+\/\d+ pages \(/m);
    expect(run.stderr).toContain(`completed: ${site.pageUrls.length} pages stored, 0 failed, 0 skipped (of ${site.pageUrls.length} discovered)`);
    expect(run.stderr).toContain(`wrote ${output} (${site.pageUrls.length} pages`);
    expect(run.stderr).not.toContain('\x1b[');
    expect(run.stdout).toBe('');
  });

  it('prints one JSON line per event with --json: the whole event log, in order, and no markdown', async () => {
    const run = await cli(['crawl', site.start, '--json', '--max-pages', '10', ...noSitemap], { CRAWLSTREAM_API: api.base });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { eventId: string; crawlId: string });
    for (const line of lines) {
      const { eventId, ...event } = line;
      expect(crawlEvent.safeParse(event).success).toBe(true);
      expect(eventId).toMatch(/^\d+-\d+$/);
    }
    const stored = await stack.storedEvents(lines[0]!.crawlId);
    expect(lines.map((l) => `${l.eventId} ${(l as unknown as { type: string }).type}`)).toEqual(
      stored.map((f) => `${f.id} ${f.type}`),
    );
    expect((lines.at(-1) as unknown as { type: string }).type).toBe('completed');
  });

  it('crawls a private site with --header-env (401 without the header), and prints its value nowhere', async () => {
    const token = randomUUID();
    const server = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end();
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Private</title><main><p>inside</p></main>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const start = `http://127.0.0.1:${(server.address() as AddressInfo).port}/docs/`;
      const run = await cli(['crawl', start, '--header-env', 'Authorization=DOCS_AUTH', '--json', '--api', api.base, ...noSitemap], {
        DOCS_AUTH: `Bearer ${token}`,
      });
      expect(run.code, run.stderr).toBe(0);
      const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; options?: unknown; status?: number });
      expect(events.find((e) => e.type === 'started')?.options).toMatchObject({ headerNames: ['authorization'] });
      expect(events.find((e) => e.type === 'page')?.status).toBe(200);
      expect(`${run.stdout}${run.stderr}`).not.toContain(token);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('writes the markdown to stdout without -o', async () => {
    const run = await cli(['crawl', site.start, '--api', api.base, '--max-pages', '3', '--quiet', ...noSitemap]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout.match(/^> Source: /gm)).toHaveLength(3);
  });

  it('status, pages, watch and cancel on the finished crawl', async () => {
    const status = await cli(['status', crawlId, '--json', '--api', api.base]);
    expect(status.code).toBe(0);
    expect(crawlSchema.parse(JSON.parse(status.stdout))).toMatchObject({ id: crawlId, status: 'completed' });
    const text = await cli(['status', crawlId, '--api', api.base]);
    expect(text.stdout).toMatch(/^status {3}completed$/m);

    const pages = await cli(['pages', crawlId, '--json', '--api', api.base]);
    expect(pages.code).toBe(0);
    const urls = pages.stdout.trim().split('\n').map((line) => pageResult.parse(JSON.parse(line)).url);
    expect(urls.sort()).toEqual([...site.pageUrls].sort());
    // As text: status, depth, url, title, then the page's word count and language ('-' when it has none),
    // then whether a browser rendered it (rendered, fetched, or '-' for a page stored before rendering existed).
    const records = pages.stdout.trim().split('\n').map((line) => pageResult.parse(JSON.parse(line)));
    const rows = (await cli(['pages', crawlId, '--api', api.base])).stdout.trim().split('\n');
    const source = (rendered: boolean | undefined) => (rendered === undefined ? '-' : rendered ? 'rendered' : 'fetched');
    expect(rows.sort()).toEqual(
      records.map((p) => [p.status, p.depth, p.url, p.title, p.wordCount, p.language ?? '-', source(p.rendered)].join('\t')).sort(),
    );
    expect(records.every((p) => p.wordCount !== undefined && p.wordCount > 0)).toBe(true);

    const watch = await cli(['watch', crawlId, '--api', api.base, '-o', join(dir, 'again.md')]);
    expect(watch.code).toBe(0);
    expect(watch.stderr).toContain(`completed: ${site.pageUrls.length} pages stored`);
    expect(await readFile(join(dir, 'again.md'), 'utf8')).toBe(await readFile(join(dir, 'site.md'), 'utf8'));

    const cancel = await cli(['cancel', crawlId, '--api', api.base]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toContain('has already completed');
  });

  it('llms writes llms.txt, and with --full llms-full.txt, to stdout or --output, as the SDK reads them', async () => {
    const client = new CrawlstreamClient({ baseUrl: api.base });
    const index = await cli(['llms', crawlId, '--api', api.base]);
    expect(index.code).toBe(0);
    expect(index.stderr).toBe('');
    expect(index.stdout).toBe(await client.llmsTxt(crawlId));
    expect(index.stdout).toMatch(/^# .+\n\n> Documentation crawled from .+: \d+ pages\.\n/);
    expect(index.stdout.match(/^- \[/gm)).toHaveLength(site.pageUrls.length);

    const output = join(dir, 'llms-full.txt');
    const full = await cli(['llms', crawlId, '--full', '-o', output, '--api', api.base]);
    expect(full.code).toBe(0);
    expect(full.stdout).toBe('');
    expect(full.stderr).toMatch(new RegExp(`^wrote ${output} \\(\\d+\\.\\d KiB\\)\n$`));
    const written = await readFile(output, 'utf8');
    expect(written).toBe(await client.llmsFullTxt(crawlId));
    for (const url of site.pageUrls) expect(written).toContain(`\nSource: ${url}\n`);
    expect(written.split('\n---\n\n')).toHaveLength(site.pageUrls.length);

    const quiet = await cli(['llms', crawlId, '--full', '-q', '-o', join(dir, 'quiet.txt'), '--api', api.base]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');

    const missing = await cli(['llms', randomUUID(), '--api', api.base]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('404 not_found');
  });

  it('exits 1 when the crawl it follows is cancelled by someone else', async () => {
    const output = join(dir, 'cancelled.md');
    const running = startCli(['crawl', slowSite.start, '-o', output, '--api', api.base, ...noSitemap]);
    const [, id] = await running.waitFor(/^crawl ([0-9a-f-]{36})/);
    await running.waitFor(/^progress: /m);
    const client = new CrawlstreamClient({ baseUrl: api.base });
    expect((await client.cancelCrawl(id!)).status).toBe('cancelled');
    expect(await running.exited).toBe(1);
    expect(running.stderr).toMatch(/^cancelled: \d+ pages stored/m);
  });

  it('cancels its crawl on Ctrl-C, waits for it to stop, and exits 1', async () => {
    const running = startCli(['crawl', slowSite.start, '--api', api.base, '--json', ...noSitemap]);
    const [, id] = await running.waitFor(/"crawlId":"([0-9a-f-]{36})"/, 'stdout');
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(1);
    expect(running.stdout.trim().split('\n').at(-1)).toContain('"type":"cancelled"');
    const client = new CrawlstreamClient({ baseUrl: api.base });
    expect((await client.getCrawl(id!)).status).toBe('cancelled');
    const watch = await cli(['watch', id!, '--api', api.base]);
    expect(watch.code).toBe(1);
    const status = await cli(['status', id!, '--api', api.base]);
    expect(status.code).toBe(1);
  });

  it('works against an API with API_KEYS, given the key by flag or environment', async () => {
    const key = 'cli-key-0123456789abcdef';
    const secured = await stack.startApi({ env: { API_KEYS: key } });
    const run = await cli(['crawl', site.start, '--max-pages', '2', '--quiet', '--api', secured.base, '--api-key', key, ...noSitemap]);
    expect(run.code).toBe(0);
    expect(run.stdout.match(/^> Source: /gm)).toHaveLength(2);
    const listed = await cli(['crawl', site.start, '--detach', '--api', secured.base], { CRAWLSTREAM_API_KEY: key });
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
    const refused = await cli(['status', listed.stdout.trim(), '--api', secured.base]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('401 unauthorized');
    expect(refused.stderr).toContain('--api-key');
    await secured.close();
  });
});

describe('crawlstream exit codes', () => {
  it.each([
    [[]],
    [['crawl']],
    [['crawl', 'not a url']],
    [['crawl', 'http://127.0.0.1/', '--max-pages', 'many']],
    [['crawl', 'http://127.0.0.1/', '--scope', 'galaxy']],
    [['crawl', 'http://127.0.0.1/', '--render', 'sometimes']],
    [['crawl', 'http://127.0.0.1/', '--wait-for', 'div[']],
    [['crawl', 'http://127.0.0.1/', '--frobnicate']],
    [['status']],
    [['status', 'a', 'b']],
    [['status', randomUUID(), '--max-depth', '2']],
    [['launch', 'x']],
    [['status', randomUUID(), '--api', 'not-a-url']],
    [['llms']],
    [['llms', randomUUID(), '--json']],
    [['status', randomUUID(), '--full']],
  ])('usage error %j: exit 2', async (args) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^crawlstream: /);
    expect(run.stdout).toBe('');
  });

  it('a crawl id the API calls malformed is a usage error too (400)', async () => {
    const run = await cli(['status', 'not-an-id', '--api', api.base]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('400 invalid_id');
  });

  it('an output file that cannot be written is a usage error before anything starts', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, 'x');
    const client = new CrawlstreamClient({ baseUrl: api.base });
    const before = (await client.listCrawls({ limit: 100 })).items.length;
    for (const output of [join(file, 'site.md'), join(dir, 'missing', 'site.md'), dir]) {
      const run = await cli(['crawl', site.start, '-o', output, '--api', api.base]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`--output ${output}`);
    }
    expect((await client.listCrawls({ limit: 100 })).items).toHaveLength(before);
  });

  it('an unknown crawl or an API that does not answer: exit 3', async () => {
    const missing = await cli(['status', randomUUID(), '--api', api.base]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('404 not_found');
    const port = await closedPort();
    const down = await cli(['crawl', site.start, '--api', `http://127.0.0.1:${port}`]);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`cannot reach the API at http://127.0.0.1:${port}`);
    expect(down.stderr).toContain('ECONNREFUSED');
  });

  it('--help and --version exit 0', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: crawlstream <command>');
    const version = await cli(['--version']);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
