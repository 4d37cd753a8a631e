import { describe, expect, it } from 'vitest';
import { formatDuration, formatRate } from './format.js';

describe('format', () => {
  it('formats durations', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(61_500)).toBe('1:01');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });

  it('formats rates with one decimal below 100', () => {
    expect(formatRate(7.25)).toBe('7.3');
    expect(formatRate(123.4)).toBe('123');
  });
});
