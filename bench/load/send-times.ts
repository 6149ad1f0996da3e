/**
 * When each trade frame left the fake exchange, shared between the exchange
 * thread (writes, fake-exchange.ts) and the subscriber threads (read), so a
 * subscriber turns a received trade into a latency without any message
 * between threads. The bench's fan-out and the soak both use it.
 *
 * Layout: one SharedArrayBuffer of 2 × SLOTS float64s: trade id at
 * [slot], send time (µs) at [SLOTS + slot], slot = trade id mod SLOTS. The
 * writer stores the time, then the id; a reader that finds another id in the
 * slot (overwritten a full table later, or never written) gets NaN. At 2,000
 * trades/s the table holds 8 minutes of trades, far more than any latency;
 * a bench phase must not send more than SEND_TIME_SLOTS trades.
 *
 * Time is clock.ts's `nowUs` (`process.hrtime`, the same in every thread).
 */

/** Slots in the table (a power of two). */
export const SEND_TIME_SLOTS = 1 << 20;
const MASK = SEND_TIME_SLOTS - 1;

/** A view over the shared send-time table. */
export class SendTimes {
  /** Allocate the shared table (hand `buffer` to the other threads). */
  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(2 * SEND_TIME_SLOTS * Float64Array.BYTES_PER_ELEMENT);
  }

  readonly buffer: SharedArrayBuffer;
  readonly #table: Float64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.#table = new Float64Array(buffer);
  }

  /** Remember that trade `id` (a non-negative integer) was sent at `us`. */
  record(id: number, us: number): void {
    const slot = id & MASK;
    this.#table[SEND_TIME_SLOTS + slot] = us;
    this.#table[slot] = id;
  }

  /** When trade `id` was sent (µs), or NaN when the table does not hold it. */
  sentAt(id: number): number {
    const slot = id & MASK;
    return this.#table[slot] === id ? this.#table[SEND_TIME_SLOTS + slot]! : NaN;
  }
}
