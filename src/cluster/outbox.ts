/**
 * The feed's acknowledged publishing to JetStream, in order (docs/scale-out.md,
 * "Feed failover" and "What each failure does"). Every message has a message
 * id (JetStream drops a copy within DEDUP_WINDOW_MS) and stays here until
 * JetStream acknowledges it.
 *
 * - **Streaming** (normal): each message is published as it comes, without
 *   waiting for the acknowledgements of the ones before (pipelined).
 * - **Recovering**: entered when a publish fails or the connection drops.
 *   After a failed publish nothing is published until nothing of the failed
 *   round is in flight and RETRY_MS has passed; after a drop, until
 *   reconnected, and then at once (no pause: the reconnect is the event to
 *   wait for, and what was in flight was abandoned, not failed). Then the
 *   oldest unacknowledged message is published alone (the probe); each time
 *   it fails it goes again RETRY_MS later, until JetStream takes it (stored,
 *   or a duplicate of what it already holds). Then streaming resumes from the next unacknowledged
 *   message, in order: the rest of the failed round, then what was queued.
 *
 * Why this keeps the order: over one connection JetStream stores what it
 * accepts in the order it was sent, so a message lands after a later one
 * only when it failed while the later one was in flight or sent afterwards.
 * Recovery sends nothing later before the oldest is stored, and a server
 * that just came back (its streams perhaps not loaded yet) gets one message
 * until it takes one. The in-flight window at a failure is kept short: at
 * most MAX_IN_FLIGHT publishes are in flight, and streaming pauses while the
 * oldest unacknowledged message has waited STALL_MS (a stream leader lost in a NATS cluster answers nothing; its
 * successor is elected seconds later, when nothing newer was sent). A
 * dropped connection abandons what was in flight: the NATS client discards
 * what it had not written when it reconnects, so nothing of the old
 * connection is stored behind a resend. What is left: a message refused
 * while a later one in flight at that instant is accepted (a stream leader
 * elected within the window, or an acknowledgement past ACK_TIMEOUT_MS on a
 * starved machine, when the first was in fact lost); the resend stores it
 * after the later one. Counted as `storedAhead` (only when the resend is
 * stored, not a duplicate: a timed-out message JetStream did store is in
 * order); edges then announce a `gap`.
 *
 * Bound: at most MAX_UNACKED messages and MAX_UNACKED_BYTES (payloads plus
 * ENTRY_BYTES each) wait; past either the oldest is dropped and counted
 * (`dropped`, `tickwire_cluster_outbox_dropped_total`): its seq is never
 * stored, and edges announce a `gap` for it.
 *
 * Fencing: each message has an owner (the feed's exchange) whose lease must
 * hold when the message goes out. A message of an owner that lost its lease
 * is never published (a standby has taken the exchange over and publishes
 * the same trades under its own term, with the same message ids: an old
 * leader's late copy would be stored, then dropped by edges as an old term,
 * and the new leader's deduplicated: lost). It is handed back through
 * `onFenced`, oldest first, and counted (`fenced`); `fence(owner)` does the
 * same at once for every waiting message of an owner. What was already in
 * flight when the lease ran out can still land: edges fence it by term.
 *
 * `sendToAck` measures each message from `send` to its acknowledgement (µs):
 * the feed's share of the NATS hop (/v1/status `cluster.outbox.sendToAck`),
 * split into `sendToPublish` (waiting here: for the turn's slice, the
 * in-flight window, a recovery) and `publishToAck` (its last publish → the
 * acknowledgement: the client's write, nats-server, the reply read back).
 */
import type { OutboxStatus } from '../model/status.ts';
import { newLatencyHistogram } from '../reader/pump.ts';
import type { ClusterConnection } from './nats.ts';
import type { AckedSend, AckReceiver } from './acked-publisher.ts';
import type { Stamp } from './stamp-headers.ts';

