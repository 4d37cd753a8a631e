// A hostile site on loopback (127.0.0.1 only; 127.0.0.2 is used as the
// address the SSRF guard must refuse, and nothing ever reaches it).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { createBrotliCompress, createDeflate, createGzip, gzipSync, constants as zlib } from 'node:zlib';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractPage } from './extract.js';
import { type FetchOptions, fetchPage, fetchText } from './fetch-page.js';
import { createSsrfGuard, type Resolver } from './ssrf.js';

const PAGE =
  '<!doctype html><html><head><title>Hello</title></head><body><main><h1>Hello</h1><p>World</p></main></body></html>';
const LINK_COUNT = 10_000;
/** What each bomb inflates to: 256 times the maxBytes the bomb tests fetch with. */
const BOMB_BYTES = 256 * 1024 * 1024;

/** Compressed bombs by Content-Encoding, made in beforeAll by streaming zeros (never holding them). */
const bombs = new Map<string, Buffer>();
async function makeBomb(encoding: 'gzip' | 'deflate' | 'br'): Promise<Buffer> {
  const compressor =
    encoding === 'gzip'
      ? createGzip({ level: 9 })
      : encoding === 'deflate'
        ? createDeflate({ level: 9 })
        : createBrotliCompress({ params: { [zlib.BROTLI_PARAM_QUALITY]: 1 } });
  const zeros = Buffer.alloc(1024 * 1024);
  const chunks: Buffer[] = [];
  compressor.on('data', (chunk: Buffer) => chunks.push(chunk));
  await pipeline(
    (async function* () {
      for (let sent = 0; sent < BOMB_BYTES; sent += zeros.length) yield zeros;
    })(),
    compressor,
  );
  return Buffer.concat(chunks);
}

/** How each hostile response ended: did the server get to finish writing it? */
const finished = new Map<string, Promise<boolean>>();

type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

function html(res: ServerResponse, body: string | Buffer, type = 'text/html; charset=utf-8') {
  res.writeHead(200, { 'content-type': type });
  res.end(body);
}

function redirect(res: ServerResponse, location: string, status = 302) {
  res.writeHead(status, { location });
  res.end('moved');
}

