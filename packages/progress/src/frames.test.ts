import { MAX_EVENT_BYTES } from '@crawlstream/shared';
import { describe, expect, it } from 'vitest';
import { frameWithMarkdown, makeFrame } from './frames.js';

const CRAWL = '0b4f1c9e-5a3d-4e2b-9f7a-1c2d3e4f5a6b';
const page = makeFrame(CRAWL, '1700000000000-0', 'page', JSON.stringify({ url: 'http://127.0.0.1:9/a', title: 'A', depth: 1, status: 200, bytes: 10, durationMs: 1 }));
const bytes = (data: string) => Buffer.byteLength(data);
/** Bytes the page frame's data takes with `markdown` whole. */
const whole = (markdown: string) => bytes(frameWithMarkdown(page, markdown, Number.MAX_SAFE_INTEGER).data);

describe('frameWithMarkdown', () => {
  it('adds the markdown to a page event, same id, the frame given left unchanged', () => {
    const joined = frameWithMarkdown(page, '# A\n\n"quoted" é 😀');
    expect(joined.id).toBe(page.id);
    expect(JSON.parse(joined.data)).toEqual({ ...JSON.parse(page.data), markdown: '# A\n\n"quoted" é 😀' });
    expect(page.data).not.toContain('markdown');
  });

  it('leaves other events, and pages without markdown, as they are', () => {
    const progress = makeFrame(CRAWL, '1700000000000-1', 'progress', '{"counters":{}}');
    expect(frameWithMarkdown(progress, 'x')).toBe(progress);
    expect(frameWithMarkdown(page, undefined)).toBe(page);
  });

  it('keeps markdown whole when the event is exactly MAX_EVENT_BYTES, and cuts it one byte past, with truncated', () => {
    const at = 'a'.repeat(MAX_EVENT_BYTES - whole(''));
    expect(whole(at)).toBe(MAX_EVENT_BYTES);
    const kept = JSON.parse(frameWithMarkdown(page, at).data);
    expect(kept.markdown).toBe(at);
    expect(kept).not.toHaveProperty('truncated');

    const past = frameWithMarkdown(page, `${at}b`);
    expect(bytes(past.data)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    const cut = JSON.parse(past.data);
    expect(cut.truncated).toBe(true);
    // The longest prefix that fits with `,"truncated":true`.
    expect(cut.markdown).toBe(at.slice(0, at.length - ',"truncated":true'.length));
    expect(bytes(past.data)).toBe(MAX_EVENT_BYTES);
  });

  it('cuts long markdown of escapes and astral characters within the limit, never splitting a pair', () => {
    for (const unit of ['"\n', '😀', 'é', '\u0001']) {
      const markdown = unit.repeat(200_000);
      const joined = frameWithMarkdown(page, markdown);
      expect(bytes(joined.data)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
      const cut = JSON.parse(joined.data);
      expect(cut.truncated).toBe(true);
      expect(markdown.startsWith(cut.markdown)).toBe(true);
      if (unit === '😀') expect(cut.markdown.length % 2).toBe(0);
      // Nearly all of the budget is used: one more unit would not fit.
      expect(bytes(joined.data) + bytes(JSON.stringify(unit)) - 2).toBeGreaterThan(MAX_EVENT_BYTES);
    }
  });
});
