// Optional caps on the open streams of one API key (STREAM_MAX_PER_KEY) and
// of one client address (STREAM_MAX_PER_ADDRESS). Counted per API process,
// in memory: a client that spreads its streams over N instances behind a
// load balancer may hold N times the cap. A slot is taken before the reader
// opens and given back when the stream ends, however it ends. Both caps
// default to none: behind a load balancer that is not a trusted proxy every
// client shares one address, and 10,000 readers of one crawl from one host is
// a supported load.
import { ApiError } from './errors.js';

/** What a client is told to wait before trying again: streams end at their own pace. */
export const STREAM_RETRY_AFTER_SECONDS = 5;

/** One open stream's place in the counts. */
export interface StreamSlot {
  readonly key: string | null;
  readonly address: string | null;
}

class Counts {
  private readonly counts = new Map<string, number>();

  constructor(readonly max: number) {}

  full(name: string | null): boolean {
    return this.max > 0 && name !== null && (this.counts.get(name) ?? 0) >= this.max;
  }

  add(name: string | null): void {
    if (this.max > 0 && name !== null) this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  remove(name: string | null): void {
    if (this.max <= 0 || name === null) return;
    const left = (this.counts.get(name) ?? 0) - 1;
    if (left > 0) this.counts.set(name, left);
    else this.counts.delete(name);
  }
}

export class StreamSlots {
  private readonly perKey: Counts;
  private readonly perAddress: Counts;

  constructor(maxPerKey: number, maxPerAddress: number) {
    this.perKey = new Counts(maxPerKey);
    this.perAddress = new Counts(maxPerAddress);
  }

  /**
   * Takes a slot for a stream of `key` (an owner; null when API keys are off)
   * from `address`; throws 429 `too_many_streams` with Retry-After past a cap.
   */
  take(key: string | null, address: string | undefined): StreamSlot {
    const slot: StreamSlot = { key, address: address ?? null };
    if (this.perKey.full(slot.key) || this.perAddress.full(slot.address)) {
      const which = this.perKey.full(slot.key) ? 'API key' : 'client address';
      const max = which === 'API key' ? this.perKey.max : this.perAddress.max;
      throw new ApiError(
        'too_many_streams',
        `At most ${max} open streams per ${which} on this server; close one or retry later`,
        { limit: max, per: which === 'API key' ? 'key' : 'address', retryAfter: STREAM_RETRY_AFTER_SECONDS },
        { 'retry-after': String(STREAM_RETRY_AFTER_SECONDS) },
      );
    }
    this.perKey.add(slot.key);
    this.perAddress.add(slot.address);
    return slot;
  }

  release(slot: StreamSlot): void {
    this.perKey.remove(slot.key);
    this.perAddress.remove(slot.address);
  }
}