const routes: Record<string, Route> = {
  '/page': (_req, res) => html(res, PAGE),
  '/loop/a': (_req, res) => redirect(res, '/loop/b'),
  '/loop/b': (_req, res) => redirect(res, '/loop/./a#again', 301),
  '/out': (_req, res) => redirect(res, `http://127.0.0.1:${port}/elsewhere/page`),
  '/to-blocked': (_req, res) => redirect(res, `http://127.0.0.2:${port}/page`),
  '/no-location': (_req, res) => {
    res.writeHead(302);
    res.end();
  },
  '/drip': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    const timer = setInterval(() => res.write('<p>.</p>'), 20);
    res.on('close', () => clearInterval(timer));
  },
  '/hang': (_req, res) => {
    // Never answers; the client must give up on its own.
    res.on('close', () => undefined);
  },
  '/big': (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < 50 * 1024 * 1024) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    trackEnd(req, res);
    pump();
  },
  '/big-declared': (req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(10 * 1024 * 1024) });
    trackEnd(req, res);
    res.write('<p>'.repeat(1000));
  },
  '/gzip': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
    res.end(gzipSync(PAGE));
  },
  '/gzip-bomb': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
    res.end(gzipSync(Buffer.alloc(20 * 1024 * 1024)));
  },
  '/bomb': (_req, res, url) => {
    const encoding = url.searchParams.get('encoding')!;
    res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': encoding });
    res.end(bombs.get(encoding));
  },
  '/binary-as-html': (_req, res) =>
    // A PNG's signature and header chunk: NUL bytes within the first bytes.
    html(res, Buffer.from('89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff61', 'hex'), 'text/html'),
  '/utf16': (_req, res) =>
    html(res, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<title>Wide</title><p>text</p>', 'utf16le')]), 'text/html'),
  '/utf16-declared': (_req, res) =>
    html(res, Buffer.from('<title>Wide</title><p>text</p>', 'utf16le'), 'text/html; charset=UTF-16LE'),
  '/not-gzip': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
    res.end('this is not gzip at all');
  },
  '/image.png': (req, res) => {
    res.writeHead(200, { 'content-type': 'image/png' });
    trackEnd(req, res);
    res.write(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    // Keeps streaming: a skipped download must not be read to the end.
    const timer = setInterval(() => res.write(Buffer.alloc(1024)), 10);
    res.on('close', () => clearInterval(timer));
  },
  '/no-type': (_req, res) => {
    res.writeHead(200);
    res.end(PAGE);
  },
  '/no-type-binary': (_req, res) => {
    res.writeHead(200);
    res.end(Buffer.from([0, 1, 2, 3, 255]));
  },
  '/malformed': (_req, res) =>
    html(
      res,
      '<html><head><title>Broken <b>page</title><body><div><p>unclosed <a href="/x">x<table><tr><td>cell</div></span><a href=/y>y</a><<<>>><script>if (a < b) {</body>',
    ),
  '/500': (_req, res) => {
    res.writeHead(500, { 'content-type': 'text/html' });
    res.end('<h1>oops</h1>');
  },
  '/503': (_req, res) => {
    res.writeHead(503, { 'retry-after': '7' });
    res.end();
  },
  '/429': (_req, res) => {
    res.writeHead(429, { 'retry-after': '120' });
    res.end();
  },
  '/429-date': (_req, res) => {
    res.writeHead(429, { 'retry-after': new Date(Date.now() + 90_000).toUTCString() });
    res.end();
  },
  '/404': (_req, res) => {
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<h1>Not found</h1>');
  },
  '/links': (_req, res) => {
    const links: string[] = [];
    for (let i = 0; i < LINK_COUNT; i++) {
      // Every link three times, in three spellings that normalize alike.
      links.push(
        `<a href="/doc/${i}">${i}</a>`,
        `<a href="/doc/${i}#s">${i}</a>`,
        `<a href="http://127.0.0.1:${port}/doc/./${i}">${i}</a>`,
      );
    }
    html(
      res,
      `<html><head><title>Links</title></head><body><main>${links.join('\n')}</main></body></html>`,
    );
  },
  '/latin1': (_req, res) =>
    html(
      res,
      Buffer.from('<title>Caf\xe9 \x93menu\x94</title><p>cr\xe8me br\xfbl\xe9e</p>', 'latin1'),
      'text/html; charset=ISO-8859-1',
    ),
  '/meta-charset': (_req, res) =>
    html(
      res,
      Buffer.from(
        '<html><head><meta charset="iso-8859-1"><title>Na\xefve</title></head><body>\xe0 la carte</body></html>',
        'latin1',
      ),
      'text/html',
    ),
  '/robots.txt': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('User-agent: *\nDisallow: /private/\n');
  },
  '/sitemap.xml.gz': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/gzip' });
    res.end(gzipSync('<urlset><url><loc>https://docs.test/a</loc></url></urlset>'));
  },
};

function trackEnd(req: IncomingMessage, res: ServerResponse) {
  finished.set(
    req.url ?? '',
    new Promise((resolve) => res.on('close', () => resolve(res.writableFinished))),
  );
}

let server: Server;
let port = 0;
let agent: Agent;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routes[url.pathname] ?? (url.pathname.startsWith('/hop/') ? hop : undefined);
    if (route) route(req, res, url);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  agent = createSsrfGuard(['127.0.0.1/32']).createAgent();
  for (const encoding of ['gzip', 'deflate', 'br'] as const) bombs.set(encoding, await makeBomb(encoding));
});

afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** `/hop/n` redirects to `/hop/n+1` until 11, which is a page; spelled differently each time. */
const hop: Route = (_req, res, url) => {
  const n = Number(url.pathname.split('/')[2]);
  if (n >= 11) return html(res, PAGE);
  redirect(res, n % 2 === 0 ? `/hop/${n + 1}` : `HTTP://127.0.0.1:${port}/hop/x/../${n + 1}`);
};

const options = (extra: Partial<FetchOptions> = {}): FetchOptions => ({
  // A deadline, not a speed claim: generous, since a loaded 2-core machine can stall a 10-hop fetch for seconds.
  timeoutMs: 15_000,
  maxBytes: 1024 * 1024,
  dispatcher: agent,
  isInScope: (url) => !url.includes('/elsewhere/'),
  ...extra,
});

