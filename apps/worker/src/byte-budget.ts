// The bytes of page bodies a worker process may hold at once
// (WORKER_MAX_BYTES_IN_FLIGHT): each page reserves its crawl's maxBytes
// before fetching and gives it back when settled. A page that does not fit
// waits its turn, first come first served, before opening any connection.

export interface ByteBudgetStats {
  /** Bytes reserved now. */
  reserved: number;
  /** Most bytes ever reserved at once. */
  peak: number;
  /** Reservations that had to wait. */
  waited: number;
  /** Reservations waiting now. */
  waiting: number;
}

interface Waiter {
  bytes: number;
  grant(): void;
}

export class ByteBudget {
  private reserved = 0;
  private peak = 0;
  private waited = 0;
  private readonly queue: Waiter[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`byte budget must be a positive integer, got ${limit}`);
  }

  /**
   * Waits until `bytes` (at most the whole budget) fit, behind every earlier
   * waiter, and reserves them; the returned function releases them (once).
   */
  async reserve(bytes: number): Promise<() => void> {
    const amount = Math.min(Math.max(0, Math.ceil(bytes)), this.limit);
    if (this.queue.length === 0 && this.reserved + amount <= this.limit) this.take(amount);
    else {
      this.waited++;
      await new Promise<void>((grant) => {
        this.queue.push({ bytes: amount, grant });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.reserved -= amount;
      this.grantWaiting();
    };
  }

  stats(): ByteBudgetStats {
    return { reserved: this.reserved, peak: this.peak, waited: this.waited, waiting: this.queue.length };
  }

  private take(amount: number): void {
    this.reserved += amount;
    this.peak = Math.max(this.peak, this.reserved);
  }

  private grantWaiting(): void {
    // FIFO: the head waits for room even when a smaller one behind it would fit, so nothing starves.
    while (this.queue.length > 0 && this.reserved + this.queue[0]!.bytes <= this.limit) {
      const next = this.queue.shift()!;
      this.take(next.bytes);
      next.grant();
    }
  }
}
