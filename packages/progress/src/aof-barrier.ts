// Whether writes already acknowledged are on disk, so that a 201 outlives a
// Redis crash: `WAITAOF 1 0 <timeout>` (Redis 7.2 and later) waits until the
// local AOF is fsynced past this client's last write. WAITAOF covers only its
// own connection's writes and blocks that connection, so it runs on a
// connection of its own, after a small write of its own (later in the AOF
// than every write acknowledged before it), and one barrier serves every
// caller that arrived before it started (group commit): at most one WAITAOF
// in flight and one waiting, however many creates. A server without WAITAOF
// (Redis 7.0 answers COMMAND INFO with nil) or without AOF is detected once
// per connection (again after a reconnect: the server may have been upgraded
// or reconfigured); there nothing is waited for, no connection is opened, and
// the window is documented instead.
import type { RedisConnection } from '@crawlstream/redis-connection';

/**
 * fsynced: on disk; unconfirmed: not within the wait, or the barrier failed
 * (the write may still be lost in a crash); aof_off: the server keeps no AOF;
 * unsupported: no WAITAOF.
 */
export type Durability = 'fsynced' | 'unconfirmed' | 'aof_off' | 'unsupported';

/** COMMAND INFO <name>'s reply: one entry per name, nil for a command the server does not have. */
export function knowsCommand(reply: unknown): boolean {
  return Array.isArray(reply) && Array.isArray(reply[0]);
}

/** INFO persistence's `aof_enabled` line. */
export function aofEnabled(infoPersistence: string): boolean {
  return /^aof_enabled:1\r?$/m.test(infoPersistence);
}

/** What the server offers, from COMMAND INFO WAITAOF and INFO persistence. */
export function serverDurability(commandInfo: unknown, infoPersistence: string): 'waitaof' | 'unsupported' | 'aof_off' {
  if (!knowsCommand(commandInfo)) return 'unsupported';
  return aofEnabled(infoPersistence) ? 'waitaof' : 'aof_off';
}

/** WAITAOF's reply [numlocal, numreplicas]: fsynced once the local count reached 1. */
export function durabilityOf(reply: unknown): Durability {
  return Array.isArray(reply) && Number(reply[0]) >= 1 ? 'fsynced' : 'unconfirmed';
}

/** A WAITAOF error that says what the server is rather than that it failed; null for any other error. */
export function durabilityOfError(error: unknown): Durability | null {
  const message = error instanceof Error ? error.message : String(error);
  if (/appendonly is disabled/i.test(message)) return 'aof_off';
  if (/unknown command/i.test(message)) return 'unsupported';
  return null;
}

export interface AofBarrierOptions {
  /** The connection to probe the server with (not blocked: only COMMAND INFO and INFO run on it). */
  redis: RedisConnection;
  /** The marker key each barrier writes (with a TTL). */
  markerKey: string;
  /** Longest wait for the fsync (CREATE_AOF_WAIT_MS). */
  timeoutMs: number;
}

export class AofBarrier {
  private offer: Promise<'waitaof' | 'unsupported' | 'aof_off'> | null = null;
  private listening = false;
  private connection: RedisConnection | null = null;
  private current: Promise<Durability> | null = null;
  private following: Promise<Durability> | null = null;

  constructor(private readonly options: AofBarrierOptions) {}

  /** Resolves once every write acknowledged before this call is on disk, or says why not; never rejects. */
  wait(): Promise<Durability> {
    if (this.current === null) return this.start();
    // The barrier under way may have been written before our write: the next one covers it.
    this.following ??= this.current.then(
      () => this.startFollowing(),
      () => this.startFollowing(),
    );
    return this.following;
  }

  /** Closes the barrier's own connection, if one was opened. */
  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = null;
    if (connection) await connection.quit().catch(() => connection.disconnect());
  }

  private startFollowing(): Promise<Durability> {
    this.following = null;
    return this.start();
  }

  private start(): Promise<Durability> {
    const barrier = this.barrier().finally(() => {
      if (this.current === barrier) this.current = null;
    });
    this.current = barrier;
    return barrier;
  }

  private async barrier(): Promise<Durability> {
    try {
      const offer = await this.detect();
      if (offer !== 'waitaof') return offer;
      this.connection ??= this.options.redis.duplicate();
      const { markerKey, timeoutMs } = this.options;
      const [, reply] = await Promise.all([
        this.connection.set(markerKey, '1', 'PX', 60_000),
        this.connection.call('WAITAOF', '1', '0', String(timeoutMs)),
      ]);
      return durabilityOf(reply);
    } catch (error) {
      // The write it guards was acknowledged: say it is not known to be on disk, do not fail it.
      return durabilityOfError(error) ?? 'unconfirmed';
    }
  }

  /** Once per connection: WAITAOF and AOF there? A failed probe is tried again next time. */
  private detect(): Promise<'waitaof' | 'unsupported' | 'aof_off'> {
    const { redis } = this.options;
    // On a Redis Cluster the crawl's writes are on its slot's master, and a
    // barrier connection would wait on whichever node it reached: no barrier.
    if (redis.isCluster) return Promise.resolve('unsupported');
    if (!this.listening) {
      this.listening = true;
      redis.on('ready', () => {
        this.offer = null;
      });
    }
    this.offer ??= Promise.all([redis.call('COMMAND', 'INFO', 'WAITAOF'), redis.info('persistence')]).then(
      ([commandInfo, info]) => serverDurability(commandInfo, info),
      (error) => {
        this.offer = null;
        throw error;
      },
    );
    return this.offer;
  }
}
