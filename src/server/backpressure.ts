/**
 * Slow consumers without lost-message guesswork.
 *
 * uWS skips a socket whose buffered amount exceeds `maxBackpressure` (it does
 * not queue, for pub/sub and direct sends alike), and the uWS build we run
 * has no `dropped` handler to say so. Instead of learning about drops
 * afterwards, `SendBudget` keeps live traffic from ever filling a socket past
 * `liveLimit` (the stream uses half of `maxBackpressure`, leaving the other
 * half for replies, snapshots and gap notices): it reports a socket as
 * congested before a publish could push it past, the stream unsubscribes it
 * from its topics, and resumes it on `drain` with an exact `gap` notice per
 * channel (the seqs published while it was paused).
 *
 * How, without looking at every subscriber on every publish: a socket's
 * buffer only grows by what is sent to it, which is at most every byte
 * published on any channel. So after measuring a socket's buffered amount `b`
 * when `total` bytes had been published, it cannot pass `liveLimit` before
 * `total + (liveLimit − b)` bytes have been published. Sockets sit in a
 * min-heap on that bound; a publish re-measures only the sockets whose bound
 * it would pass (usually none). Direct sends (acks, snapshots) re-measure
 * their socket.
 *
 * uWS's topic tree also holds up to 32 published messages per subscriber
 * before writing them to the socket (it writes them at 32, before the loop
 * polls, and before a direct send), and `getBufferedAmount()` does not count
 * them: a measurement adds 32 of the largest messages the socket can receive
 * (its `largest`, else the largest published so far).
 *
 * Each socket may carry its own `limit` (the stream raises it when a socket
 * moves from conflating its quotes and bars to the slow-consumer policy);
 * without one, the budget's `liveLimit` applies.
 */

/** Messages uWS's TopicTree may hold per subscriber, not yet in the socket's buffer. */
export const TOPIC_TREE_PENDING = 32;

/** What the budget keeps per socket (part of the connection's user data). */
export interface BudgetSlot {
  /** Position in the heap; -1 when not tracked. */
  heapIndex: number;
  /** Published-bytes total at which this socket must be measured again. */
  checkAt: number;
  /** Bytes this socket may hold through publishes; default: the budget's liveLimit. */
  limit?: number;
  /** Largest message (upper bound) this socket can be sent by a publish; default: the largest published so far. */
  largest?: number;
}

/** Reports a socket congested before a publish could push its buffer past its limit, measuring only the sockets a publish could push over. */
export class SendBudget<S extends BudgetSlot> {
  /** Bytes published so far (upper bounds of message sizes). */
  #total = 0;
  /** Largest message (upper bound) published so far. */
  #largest = 0;
  readonly #heap: S[] = [];
  readonly #limit: number;
  readonly #buffered: (s: S) => number;
  readonly #onCongested: (s: S) => void;

  /**
   * @param liveLimit bytes a socket may hold buffered through publishes, unless it has its own `limit`
   * @param buffered the socket's `getBufferedAmount()`
   * @param onCongested called (once, after the socket left the heap) when a socket must stop receiving
   */
  constructor(liveLimit: number, buffered: (s: S) => number, onCongested: (s: S) => void) {
    this.#limit = liveLimit;
    this.#buffered = buffered;
    this.#onCongested = onCongested;
  }

  /** Sockets tracked (subscribed and not paused). */
  get size(): number {
    return this.#heap.length;
  }

  /** Account for a message of at most `bytes` about to be published; measures sockets it could push over the limit. */
  reserve(bytes: number): void {
    if (bytes > this.#largest) this.#largest = bytes;
    const after = this.#total + bytes;
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.checkAt < after) this.#measure(heap[0]!, bytes);
    this.#total = after;
  }

  /** Measure `s` now and (re)schedule it; after it was subscribed, resumed or sent to directly. */
  track(s: S): void {
    this.#measure(s, 0);
  }

  /** Stop tracking `s` (closed, paused, or no longer subscribed to anything). */
  remove(s: S): void {
    const i = s.heapIndex;
    if (i < 0) return;
    const heap = this.#heap;
    const last = heap.pop()!;
    s.heapIndex = -1;
    if (i < heap.length) {
      heap[i] = last;
      last.heapIndex = i;
      this.#up(i);
      this.#down(last.heapIndex);
    }
  }

  /** `pending`: bytes about to be published that are not yet in `#total`. */
  #measure(s: S, pending: number): void {
    const limit = s.limit ?? this.#limit;
    const room = limit - this.#buffered(s) - TOPIC_TREE_PENDING * (s.largest ?? this.#largest);
    // Congested when it would have less than an eighth of its limit left (hysteresis against re-measuring at every message).
    if (room - pending < limit / 8) {
      this.remove(s);
      this.#onCongested(s);
      return;
    }
    // room - pending ≥ limit / 8 > 0, so checkAt > #total + pending: `reserve`'s loop ends.
    this.#schedule(s, this.#total + room);
  }

  #schedule(s: S, at: number): void {
    const before = s.checkAt;
    s.checkAt = at;
    if (s.heapIndex < 0) {
      s.heapIndex = this.#heap.length;
      this.#heap.push(s);
      this.#up(s.heapIndex);
    } else if (at < before) {
      this.#up(s.heapIndex);
    } else {
      this.#down(s.heapIndex);
    }
  }

  #up(i: number): void {
    const heap = this.#heap;
    const s = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.checkAt <= s.checkAt) break;
      heap[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    heap[i] = s;
    s.heapIndex = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const s = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.checkAt < heap[child]!.checkAt) child++;
      const c = heap[child]!;
      if (c.checkAt >= s.checkAt) break;
      heap[i] = c;
      c.heapIndex = i;
      i = child;
    }
    heap[i] = s;
    s.heapIndex = i;
  }
}