describe('fetchPage: pages', () => {
  it('fetches an HTML page', async () => {
    const result = await fetchPage(`${base}/page`, options());
    expect(result).toMatchObject({
      kind: 'html',
      status: 200,
      html: PAGE,
      bytes: PAGE.length,
      redirects: [],
    });
    expect(result.finalUrl).toBe(`${base}/page`);
  });

  it('decompresses gzip', async () => {
    const result = await fetchPage(`${base}/gzip`, options());
    expect(result).toMatchObject({ kind: 'html', html: PAGE, bytes: PAGE.length });
  });

  it('decodes an ISO-8859-1 page by its Content-Type', async () => {
    const result = await fetchPage(`${base}/latin1`, options());
    if (result.kind !== 'html') throw new Error(`expected html, got ${result.kind}`);
    expect(result.html).toContain('Café \u201cmenu\u201d');
    expect(result.html).toContain('crème brûlée');
  });

  it('decodes a page by its <meta charset>', async () => {
    const result = await fetchPage(`${base}/meta-charset`, options());
    if (result.kind !== 'html') throw new Error(`expected html, got ${result.kind}`);
    expect(extractPage(result.html, result.finalUrl).title).toBe('Naïve');
    expect(result.html).toContain('à la carte');
  });

  it('takes a page without Content-Type that starts like HTML, and skips one that does not', async () => {
    expect((await fetchPage(`${base}/no-type`, options())).kind).toBe('html');
    expect(await fetchPage(`${base}/no-type-binary`, options())).toMatchObject({
      kind: 'skipped',
      reason: 'not_html',
    });
  });

  it('survives malformed HTML', async () => {
    const result = await fetchPage(`${base}/malformed`, options());
    if (result.kind !== 'html') throw new Error(`expected html, got ${result.kind}`);
    const page = extractPage(result.html, result.finalUrl);
    expect(page.title).toBe('Broken <b>page');
    expect(page.links).toEqual([`${base}/x`, `${base}/y`]);
  });

  it('extracts all 10,000 links of a huge page, deduped', async () => {
    const result = await fetchPage(`${base}/links`, options({ maxBytes: 5 * 1024 * 1024 }));
    if (result.kind !== 'html') throw new Error(`expected html, got ${result.kind}`);
    // How fast is bench/crawl's business (no timed assertions in tests); here: every link, once, in order.
    const page = extractPage(result.html, result.finalUrl);
    expect(page.links).toHaveLength(LINK_COUNT);
    expect(new Set(page.links).size).toBe(LINK_COUNT);
    expect(page.links[0]).toBe(`${base}/doc/0`);
    expect(page.links.at(-1)).toBe(`${base}/doc/${LINK_COUNT - 1}`);
  });
});

describe('fetchPage: redirects', () => {
  it('follows 10 redirects, normalizing each hop', async () => {
    const result = await fetchPage(`${base}/hop/1`, options());
    expect(result).toMatchObject({ kind: 'html', finalUrl: `${base}/hop/11` });
    expect(result.redirects).toHaveLength(10);
    expect(result.redirects[1]).toBe(`${base}/hop/2`);
  });

  it('fails the 11th redirect as too_many_redirects', async () => {
    const result = await fetchPage(`${base}/hop/0`, options());
    expect(result).toMatchObject({
      kind: 'failed',
      reason: 'too_many_redirects',
      retryable: false,
    });
  });

  it('fails a redirect loop as redirect_loop', async () => {
    const result = await fetchPage(`${base}/loop/a`, options());
    expect(result).toMatchObject({
      kind: 'failed',
      reason: 'redirect_loop',
      retryable: false,
      finalUrl: `${base}/loop/a`,
      redirects: [`${base}/loop/a`, `${base}/loop/b`],
    });
  });

  it('skips a redirect out of scope without following it', async () => {
    const result = await fetchPage(`${base}/out`, options());
    expect(result).toMatchObject({
      kind: 'skipped',
      reason: 'redirect_out_of_scope',
      finalUrl: `${base}/elsewhere/page`,
    });
  });

  it('fails a redirect without Location as invalid_url', async () => {
    expect(await fetchPage(`${base}/no-location`, options())).toMatchObject({
      kind: 'failed',
      reason: 'invalid_url',
      status: 302,
    });
  });
});