/** Messages waiting for their acknowledgement, at most. */
export const MAX_UNACKED = 100_000;
/** Bytes of the messages waiting for their acknowledgement, at most (payloads plus ENTRY_BYTES each). */
export const MAX_UNACKED_BYTES = 64 * 1024 * 1024;
/** What one waiting message costs besides its payload (its record, subject and stamp), bytes; an estimate. */
const ENTRY_BYTES = 512;
/** Pause before publishing again after a failure, ms. */
const RETRY_MS = 250;
/** How long an acknowledgement may take, ms (the publisher's timeout: acked-publisher.ts). */
export const ACK_TIMEOUT_MS = 5_000;
/** Streaming pauses while the oldest unacknowledged message has waited this long, ms (far above a loaded machine's round trip). */
const STALL_MS = 1_000;
/**
 * Publishes in flight at most while streaming. Without a window a backlog
 * (30,000 messages queued during a stall) went out at once and its last
 * acknowledgements came after ACK_TIMEOUT_MS: 5,200 false failures, all
 * resent as duplicates, drained in 14 s; with 4,096 (or 1,024): no failure,
 * drained in 9.5 s (8.8 s) (one process publishing 30,000 trades at once to
 * a local nats-server, load average 17 on 2 cores). The window also caps
 * throughput at 4,096 per round trip: a loaded feed process saw 300 ms
 * round trips at 6,500 messages/s, which 1,024 could not carry.
 */
export const MAX_IN_FLIGHT = 4_096;
/**
 * Publishes per turn of the event loop at most while streaming; the rest
 * go on the next turn (setImmediate), after the I/O that waited: JetStream's
 * acknowledgements and the lease's renewals (lease.ts), whose reply a long
 * turn left unread until the lease ran out. A 6× burst of the simulated
 * market at 2,000 trades/s on a loaded machine let one turn publish
 * thousands of messages and held the loop for seconds: the lease lapsed
 * twice in one run (10,603 messages fenced and published again after the
 * stream was read anew), bench/cluster.ts. Slices keep the order.
 */
export const FLUSH_SLICE = 256;

/** A message's state. */
const UNSENT = 0; // never published, or its publish failed
const IN_FLIGHT = 1;
const DONE = 2; // acknowledged, or dropped past the bound

interface Pending {
  /** Position in the order of `send` calls (never reused). */
  readonly id: number;
  /** Whose lease must hold for it to go out (the exchange). */
  readonly owner: string;
  readonly subject: string;
  readonly data: Uint8Array;
  /** Its headers: term, seq, message id. */
  readonly stamp: Stamp;
  /** What it counts against MAX_UNACKED_BYTES. */
  readonly bytes: number;
  state: number;
  /** performance.now() of its `send`. */
  readonly queuedAt: number;
  /** performance.now() of its last publish. */
  sentAt: number;
}

/** What the outbox counts (documented in OutboxStatus). */
export type OutboxCounters = Omit<OutboxStatus, 'unacked' | 'unackedBytes' | 'recovering' | 'sendToAck' | 'inboxFailures'>;

/** A message given back unpublished because its owner's lease ran out. */
export interface FencedMessage {
  readonly owner: string;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly stamp: Stamp;
}

/**
 * Who may publish: `valid(owner, now)` is checked as each message goes out
 * (`now`: performance.now() of the send, read once per flush, not per
 * message); `onFenced` gets what may not, oldest first.
 */
export interface OutboxFencing {
  valid(owner: string, now: number): boolean;
  onFenced(m: FencedMessage): void;
}

/** No fencing: every owner may always publish. */
const UNFENCED: OutboxFencing = { valid: () => true, onFenced: () => undefined };

/** streaming; settling: recovering, waiting for the failed round and the pause; probing: one message alone until taken. */
type Phase = 'streaming' | 'settling' | 'probing';

