// How a stored page result is encoded: one line of JSON metadata, a newline,
// then the markdown as it is (no JSON escaping of the big part), gzipped when
// it is large enough to gain from it. A page stored without markdown (the
// crawl's `formats` leave it out) is the JSON line alone, with no newline.
// Synchronous on purpose: zlib's async API builds a fresh context per call (~250 µs for a 5 KB page, measured
// here) while the sync call at level 1 takes tens of µs.
import { gunzipSync, gzipSync } from 'node:zlib';
import type { PageResult } from '@crawlstream/shared';

/** Below this, gzip's fixed cost buys nothing. */
const COMPRESS_FROM_BYTES = 1024;
const GZIP_MAGIC = 0x1f;

export function encodePage(page: PageResult): Buffer {
  const { markdown, ...meta } = page;
  const text = markdown === undefined ? JSON.stringify(meta) : `${JSON.stringify(meta)}\n${markdown}`;
  return text.length < COMPRESS_FROM_BYTES
    ? Buffer.from(text, 'utf8')
    : gzipSync(text, { level: 1, memLevel: 5 });
}

export function decodePage(blob: Buffer): PageResult {
  const text = (blob[0] === GZIP_MAGIC ? gunzipSync(blob) : blob).toString('utf8');
  const newline = text.indexOf('\n');
  // JSON.stringify writes no raw newline: none means no markdown.
  if (newline === -1) return JSON.parse(text) as PageResult;
  const meta = JSON.parse(text.slice(0, newline)) as Omit<PageResult, 'markdown'>;
  return { ...meta, markdown: text.slice(newline + 1) };
}
