// render / waitFor at POST (#17): stored in the crawl's options (render
// defaults to auto), a mode outside never|auto|always, a selector cheerio
// could not run, or one past MAX_SELECTOR_LENGTH is a 400 naming the option.
import { crawl, DEFAULT_RENDER, MAX_SELECTOR_LENGTH } from '@crawlstream/shared';
import { useRedis } from '@crawlstream/testkit';
import { describe, expect, it } from 'vitest';
import { call, errorCode, START, startApi } from '../test-support/harness.js';

const post = (base: string, body: unknown) => call(base, 'POST', '/api/crawl-v2', { body });

interface Issue {
  path: (string | number)[];
  message: string;
}

describe('POST /api/crawl-v2 with render and waitFor', () => {
  it('stores render and waitFor in the crawl options, auto when not given', async () => {
    const api = await startApi(useRedis('render-ok'));
    const defaults = await post(api.base, { url: START });
    expect(defaults.status).toBe(201);
    const stored = crawl.parse(defaults.json).options;
    expect(stored.render).toBe(DEFAULT_RENDER);
    expect(stored.render).toBe('auto');
    expect(stored).not.toHaveProperty('waitFor');

    for (const render of ['never', 'auto', 'always'] as const) {
      const reply = await post(api.base, { url: START, options: { render } });
      expect(reply.status, render).toBe(201);
      expect(crawl.parse(reply.json).options.render).toBe(render);
    }

    const atLimit = `#${'a'.repeat(MAX_SELECTOR_LENGTH - 1)}`;
    expect(atLimit).toHaveLength(MAX_SELECTOR_LENGTH);
    const created = await post(api.base, { url: START, options: { render: 'always', waitFor: atLimit } });
    expect(created.status).toBe(201);
    const { id } = crawl.parse(created.json);
    expect(crawl.parse(created.json).options).toMatchObject({ render: 'always', waitFor: atLimit });
    // GET answers the options as stored.
    const read = await call(api.base, 'GET', `/api/crawl-v2/${id}`);
    expect(crawl.parse(read.json).options).toMatchObject({ render: 'always', waitFor: atLimit });
  });

  it('refuses a bad render or waitFor with validation_failed at its path', async () => {
    const api = await startApi(useRedis('render-bad'));
    const cases: [Record<string, unknown>, string[], RegExp][] = [
      [{ render: 'sometimes' }, ['options', 'render'], /never|auto|always/],
      [{ render: true }, ['options', 'render'], /never|auto|always/],
      [{ waitFor: 'div[' }, ['options', 'waitFor'], /invalid CSS selector/],
      [{ waitFor: '' }, ['options', 'waitFor'], /./],
      [{ waitFor: `#${'a'.repeat(MAX_SELECTOR_LENGTH)}` }, ['options', 'waitFor'], new RegExp(String(MAX_SELECTOR_LENGTH))],
    ];
    for (const [options, path, message] of cases) {
      const reply = await post(api.base, { url: START, options });
      expect(reply.status, JSON.stringify(options)).toBe(400);
      expect(errorCode(reply)).toBe('validation_failed');
      const issues = (reply.json as { error: { details: { issues: Issue[] } } }).error.details.issues;
      expect(issues.map((issue) => issue.path.map(String))).toEqual([path]);
      expect(issues[0]?.message).toMatch(message);
    }
  });
});
