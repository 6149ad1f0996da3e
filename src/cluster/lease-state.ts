/**
 * What the lease thread (lease-worker.ts) and a feed's main thread share
 * (lease-thread.ts): per exchange, the term the lease is held under and
 * until when it surely holds; and the main thread's heartbeat.
 *
 * Contract: one writer per cell. The lease thread writes each exchange's
 * term and validity; the main thread reads them before every publish
 * (`valid`), without a message or a wake-up: a lease the thread renewed
 * holds on the main thread at once, however long the main thread's turn
 * was, and one the thread lost (or let lapse) stops the publishing at once.
 * The main thread bumps the heartbeat on a timer; the lease thread reads it
 * to tell a main thread that is busy (keep the lease) from one that is hung
 * (give the lease up: lease-worker.ts).
 *
 * Times are `nowMs()` (src/model/clock.ts), the same clock in every thread.
 * A term and its validity are two float64s written together under a
 * seqlock (the sequence odd while writing, readers retry), so a reader never
 * pairs one term with another's validity.
 *
 * A reader that finds a write in progress (the sequence odd) reads again:
 * the write is two stores.
 *
 * Layout for n exchanges: Int32 cells first, then, from the next 64-byte
 * boundary (`recordsAt(n)`), a 16-byte record per exchange:
 *
 * | bytes | cell | writer |
 * | --- | --- | --- |
 * | 0–3 | heartbeat: a counter | main thread |
 * | 4 + 4i | the seqlock of exchange i | lease thread |
 * | recordsAt(n) + 16i | term (float64; 0: not held) | lease thread |
 * | recordsAt(n) + 16i + 8 | valid until, nowMs (float64) | lease thread |
 */
import { nowMs } from '../model/clock.ts';

const HEARTBEAT = 0;
const SEQ = 1; // + index
const TERM = 0;
const VALID_UNTIL = 1;

/** Where the records start for `n` exchanges: after the Int32 cells, on a cache-line boundary (bytes). */
function recordsAt(n: number): number {
  return Math.ceil((4 * (1 + n)) / 64) * 64;
}

/** Shared memory for `exchanges` leases. */
export function allocateLeaseState(exchanges: number): SharedArrayBuffer {
  const n = Math.max(1, exchanges);
  return new SharedArrayBuffer(recordsAt(n) + 16 * n);
}

/** One thread's view of the shared lease state; see the module comment. */
export class LeaseState {
  readonly buffer: SharedArrayBuffer;
  readonly #cells: Int32Array;
  readonly #records: Float64Array;

  /** A view of `buffer`, allocated by allocateLeaseState for `exchanges` leases (the same number in every thread). */
  constructor(buffer: SharedArrayBuffer, exchanges: number) {
    this.buffer = buffer;
    const n = Math.max(1, exchanges);
    const at = recordsAt(n);
    this.#cells = new Int32Array(buffer, 0, at / 4);
    this.#records = new Float64Array(buffer, at, 2 * n);
  }

  /** Lease thread: exchange `i` is held under `term` until `validUntil` (nowMs); term 0: not held. */
  set(i: number, term: number, validUntil: number): void {
    const c = this.#cells;
    Atomics.add(c, SEQ + i, 1); // odd: a write in progress
    this.#records[2 * i + TERM] = term;
    this.#records[2 * i + VALID_UNTIL] = validUntil;
    Atomics.add(c, SEQ + i, 1);
  }

  /** Main thread: does exchange `i`'s lease hold under `term` at `now` (nowMs)? Allocates nothing. */
  holds(i: number, term: number, now = nowMs()): boolean {
    const c = this.#cells;
    for (;;) {
      const seq = Atomics.load(c, SEQ + i);
      if ((seq & 1) === 1) continue; // the lease thread is writing: two stores, done at once
      const held = this.#records[2 * i + TERM] === term && now < this.#records[2 * i + VALID_UNTIL]!;
      if (Atomics.load(c, SEQ + i) === seq) return held;
    }
  }

  /** Main thread: show that it runs (a timer calls this). */
  beat(): void {
    Atomics.add(this.#cells, HEARTBEAT, 1);
  }

  /** Lease thread: the heartbeat's count, to compare with an earlier reading. */
  heartbeat(): number {
    return Atomics.load(this.#cells, HEARTBEAT);
  }
}
