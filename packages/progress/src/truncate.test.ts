import { describe, expect, it } from 'vitest';
import { truncateText } from './truncate.js';

describe('truncateText', () => {
  it('keeps text at the limit, cuts one past it, and never keeps half a surrogate pair', () => {
    expect(truncateText('abc', 3)).toBe('abc');
    expect(truncateText('abcd', 3)).toBe('abc');
    expect(truncateText('ab😀', 3)).toBe('ab');
    expect(truncateText('ab😀', 4)).toBe('ab😀');
    expect(truncateText('a😀b', 3)).toBe('a😀');
  });
});