describe('fetchPage: hostile bodies', () => {
  it('times out a body that drips forever, within the deadline', async () => {
    const started = performance.now();
    const result = await fetchPage(`${base}/drip`, options({ timeoutMs: 300 }));
    expect(result).toMatchObject({ kind: 'failed', reason: 'timeout', retryable: true });
    expect(performance.now() - started).toBeLessThan(10_000); // a drip that never ends; the 300 ms deadline ends it (generous: loaded machines stall)
  });

  it('times out a server that never answers', async () => {
    expect(await fetchPage(`${base}/hang`, options({ timeoutMs: 300 }))).toMatchObject({
      kind: 'failed',
      reason: 'timeout',
    });
  });

  it('cuts a body over maxBytes and drops the connection', async () => {
    const result = await fetchPage(`${base}/big`, options({ maxBytes: 100_000 }));
    expect(result).toMatchObject({ kind: 'failed', reason: 'too_large', status: 200, retryable: false });
    // The server was cut off long before its 50 MB.
    expect(await finished.get('/big')).toBe(false);
  });

  it('refuses a declared Content-Length over maxBytes without reading', async () => {
    const result = await fetchPage(`${base}/big-declared`, options({ maxBytes: 100_000 }));
    expect(result).toMatchObject({ kind: 'failed', reason: 'too_large' });
    expect(await finished.get('/big-declared')).toBe(false);
  });

  it('counts maxBytes after decompression, so a gzip bomb is too_large', async () => {
    const result = await fetchPage(`${base}/gzip-bomb`, options({ maxBytes: 1024 * 1024 }));
    expect(result).toMatchObject({ kind: 'failed', reason: 'too_large' });
  });

  it.each(['gzip', 'deflate', 'br'])(
    'stops a %s bomb (256 MiB from a small body) at maxBytes, as too_large, in bounded memory',
    async (encoding) => {
      expect(bombs.get(encoding)!.length).toBeLessThan(BOMB_BYTES / 500);
      const peakBefore = process.resourceUsage().maxRSS; // KiB, the process's high-water mark
      const result = await fetchPage(`${base}/bomb?encoding=${encoding}`, options({ maxBytes: 1024 * 1024 }));
      expect(result).toMatchObject({ kind: 'failed', reason: 'too_large', message: 'body exceeds 1048576 bytes' });
      // Inflating it all would raise the high-water mark by 256 MiB.
      expect(process.resourceUsage().maxRSS - peakBefore).toBeLessThan(64 * 1024);
    },
  );

  it('skips binary served as text/html (NUL bytes in the first KiB) as not_html', async () => {
    expect(await fetchPage(`${base}/binary-as-html`, options())).toMatchObject({
      kind: 'skipped',
      reason: 'not_html',
      message: 'binary content (NUL bytes) labelled as HTML',
    });
  });

  it('takes UTF-16 HTML, whose NUL bytes are text, by byte order mark or charset', async () => {
    for (const path of ['/utf16', '/utf16-declared']) {
      const result = await fetchPage(`${base}${path}`, options());
      expect(result).toMatchObject({ kind: 'html' });
      if (result.kind === 'html') expect(extractPage(result.html, result.finalUrl).title).toBe('Wide');
    }
  });

  it('fails a body that is not the gzip it claims', async () => {
    expect(await fetchPage(`${base}/not-gzip`, options())).toMatchObject({
      kind: 'failed',
      reason: 'connection',
      retryable: false,
    });
  });

  it('skips binary content as not_html without downloading it', async () => {
    const result = await fetchPage(`${base}/image.png`, options());
    expect(result).toMatchObject({ kind: 'skipped', reason: 'not_html', status: 200 });
    expect(await finished.get('/image.png')).toBe(false);
  });
});

