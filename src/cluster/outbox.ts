/**
 * The feed's acknowledged publishing to JetStream, in order (docs/scale-out.md,
 * "What each failure does"). Every message is published with a message id
 * and waits for JetStream's acknowledgement; the messages not yet
 * acknowledged stay here. When one fails (NATS restarting, a stream leader
 * being elected after a node died, a timeout), sending pauses and, a moment
 * later, every message from the oldest unacknowledged one is sent again in
 * order: those JetStream already stored are dropped as duplicates of their
 * id (within DEDUP_WINDOW_MS), the others are stored. So an outage loses
 * nothing the window and the bound cover, and the order is kept.
 *
 * Bound: at most MAX_UNACKED messages wait; past it the oldest is dropped
 * and counted (edges then announce a `gap`), so memory stays bounded
 * through a long outage.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';

/** Messages waiting for their acknowledgement at most (about 300 bytes each: tens of MB when full). */
export const MAX_UNACKED = 100_000;
/** Pause before sending again after a failure, ms. */
const RETRY_MS = 250;
/** How long an acknowledgement may take, ms. */
const ACK_TIMEOUT_MS = 5_000;

interface Pending {
  subject: string;
  data: Uint8Array;
  headers: MsgHdrs;
  msgID: string;
  /** Sent in the current round (a failure starts a new round). */
  round: number;
}

/** What the outbox counts. */
export interface OutboxCounters {
  acked: number;
  /** Acknowledged as duplicates (already stored): resends, or a second leader's copy. */
  duplicates: number;
  /** Failures that made it send again. */
  failures: number;
  /** Dropped unsent past MAX_UNACKED. */
  dropped: number;
}

/** In-order, acknowledged publishing; see the module comment. */
export class Outbox {
  readonly counters: OutboxCounters = { acked: 0, duplicates: 0, failures: 0, dropped: 0 };
  readonly #js: JetStreamClient;
  /** Unacknowledged messages, oldest first (`#head` is the first live index). */
  #queue: (Pending | undefined)[] = [];
  #head = 0;
  /** Index of the first message not sent in the current round. */
  #next = 0;
  #round = 0;
  #paused = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(js: JetStreamClient) {
    this.#js = js;
  }

  /** Messages waiting for their acknowledgement. */
  get unacked(): number {
    return this.#queue.length - this.#head;
  }

  /** Publish `data` on `subject` (it is kept until acknowledged: pass a copy the caller will not reuse). */
  send(subject: string, data: Uint8Array, headers: MsgHdrs, msgID: string): void {
    if (this.unacked >= MAX_UNACKED) {
      this.#queue[this.#head++] = undefined;
      this.#next = Math.max(this.#next, this.#head);
      this.counters.dropped++;
    }
    this.#queue.push({ subject, data, headers, msgID, round: -1 });
    if (!this.#paused) this.#flush();
  }

  /** Stop retrying; what is unacknowledged stays so. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  /** Send everything not yet sent in this round, in order. */
  #flush(): void {
    const q = this.#queue;
    while (this.#next < q.length && !this.#paused) {
      const p = q[this.#next++];
      if (p === undefined || p.round === -2) continue; // dropped, or acknowledged in an earlier round
      p.round = this.#round;
      const round = this.#round;
      this.#js.publish(p.subject, p.data, { headers: p.headers, msgID: p.msgID, timeout: ACK_TIMEOUT_MS, retries: 0 }).then(
        (ack) => this.#acked(p, ack.duplicate),
        () => this.#failed(round),
      );
    }
  }

  #acked(p: Pending, duplicate: boolean): void {
    if (duplicate) this.counters.duplicates++;
    else this.counters.acked++;
    p.round = -2; // done
    const q = this.#queue;
    while (this.#head < q.length && (q[this.#head] === undefined || q[this.#head]!.round === -2)) q[this.#head++] = undefined;
    // Compact now and then: the queue array only grows otherwise.
    if (this.#head > 4096 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#next -= this.#head;
      this.#head = 0;
    }
  }

  /** A failure in `round`: pause, then send again from the oldest unacknowledged message (once per round). */
  #failed(round: number): void {
    if (round !== this.#round || this.#closed) return;
    this.counters.failures++;
    this.#paused = true;
    this.#round++;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#paused = false;
      this.#next = this.#head;
      this.#flush();
    }, RETRY_MS);
    this.#timer.unref();
  }
}
