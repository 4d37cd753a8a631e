// How a stored page result is encoded: gzip of a small JSON record, so a
// 10,000-page crawl keeps its markdown in Redis at a fraction of its size.
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { PageResult } from '@crawlstream/shared';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

export async function encodePage(page: PageResult): Promise<Buffer> {
  return gzipAsync(JSON.stringify(page), { level: 6 });
}

export async function decodePage(blob: Buffer): Promise<PageResult> {
  return JSON.parse((await gunzipAsync(blob)).toString('utf8')) as PageResult;
}
