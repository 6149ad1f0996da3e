/**
 * RecentIds: "have I seen this trade id lately?" for the last `capacity` ids,
 * without allocating per call.
 *
 * Layout: a FIFO ring of the ids (Float64Array) and an open-addressing hash
 * table (Int32Array, twice the ring's size, linear probing) holding ring
 * positions + 1 (0 = empty). When the ring is full the oldest id is evicted
 * and removed from the table by backward-shift deletion, so the table never
 * fills with tombstones.
 */
export class RecentIds {
  readonly capacity: number;
  readonly #ids: Float64Array;
  readonly #table: Int32Array;
  readonly #mask: number;
  #next = 0;
  #size = 0;

  /** `capacity` is rounded up to a power of two. */
  constructor(capacity: number) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.capacity = cap;
    this.#ids = new Float64Array(cap);
    this.#table = new Int32Array(cap * 2);
    this.#mask = cap * 2 - 1;
  }

  /** True when `id` is among the recent ids; otherwise remembers it and returns false. */
  checkAndAdd(id: number): boolean {
    const table = this.#table;
    const ids = this.#ids;
    const mask = this.#mask;
    let h = hash(id) & mask;
    for (let p = table[h]!; p !== 0; p = table[h]!) {
      if (ids[p - 1] === id) return true;
      h = (h + 1) & mask;
    }
    const pos = this.#next;
    if (this.#size === this.capacity) {
      this.#remove(ids[pos]!, pos + 1);
      // The removal may have shifted entries into the probe chain's empty slot: find it again.
      h = hash(id) & mask;
      while (table[h] !== 0) h = (h + 1) & mask;
    } else {
      this.#size++;
    }
    ids[pos] = id;
    table[h] = pos + 1;
    this.#next = (pos + 1) & (this.capacity - 1);
    return false;
  }

  /** Forget every id. */
  clear(): void {
    this.#table.fill(0);
    this.#next = 0;
    this.#size = 0;
  }

  #remove(id: number, entry: number): void {
    const table = this.#table;
    const ids = this.#ids;
    const mask = this.#mask;
    let i = hash(id) & mask;
    while (table[i] !== entry) i = (i + 1) & mask;
    // Backward-shift deletion (Knuth 6.4, algorithm R).
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = table[j]!;
      if (e === 0) break;
      const k = hash(ids[e - 1]!) & mask;
      const movable = i <= j ? k <= i || k > j : k <= i && k > j;
      if (movable) {
        table[i] = e;
        i = j;
      }
    }
    table[i] = 0;
  }
}

/** Integer ids up to 2^53 hash on both 32-bit halves; multiplicative mix. */
function hash(id: number): number {
  const lo = id >>> 0;
  const hi = Math.floor(id / 4294967296) >>> 0;
  const x = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1);
  return (x ^ (x >>> 15)) >>> 0;
}