/** In-order, acknowledged publishing; see the module comment. */
export class Outbox {
  readonly counters: OutboxCounters = { acked: 0, duplicates: 0, failures: 0, recoveries: 0, dropped: 0, storedAhead: 0, fenced: 0 };
  /** `send` → acknowledgement, µs. */
  readonly sendToAck = newLatencyHistogram();
  /** `send` → its first publish, µs. */
  readonly sendToPublish = newLatencyHistogram();
  /** Last publish → acknowledgement, µs. */
  readonly publishToAck = newLatencyHistogram();
  readonly #js: AckedSend;
  /** How each publish ends (acked-publisher.ts): the message and the generation it was published in come back with it. */
  readonly #receiver: AckReceiver<Pending> = {
    acked: (p, gen, duplicate) => this.#acked(p, gen, duplicate),
    failed: (p, gen) => this.#failed(p, gen),
  };
  /** Unacknowledged messages in send order (`#head` is the first live index; done ones before it are cleared). */
  #queue: (Pending | undefined)[] = [];
  #head = 0;
  /** Index of the first message not published since the last recovery (streaming publishes from here). */
  #next = 0;
  #ids = 0;
  #count = 0;
  #bytes = 0;
  #phase: Phase = 'streaming';
  /** Publishes of older generations were abandoned (a dropped connection): their outcomes mean nothing. */
  #gen = 0;
  /** Publishes of the current generation in flight. */
  #inFlight = 0;
  #connected = true;
  /** Streaming paused by STALL_MS or MAX_IN_FLIGHT; the next acknowledgement resumes it. */
  #stalled = false;
  /** Subject → the newest message id stored while settling: a resend of an older one stored afresh is out of order. */
  readonly #storedAhead = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  /** Published in this turn of the event loop (FLUSH_SLICE at most). */
  #sliceUsed = 0;
  /** Ends the turn's slice: set by its first publish. */
  #sliceEnd: NodeJS.Immediate | undefined;
  #closed = false;
  readonly #offConnection: () => void;
  readonly #fencing: OutboxFencing;

  /**
   * `js`: what publishes and tells the outbox of JetStream's acknowledgement (acked-publisher.ts), failing after ACK_TIMEOUT_MS.
   * `onConnection`: the cluster connection's hook (nats.ts): a drop starts a recovery, a reconnect resumes it.
   * `fencing`: whose messages may go out (see the module comment); default: everyone's.
   */
  constructor(js: AckedSend, onConnection: ClusterConnection['onConnection'], fencing: OutboxFencing = UNFENCED) {
    this.#js = js;
    this.#fencing = fencing;
    this.#offConnection = onConnection((up) => (up ? this.#reconnected() : this.#disconnected()));
  }

  /** Messages waiting for their acknowledgement. */
  get unacked(): number {
    return this.#count;
  }

  /** What the waiting messages count against MAX_UNACKED_BYTES. */
  get unackedBytes(): number {
    return this.#bytes;
  }

  /** True while recovering from a failure or a dropped connection (new messages wait). */
  get recovering(): boolean {
    return this.#phase !== 'streaming';
  }

  /** Publish `data` on `subject` for `owner` with `stamp`'s headers (kept until acknowledged: pass a copy the caller will not reuse). */
  send(owner: string, subject: string, data: Uint8Array, stamp: Stamp): void {
    const bytes = data.byteLength + ENTRY_BYTES;
    while (this.#count > 0 && (this.#count >= MAX_UNACKED || this.#bytes + bytes > MAX_UNACKED_BYTES)) this.#dropOldest();
    this.#queue.push({ id: this.#ids++, owner, subject, data, stamp, bytes, state: UNSENT, queuedAt: performance.now(), sentAt: 0 });
    this.#count++;
    this.#bytes += bytes;
    if (this.#phase === 'streaming') this.#flush();
    else this.#progress();
  }

  /** `owner` lost its lease: give back every message of it not yet published (oldest first, through `onFenced`). */
  fence(owner: string): void {
    const q = this.#queue;
    for (let i = this.#head; i < q.length; i++) {
      const p = q[i];
      if (p !== undefined && p.owner === owner && p.state === UNSENT) this.#giveBack(p);
    }
    this.#progress();
  }

  /** Stop publishing; what is unacknowledged stays so. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearImmediate(this.#sliceEnd);
    this.#offConnection();
  }

  /** Streaming: publish every message not yet published, in order, unless the oldest waits too long; FLUSH_SLICE a turn. */
  #flush(): void {
    const now = performance.now();
    // this.#queue each time: a message given back may compact it (#done).
    while (this.#next < this.#queue.length && !this.#closed) {
      if (this.#sliceUsed === FLUSH_SLICE) return; // the rest goes when the turn's slice ends (#endSlice)
      const q = this.#queue;
      const oldest = q[this.#head];
      if (this.#inFlight >= MAX_IN_FLIGHT || (oldest !== undefined && oldest.state === IN_FLIGHT && now - oldest.sentAt > STALL_MS)) {
        this.#stalled = true;
        return;
      }
      const p = q[this.#next++];
      if (p === undefined || p.state !== UNSENT) continue;
      if (this.#fencing.valid(p.owner, now)) {
        this.#publish(p, now);
        if (this.#sliceUsed++ === 0) this.#sliceEnd = setImmediate(this.#endSlice);
      } else this.#giveBack(p);
    }
  }

  /** The next turn: a new slice; what waited for it goes now. */
  readonly #endSlice = (): void => {
    this.#sliceEnd = undefined;
    this.#sliceUsed = 0;
    if (this.#phase === 'streaming') this.#flush();
  };

  #publish(p: Pending, now: number): void {
    if (p.sentAt === 0) this.sendToPublish.recordValue(Math.max(1, Math.round((now - p.queuedAt) * 1000)));
    p.state = IN_FLIGHT;
    p.sentAt = now;
    const gen = this.#gen;
    this.#inFlight++;
    this.#js.send(p.subject, p.data, p.stamp, this.#receiver, p, gen);
  }

  #acked(p: Pending, gen: number, duplicate: boolean): void {
    const current = gen === this.#gen;
    if (current) this.#inFlight--;
    if (p.state !== DONE) this.#settle(p, duplicate);
    if (this.#phase === 'streaming') {
      if (this.#stalled) {
        this.#stalled = false;
        this.#flush();
      }
    } else if (this.#phase === 'probing' && current) {
      // JetStream takes messages again: stream the rest, in order, from the oldest unacknowledged.
      this.#phase = 'streaming';
      this.#next = this.#head;
      this.#flush();
    } else this.#progress();
  }

  #settle(p: Pending, duplicate: boolean): void {
    const now = performance.now();
    this.sendToAck.recordValue(Math.max(1, Math.round((now - p.queuedAt) * 1000)));
    this.publishToAck.recordValue(Math.max(1, Math.round((now - p.sentAt) * 1000)));
    if (duplicate) this.counters.duplicates++;
    else {
      this.counters.acked++;
      const ahead = this.#storedAhead.get(p.subject);
      if (this.#phase === 'settling') {
        if (ahead === undefined || p.id > ahead) this.#storedAhead.set(p.subject, p.id);
      } else if (ahead !== undefined && p.id < ahead) this.counters.storedAhead++;
    }
    this.#done(p);
  }

  #failed(p: Pending, gen: number): void {
    if (gen !== this.#gen || this.#closed) return; // abandoned with its connection: published again anyway
    this.#inFlight--;
    this.counters.failures++;
    if (p.state === IN_FLIGHT) p.state = UNSENT;
    if (this.#phase === 'streaming') this.#recover();
    else if (this.#phase === 'probing') this.#phase = 'settling';
    this.#pause();
    this.#progress();
  }

  /** Stop streaming: nothing new is published until the probe is taken. */
  #recover(): void {
    this.counters.recoveries++;
    this.#phase = 'settling';
    this.#stalled = false;
    this.#storedAhead.clear();
  }

  #pause(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#progress();
    }, RETRY_MS);
    this.#timer.unref();
  }

  /** Settling: once nothing is in flight, connected and the pause is over, publish the oldest unacknowledged message alone. */
  #progress(): void {
    if (this.#phase !== 'settling' || this.#closed) return;
    if (this.#inFlight > 0 || !this.#connected || this.#timer !== undefined) return;
    const now = performance.now();
    let p = this.#queue[this.#head];
    while (p !== undefined && !this.#fencing.valid(p.owner, now)) {
      this.#giveBack(p);
      p = this.#queue[this.#head];
    }
    if (p === undefined) return; // nothing waits: the next `send` is the probe
    this.#phase = 'probing';
    this.#publish(p, now);
  }

  #disconnected(): void {
    this.#connected = false;
    if (this.#phase === 'streaming') this.#recover();
    else this.#phase = 'settling';
    // What was in flight is abandoned (the client discards what it had not written once it reconnects): publish it again.
    this.#gen++;
    this.#inFlight = 0;
    const q = this.#queue;
    for (let i = this.#head; i < this.#next && i < q.length; i++) if (q[i]?.state === IN_FLIGHT) q[i]!.state = UNSENT;
  }

  #reconnected(): void {
    this.#connected = true;
    this.#progress();
  }

  #done(p: Pending): void {
    p.state = DONE;
    this.#count--;
    this.#bytes -= p.bytes;
    const q = this.#queue;
    while (this.#head < q.length && (q[this.#head] === undefined || q[this.#head]!.state === DONE)) q[this.#head++] = undefined;
    if (this.#next < this.#head) this.#next = this.#head;
    // Compact now and then: the array only grows otherwise.
    if (this.#head > 4096 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#next -= this.#head;
      this.#head = 0;
    }
  }

  /** Not published: its owner's lease ran out. */
  #giveBack(p: Pending): void {
    this.counters.fenced++;
    this.#done(p);
    this.#fencing.onFenced(p);
  }

  #dropOldest(): void {
    const p = this.#queue[this.#head]!; // the head is live whenever #count > 0
    this.counters.dropped++;
    this.#done(p);
  }
}
