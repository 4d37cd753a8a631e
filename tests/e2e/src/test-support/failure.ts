// The error a promise rejects with, asserted to be the SDK's typed error.
import { CrawlstreamError } from '@crawlstream/client';
import { expect } from 'vitest';

export async function failure(promise: Promise<unknown>): Promise<CrawlstreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CrawlstreamError);
  return error as CrawlstreamError;
}
