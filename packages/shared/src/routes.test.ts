import { describe, expect, it } from 'vitest';
import {
  crawlKeys,
  crawlPath,
  errorsPath,
  rejectedPath,
  llmsFullTxtPath,
  llmsTxtPath,
  markdownPath,
  pagesPath,
  queuePrefix,
  routePatterns,
  streamPath,
  withQuery,
} from './index.js';

const id = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

describe('route builders', () => {
  it('build the paths of the contract', () => {
    expect(streamPath(id)).toBe(`/api/crawl-v2/${id}/stream`);
    expect(crawlPath(id)).toBe(`/api/crawl-v2/${id}`);
    expect(pagesPath(id)).toBe(`/api/crawl-v2/${id}/pages`);
    expect(markdownPath(id)).toBe(`/api/crawl-v2/${id}/markdown`);
    expect(errorsPath(id)).toBe(`/api/crawl-v2/${id}/errors`);
    expect(rejectedPath(id)).toBe(`/api/crawl-v2/${id}/rejected`);
    expect(routePatterns.rejected.replace(':id', id)).toBe(rejectedPath(id));
    expect(llmsTxtPath(id)).toBe(`/api/crawl-v2/${id}/llms.txt`);
    expect(llmsFullTxtPath(id)).toBe(`/api/crawl-v2/${id}/llms-full.txt`);
  });

  it('agree with the server route patterns', () => {
    expect(routePatterns.stream.replace(':id', id)).toBe(streamPath(id));
    expect(routePatterns.pages.replace(':id', id)).toBe(pagesPath(id));
    expect(routePatterns.llmsTxt.replace(':id', id)).toBe(llmsTxtPath(id));
    expect(routePatterns.llmsFullTxt.replace(':id', id)).toBe(llmsFullTxtPath(id));
  });

  it('escape what would change the path', () => {
    expect(streamPath('a/b?c')).toBe('/api/crawl-v2/a%2Fb%3Fc/stream');
  });

  it('add query strings without undefined values', () => {
    expect(withQuery(streamPath(id), { lastEventId: '1-0', token: undefined })).toBe(
      `${streamPath(id)}?lastEventId=1-0`,
    );
  });
});

describe('Redis keys', () => {
  it('carry the crawl id as a hash tag, so one crawl is one Cluster slot', () => {
    const keys = Object.values(crawlKeys(id));
    for (const key of keys) expect(key).toContain(`{${id}}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(crawlKeys(id, 'test1').meta).toBe(`test1:{${id}}:meta`);
  });

  it('hash-tag the queue prefix', () => {
    expect(queuePrefix('cs')).toMatch(/^\{.+\}$/);
  });
});
