// Per-host state of a crawl, shared by every worker: robots.txt (fetched
// once, under a lock) and politeness slots. Each write refuses once the crawl
// has ended.
import { crawlKeys } from '@crawlstream/shared';
import type { RedisConnection } from '@crawlstream/redis-connection';
import type { Scripts } from './scripts.js';

export class HostState {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly scripts: Scripts,
  ) {}

  /**
   * Reserves this host's next request slot for the crawl (politeness across
   * workers): the wait in ms (0 = now, the send recorded) and the slot's time;
   * null when the crawl is not running (nothing is written then). With
   * `heldSlotAt` (a job woken for the slot it holds) it reserves nothing: the
   * wait is what is left of the gap since the host's last request (0 = go now,
   * the send recorded), so a job that woke late does not shorten the next gap.
   */
  async reserveHostSlot(
    id: string,
    host: string,
    gapMs: number,
    heldSlotAt?: number,
  ): Promise<{ waitMs: number; slotAt: number } | null> {
    const reply = await this.scripts.hostSlot(id, host, gapMs, heldSlotAt);
    return reply.result === 'slot' ? { waitMs: reply.waitMs, slotAt: reply.slotAt } : null;
  }

  /** robots.txt of a host as stored for this crawl (see saveRobots), or null. */
  robots(id: string, host: string): Promise<string | null> {
    return this.redis.hget(crawlKeys(id, this.prefix).robots, host);
  }

  /** Stores a host's robots.txt for this crawl and releases its lock; false (nothing written) when the crawl is not running. */
  async saveRobots(id: string, host: string, value: string): Promise<boolean> {
    return (await this.scripts.saveRobots(id, host, value)).result === 'saved';
  }

  /**
   * Takes the right to fetch a host's robots.txt for this crawl, for `ms`:
   * `locked` (fetch it, then saveRobots), `busy` (another worker has it: wait),
   * `stored` (read it with robots()), or `finished` (the crawl is not running;
   * nothing is written).
   */
  async lockRobots(id: string, host: string, ms: number): Promise<'locked' | 'busy' | 'stored' | 'finished'> {
    const reply = await this.scripts.lockRobots(id, host, ms);
    return reply.result === 'locked' || reply.result === 'busy' || reply.result === 'stored' ? reply.result : 'finished';
  }

  /**
   * Gives up the right to fetch a host's robots.txt (a worker stopping
   * mid-fetch), so the next worker fetches it at once instead of waiting for
   * the lock to expire. Deleting a field creates no key (nothing outlives the
   * crawl's TTL); at worst, past its own expiry, it frees another worker's
   * lock and robots.txt is fetched twice.
   */
  async unlockRobots(id: string, host: string): Promise<void> {
    await this.redis.hdel(crawlKeys(id, this.prefix).robots, `lock ${host}`);
  }
}
