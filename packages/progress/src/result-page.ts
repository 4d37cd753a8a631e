// The byte budget of one page of results (`/pages`, `/errors`): the body the
// API sends is `{"items":[...],"nextCursor":"<offset>"|null}`, and it must
// stay within a byte limit (MAX_RESPONSE_BYTES) whatever the items weigh. A
// page takes items in order while the body, counted exactly as JSON.stringify
// writes it (UTF-8), stays within the limit; the first item is always taken,
// so a client always moves on.

/** `{"items":` + `,"nextCursor":` + `}` around the array. */
const ENVELOPE_BYTES = '{"items":'.length + ',"nextCursor":'.length + '}'.length;

/** Bytes of an item as JSON.stringify writes it, in UTF-8. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** Bytes of a whole page body, from the sum of its items' JSON bytes. */
export function resultPageBytes(itemBytes: number, count: number, nextCursor: string | null): number {
  const array = 2 + itemBytes + Math.max(0, count - 1);
  return ENVELOPE_BYTES + array + (nextCursor === null ? 4 : JSON.stringify(nextCursor).length);
}

export class ResultPage<T> {
  readonly items: T[] = [];
  /** Positions consumed from `offset` (items taken and gaps passed over). */
  consumed = 0;
  private itemBytes = 0;
  /** No more items are taken (the budget is spent). */
  full = false;

  constructor(
    private readonly offset: number,
    /** How many positions the list holds: the last page has no cursor. */
    private readonly total: number,
    private readonly maxBytes: number,
  ) {}

  /** The cursor after `consumed` positions: null at the end of the list. */
  cursorAfter(consumed: number): string | null {
    return this.offset + consumed < this.total ? String(this.offset + consumed) : null;
  }

  get nextCursor(): string | null {
    return this.cursorAfter(this.consumed);
  }

  /** The body's bytes as it stands. */
  get bytes(): number {
    return resultPageBytes(this.itemBytes, this.items.length, this.nextCursor);
  }

  /**
   * Takes the item at the next position (null: a gap, passed over), unless
   * the body would then exceed the budget; false once the page is full.
   */
  offer(item: T | null, bytes: number): boolean {
    if (this.full) return false;
    const count = this.items.length + (item === null ? 0 : 1);
    const after = resultPageBytes(this.itemBytes + bytes, count, this.cursorAfter(this.consumed + 1));
    // (A gap can only grow the body by the cursor turning into `null`.)
    if (this.items.length > 0 && after > this.maxBytes) {
      this.full = true;
      return false;
    }
    if (item !== null) {
      this.items.push(item);
      this.itemBytes += bytes;
    }
    this.consumed++;
    return true;
  }
}
