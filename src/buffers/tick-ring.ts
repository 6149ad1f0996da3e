/**
 * TickRing: a wait-free single-producer / single-consumer ring of fixed-size
 * float64 records over a SharedArrayBuffer.
 *
 * Contract
 *  - Exactly one producer thread calls `claim`/`publish`; exactly one consumer
 *    thread calls `read`. The roles never change for the life of the buffer.
 *  - The producer never blocks or waits. When the ring is full the newest
 *    record (the one being written) is dropped and counted in `overflow`.
 *  - Indices are free-running 32-bit counters, touched only through
 *    `Atomics`; a record becomes visible to the consumer with a single
 *    `Atomics.store` of the write index, after its fields are written.
 *
 * Memory layout (bytes)
 *   0   write index   (Int32, producer-owned)
 *   64  read index    (Int32, consumer-owned; own cache line)
 *   128 overflow count (Int32, producer-owned; own cache line)
 *   176 capacity, 180 stride (Int32, written once at allocation)
 *   192 records: capacity × stride float64
 *
 * The buffer is allocated once (`TickRing.allocate`) and each thread builds
 * its own view over it (`new TickRing(sab)`).
 */
import { TICK_FIELDS } from '../model/records.ts';

const WRITE = 0; // Int32 index of the write counter
const READ = 16; // 64 bytes further
const OVERFLOW = 32; // 128 bytes
const CAPACITY = 44; // 176 bytes
const STRIDE = 45; // 180 bytes
const HEADER_BYTES = 192;

/** Called for each record: the fields are `buf[offset .. offset + stride)`. Valid only during the call. */
export interface RecordVisitor {
  onRecord(buf: Float64Array, offset: number): void;
}

/** View over a shared tick ring (one per thread). */
export class TickRing {
  /** Records the ring holds (a power of two). */
  readonly capacity: number;
  /** Float64 values per record. */
  readonly stride: number;
  readonly buffer: SharedArrayBuffer;
  /** Records: `stride` values at `(index & mask) * stride`. */
  readonly data: Float64Array;
  private readonly index: Int32Array;
  private readonly mask: number;
  /** Producer-local copy of the write counter between `claim` and `publish`. */
  private pending: number;
  /**
   * Producer-local copy of the read counter as last loaded. The consumer only
   * moves it forward, so a stale copy over-counts what the ring holds, never
   * under-counts: the producer reloads it only when the copy says full (or
   * half full, `claimedAtLeast`), not once per record (an `Atomics.load` is a
   * builtin call on the ingest path: measured in docs/benchmarks.md).
   */
  private readSeen: number;

  /** Shared memory for a ring of `capacity` records (rounded up to a power of two) of `stride` float64 each. */
  static allocate(capacity: number, stride: number = TICK_FIELDS): SharedArrayBuffer {
    if (!Number.isInteger(capacity) || capacity < 2 || capacity > 2 ** 30) {
      throw new RangeError(`TickRing capacity must be an integer in [2, 2^30], got ${capacity}`);
    }
    if (!Number.isInteger(stride) || stride < 1) throw new RangeError(`TickRing stride must be a positive integer, got ${stride}`);
    const cap = powerOfTwoAtLeast(capacity);
    const sab = new SharedArrayBuffer(TickRing.byteLength(cap, stride));
    // Capacity and stride live in the header, so a view needs only the buffer.
    const meta = new Int32Array(sab, 0, HEADER_BYTES / 4);
    meta[CAPACITY] = cap;
    meta[STRIDE] = stride;
    return sab;
  }

  /** Bytes a ring of `capacity` records of `stride` float64 each occupies. */
  static byteLength(capacity: number, stride: number = TICK_FIELDS): number {
    return HEADER_BYTES + powerOfTwoAtLeast(capacity) * stride * 8;
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.index = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.capacity = this.index[CAPACITY]!;
    this.stride = this.index[STRIDE]!;
    this.mask = this.capacity - 1;
    this.data = new Float64Array(buffer, HEADER_BYTES, this.capacity * this.stride);
    this.pending = Atomics.load(this.index, WRITE);
    this.readSeen = Atomics.load(this.index, READ);
  }

  /**
   * Producer: reserve the next record and return its offset in `data`, or -1
   * when the ring is full (the record is dropped and counted). Write the
   * fields, then `publish()`; several claims may share one publish.
   */
  claim(): number {
    const w = this.pending;
    if (((w - this.readSeen) | 0) >= this.capacity && ((w - (this.readSeen = Atomics.load(this.index, READ))) | 0) >= this.capacity) {
      Atomics.add(this.index, OVERFLOW, 1);
      return -1;
    }
    this.pending = (w + 1) | 0;
    return (w & this.mask) * this.stride;
  }

  /**
   * Producer: true when `claim` would succeed. For producers that may wait
   * instead of dropping (replaying a file, say); the live feed never waits.
   */
  hasRoom(): boolean {
    return this.claimedSize() < this.capacity;
  }

  /** Producer: records claimed (published or not) and not yet read. */
  claimedSize(): number {
    return (this.pending - (this.readSeen = Atomics.load(this.index, READ))) | 0;
  }

  /** Producer: `claimedSize() >= n`, loading the read counter only when the last one seen says so. */
  claimedAtLeast(n: number): boolean {
    return ((this.pending - this.readSeen) | 0) >= n && this.claimedSize() >= n;
  }

  /** Producer: make every claimed record visible to the consumer. */
  publish(): void {
    Atomics.store(this.index, WRITE, this.pending);
  }

  /**
   * Consumer: hand up to `max` available records to `visitor`, oldest first,
   * then release their space to the producer. Returns how many were read.
   */
  read(visitor: RecordVisitor, max: number = 0x7fffffff): number {
    const idx = this.index;
    const r = Atomics.load(idx, READ);
    let n = (Atomics.load(idx, WRITE) - r) | 0;
    if (n > max) n = max;
    const data = this.data;
    const stride = this.stride;
    const mask = this.mask;
    for (let i = 0; i < n; i++) visitor.onRecord(data, ((r + i) & mask) * stride);
    if (n > 0) Atomics.store(idx, READ, (r + n) | 0);
    return n;
  }

  /** Records published and not yet read (either side may ask; a snapshot). */
  size(): number {
    return (Atomics.load(this.index, WRITE) - Atomics.load(this.index, READ)) | 0;
  }

  /** Records dropped because the ring was full, since allocation. */
  overflow(): number {
    return Atomics.load(this.index, OVERFLOW);
  }
}

function powerOfTwoAtLeast(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}
