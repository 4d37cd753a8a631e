// includeSelectors / excludeSelectors at POST: a selector cheerio could not
// run, or one list or selector too long, is a 400 naming the option and index.
import { crawl, MAX_SELECTOR_LENGTH, MAX_SELECTORS } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, errorCode, START, startApi } from '../test-support/harness.js';

const post = (base: string, body: unknown) => call(base, 'POST', '/api/crawl-v2', { body });

describe('POST /api/crawl-v2 with content selectors', () => {
  it('refuses an invalid selector with validation_failed at its option and index, and stores valid ones with onlyMainContent', async () => {
    const api = await startApi(useRedis('sel'));
    const cases: [Record<string, unknown>, string[], RegExp][] = [
      [{ includeSelectors: ['main', 'div['] }, ['options', 'includeSelectors', '1'], /invalid CSS selector: Expected name/],
      [{ excludeSelectors: ['p:bogus'] }, ['options', 'excludeSelectors', '0'], /Unknown pseudo-class :bogus/],
      [{ excludeSelectors: ['nav', ' '] }, ['options', 'excludeSelectors', '1'], /empty selector/],
      [{ includeSelectors: Array.from({ length: MAX_SELECTORS + 1 }, (_, i) => `.b${i}`) }, ['options', 'includeSelectors'], /20/],
      [{ excludeSelectors: [`.${'a'.repeat(MAX_SELECTOR_LENGTH)}`] }, ['options', 'excludeSelectors', '0'], /256/],
      [{ onlyMainContent: 'false' }, ['options', 'onlyMainContent'], /boolean/],
    ];
    for (const [options, path, message] of cases) {
      const reply = await post(api.base, { url: START, options });
      expect(reply.status, JSON.stringify(options)).toBe(400);
      expect(errorCode(reply)).toBe('validation_failed');
      const issues = (reply.json as { error: { details: { issues: { path: string[]; message: string }[] } } }).error.details.issues;
      expect(issues.map((issue) => issue.path.map(String))).toEqual([path]);
      expect(issues[0]?.message).toMatch(message);
    }
    const atLimit = {
      onlyMainContent: false,
      includeSelectors: Array.from({ length: MAX_SELECTORS }, (_, i) => `.b${i}`),
      excludeSelectors: [`.${'a'.repeat(MAX_SELECTOR_LENGTH - 1)}`, 'li:eq(0)'],
    };
    const created = await post(api.base, { url: START, options: atLimit });
    expect(created.status).toBe(201);
    expect(crawl.parse(created.json).options).toMatchObject(atLimit);
    const defaults = crawl.parse((await post(api.base, { url: START })).json).options;
    expect(defaults).toMatchObject({ onlyMainContent: true, includeSelectors: [], excludeSelectors: [] });
  });
});
