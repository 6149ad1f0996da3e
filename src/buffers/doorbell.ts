/**
 * Doorbell: how producer threads wake the consumer without busy polling.
 *
 * Producers publish records to their rings, then `ring()`: one `Atomics.add`
 * on a shared Int32 counter, and an `Atomics.notify` only when the consumer
 * is parked. The consumer (`listen`) drains everything available, marks
 * itself parked, then sleeps in `Atomics.waitAsync` until the counter moves
 * past the value it read *before* draining, so a ring during a drain is
 * never missed. When rings keep coming it yields to the event loop between
 * drains (setImmediate) instead of spinning; idle, it costs nothing.
 * Measured on this machine class: a wake-up costs ~35 µs at the median.
 *
 * Why a skipped notify loses no wake-up (all cells are read and written with
 * Atomics, which are sequentially consistent): the consumer stores "parked"
 * and then `waitAsync` compares the counter; a producer adds to the counter
 * and then loads "parked". In any order of the four, either the consumer's
 * compare sees the producer's add (it does not sleep), or the producer's
 * load comes after the consumer's store (it sees "parked" and notifies). So
 * a published record waits at most for the drain in progress, then one wake
 * (`ring_wait` measures it). While the consumer drains or yields, producers
 * skip the notify: the profile had `ring` (a notify per frame) at
 * 12.6% of the ingest worker's time.
 *
 * The wait is measured: the first ring after a drain also stores a time,
 * the one its producer gives (when the oldest record it announces was
 * received; a producer that rings once per batch passes the batch's first
 * receipt, so the time its records sat unannounced counts) or, without one,
 * now (one clock read per drain, not per ring). The consumer takes it when
 * the next drain starts and reports it → drain: the longest any record
 * announced in between waited for the main thread.
 *
 * Layout (Int32 cells, one cache line): 0 the ring counter; 1 the time of the
 * first ring not yet drained, µs on the `nowMs` clock modulo 2^30, plus 1
 * (0: none); 2 parked (1 while the consumer waits or is about to).
 */
import { nowMs } from '../model/clock.ts';

const CELL = 0;
const FIRST_RING = 1;
const PARKED = 2;
const BYTES = 64; // a cache line of its own
const WRAP = 2 ** 30; // µs: about 18 minutes, far longer than any wait

/** A running `listen` loop. */
export interface DoorbellListener {
  /** Stop listening; resolves after the last drain returned. */
  stop(): Promise<void>;
  /** Drains run so far: the first, one per wake-up, one per yield while rings kept coming. */
  readonly drains: number;
  /** Times the consumer was woken from a parked wait by a ring (each cost the producer an `Atomics.notify`). */
  readonly wakeups: number;
}

/** View over a shared doorbell (one per thread). */
export class Doorbell {
  readonly buffer: SharedArrayBuffer;
  private readonly cell: Int32Array;

  /** Shared memory for one doorbell. */
  static allocate(): SharedArrayBuffer {
    return new SharedArrayBuffer(BYTES);
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.cell = new Int32Array(buffer, 0, 3);
  }

  /**
   * Producer: tell the consumer there is something to drain. Call once per
   * batch, after publishing; `sinceMs` (`nowMs` clock): when the oldest
   * record announced was received, now when omitted.
   */
  ring(sinceMs?: number): void {
    const cell = this.cell;
    if (Atomics.load(cell, FIRST_RING) === 0) Atomics.compareExchange(cell, FIRST_RING, 0, stamp(sinceMs ?? nowMs()));
    Atomics.add(cell, CELL, 1);
    if (Atomics.load(cell, PARKED) !== 0) Atomics.notify(cell, CELL);
  }

  /**
   * Consumer: call `drain` now and again after every ring, until stopped.
   * `drain` must take everything available; it runs on this thread's event loop.
   * `onWait` gets, per drain that follows rings, the µs from the first of
   * them to the drain's start.
   */
  listen(drain: () => void, onWait?: (us: number) => void): DoorbellListener {
    const cell = this.cell;
    let running = true;
    let drains = 0;
    let wakeups = 0;
    const loop = (async () => {
      while (running) {
        const seen = Atomics.load(cell, CELL);
        drains++;
        const first = Atomics.exchange(cell, FIRST_RING, 0);
        if (first !== 0 && onWait !== undefined) onWait((((stamp(nowMs()) - first) % WRAP) + WRAP) % WRAP);
        drain();
        if (!running) break;
        Atomics.store(cell, PARKED, 1); // before the compare in waitAsync: see the proof above
        const wait = Atomics.waitAsync(cell, CELL, seen);
        if (wait.async) {
          await wait.value;
          if (running) wakeups++; // (not the stop's own notify)
        }
        Atomics.store(cell, PARKED, 0);
        if (!wait.async) await yieldToEventLoop(); // rung during the drain: let I/O run, then drain again
      }
    })();
    return {
      stop: async () => {
        running = false;
        Atomics.add(cell, CELL, 1);
        Atomics.notify(cell, CELL);
        await loop;
      },
      get drains() {
        return drains;
      },
      get wakeups() {
        return wakeups;
      },
    };
  }
}

/** A time on the `nowMs` clock as µs modulo WRAP, plus 1 so it is never 0 (the "none" mark). */
function stamp(ms: number): number {
  return (Math.floor(ms * 1000) % WRAP) + 1;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