describe('fetchPage: HTTP errors', () => {
  it('500 is http_5xx, retryable', async () => {
    expect(await fetchPage(`${base}/500`, options())).toMatchObject({
      kind: 'failed',
      reason: 'http_5xx',
      status: 500,
      retryable: true,
    });
  });

  it('503 honours Retry-After seconds', async () => {
    expect(await fetchPage(`${base}/503`, options())).toMatchObject({
      reason: 'http_5xx',
      status: 503,
      retryable: true,
      retryAfterMs: 7000,
    });
  });

  it('429 is http_4xx but retryable, honouring Retry-After seconds or date', async () => {
    expect(await fetchPage(`${base}/429`, options())).toMatchObject({
      kind: 'failed',
      reason: 'http_4xx',
      status: 429,
      retryable: true,
      retryAfterMs: 120_000,
    });
    const dated = await fetchPage(`${base}/429-date`, options());
    if (dated.kind !== 'failed') throw new Error('expected a failure');
    expect(dated.retryAfterMs).toBeGreaterThan(85_000);
    expect(dated.retryAfterMs).toBeLessThanOrEqual(90_000);
  });

  it('404 is http_4xx, not retryable', async () => {
    const result = await fetchPage(`${base}/404`, options());
    expect(result).toMatchObject({
      kind: 'failed',
      reason: 'http_4xx',
      status: 404,
      retryable: false,
    });
    expect(result).not.toHaveProperty('retryAfterMs');
  });
});

describe('fetchPage: network and safety', () => {
  it('blocks an address outside the allow list (ssrf_blocked), also behind a redirect', async () => {
    expect(await fetchPage(`http://127.0.0.2:${port}/page`, options())).toMatchObject({
      kind: 'failed',
      reason: 'ssrf_blocked',
      retryable: false,
    });
    // Other spellings of 127.0.0.2: hex IPv4, IPv4-mapped IPv6.
    for (const host of ['0x7f.0.0.2', '[::ffff:127.0.0.2]']) {
      expect(await fetchPage(`http://${host}:${port}/page`, options())).toMatchObject({
        reason: 'ssrf_blocked',
      });
    }
    expect(await fetchPage(`${base}/to-blocked`, options())).toMatchObject({
      kind: 'failed',
      reason: 'ssrf_blocked',
      finalUrl: `http://127.0.0.2:${port}/page`,
    });
  });

  it('guards by default: without a dispatcher, loopback is blocked', async () => {
    const { dispatcher: _unused, ...unguarded } = options();
    expect(await fetchPage(`${base}/page`, unguarded)).toMatchObject({ reason: 'ssrf_blocked' });
  });

  it('a refused connection is connection, retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await fetchPage(`http://127.0.0.1:${closedPort}/`, options());
    expect(result).toMatchObject({ kind: 'failed', reason: 'connection', retryable: true });
    if (result.kind === 'failed') expect(result.message).toContain('ECONNREFUSED');
  });

  it('a name that does not resolve is dns, retryable', async () => {
    const resolve: Resolver = async (hostname) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    };
    const guarded = createSsrfGuard(['127.0.0.1/32'], { resolve }).createAgent();
    try {
      expect(
        await fetchPage('http://nowhere.test/', options({ dispatcher: guarded })),
      ).toMatchObject({
        kind: 'failed',
        reason: 'dns',
        retryable: true,
      });
    } finally {
      await guarded.close();
    }
  });

  it('refuses a URL it cannot fetch as invalid_url', async () => {
    for (const url of ['ftp://127.0.0.1/', 'not a url', 'javascript:alert(1)']) {
      expect(await fetchPage(url, options())).toMatchObject({
        kind: 'failed',
        reason: 'invalid_url',
      });
    }
  });

  it('skips as cancelled when the crawl is cancelled mid-request', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const result = await fetchPage(
      `${base}/drip`,
      options({ signal: controller.signal, timeoutMs: 5000 }),
    );
    expect(result).toMatchObject({ kind: 'skipped', reason: 'cancelled' });
    expect(await fetchPage(`${base}/page`, options({ signal: controller.signal }))).toMatchObject({
      kind: 'skipped',
      reason: 'cancelled',
    });
  });
});

describe('fetchText', () => {
  it('fetches robots.txt, whatever its content type', async () => {
    expect(await fetchText(`${base}/robots.txt`, options())).toMatchObject({
      kind: 'text',
      text: 'User-agent: *\nDisallow: /private/\n',
      contentType: 'text/plain',
    });
  });

  it('unpacks a gzipped sitemap', async () => {
    const result = await fetchText(`${base}/sitemap.xml.gz`, options());
    expect(result).toMatchObject({ kind: 'text' });
    if (result.kind === 'text') expect(result.text).toContain('<loc>https://docs.test/a</loc>');
  });

  it('keeps the same failures as pages', async () => {
    expect(await fetchText(`${base}/404`, options())).toMatchObject({
      reason: 'http_4xx',
      status: 404,
    });
  });
});
