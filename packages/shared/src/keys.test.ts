import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { queuePrefix, queueShardOf } from './keys.js';

/** Which of `masters` equal slot ranges (as `redis-cli --cluster create` assigns them) holds the key. */
const masterOf = (key: string, masters: number) => Math.floor((calculateSlot(key) * masters) / 16_384);

describe('queue shards', () => {
  it('shard 0 is the queue as it was before shards; the others have a hash tag each', () => {
    expect(queuePrefix('cs')).toBe('{cs-queue}');
    expect(queuePrefix('cs', 0)).toBe('{cs-queue}');
    expect(queuePrefix('cs', 2)).toMatch(/^\{cs-queue-2(-\d+)?\}$/);
    expect(queuePrefix('cs', 2)).toBe(queuePrefix('cs', 2));
  });

  it('with the prefix cs puts 3 shards on 3 masters, 6 shards two on each, of a cluster with equal slot ranges', () => {
    // Fails with plain `{cs-queue-<i>}` names: {cs-queue} and {cs-queue-1} share the first master of 3.
    expect(new Set([0, 1, 2].map((shard) => masterOf(queuePrefix('cs', shard), 3))).size).toBe(3);
    const perMaster = [0, 0, 0];
    for (let shard = 0; shard < 6; shard++) perMaster[masterOf(queuePrefix('cs', shard), 3)]!++;
    expect(perMaster).toEqual([2, 2, 2]);
  });

  it('spreads the first shards around the slot ring whatever the prefix', () => {
    for (const prefix of ['a', 'crawlstream', 'tenant-42', 'x1']) {
      const slots = [0, 1, 2].map((shard) => calculateSlot(queuePrefix(prefix, shard))).sort((a, b) => a - b);
      const gaps = [slots[1]! - slots[0]!, slots[2]! - slots[1]!, 16_384 - slots[2]! + slots[0]!];
      expect(Math.min(...gaps), prefix).toBeGreaterThan(16_384 / 5);
    }
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
