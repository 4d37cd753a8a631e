import { describe, expect, it } from 'vitest';
import { queuePrefix, queueShardOf } from './keys.js';

describe('queue shards', () => {
  it('shard 0 is the queue as it was before shards; the others have a hash tag each', () => {
    expect(queuePrefix('cs')).toBe('{cs-queue}');
    expect(queuePrefix('cs', 0)).toBe('{cs-queue}');
    expect(queuePrefix('cs', 2)).toBe('{cs-queue-2}');
  });

  it('gives a crawl the same shard in every process and version (FNV-1a of its id)', () => {
    // Pinned (FNV-1a of "a" is 0xe40c292c): a change would move running crawls' new jobs to another shard.
    expect(queueShardOf('a', 2 ** 32 - 1)).toBe(0xe40c292c);
    for (const id of ['x', 'crawl1', 'abc']) expect(queueShardOf(id, 1)).toBe(0);
  });

  it('spreads ids over the shards', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3_000; i++) counts[queueShardOf(`c${i.toString(36)}x${i}`, 3)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });
});
