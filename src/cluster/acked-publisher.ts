/**
 * JetStream publishing with acknowledgements, without the client's request
 * machinery (the feed's outbox publishes through it, outbox.ts).
 *
 * `js.publish` makes every message a request: a mux entry, a timer, a
 * promise chain and two `Error` objects built for their stack traces (one
 * for an eventual timeout, one to reject the settled request with). On a
 * `--role feed` process at 2,000 trades/s the two error constructors alone
 * took 26% of the main thread's busy time (CPU profile, docs/scale-out.md
 * "Benchmarks"), the time a trade then waits for the thread.
 *
 * Here a message is an ordinary publish whose reply subject is this
 * publisher's inbox plus a number (`<inbox>.<n>`): JetStream answers there
 * with its acknowledgement (`{"stream":…,"seq":…,"duplicate":true?}`), an
 * error (`{"error":{…}}`) or, when no stream takes the subject, the server's
 * 503 status. One subscription takes every answer and tells its message's
 * receiver (`send`: no promise, no closure per message, the outbox's way)
 * or settles its promise (`publish`, built on `send`). A failure found
 * inside `send` (closed, inbox lost, a publish the client refused) is told
 * on a later microtask, never during the call: the caller's loop of sends is
 * not re-entered. A message unanswered after `timeoutMs` fails; one timer sweeps
 * every SWEEP_MS, oldest first (answers are awaited in send order).
 * Answers to messages already failed (late, or abandoned with a dropped
 * connection) are ignored.
 *
 * Inbox lost: the server can refuse or close the reply subscription (a
 * permissions error on the inbox subject). Then no answer can come: what
 * waits fails at once with InboxLostError, and so does every publish until
 * the subscription is made again, tried every RESUBSCRIBE_MS while the
 * connection is open. Each loss is counted (`inboxFailures`: /v1/status
 * `cluster.outbox.inboxFailures`); the first of a run is logged, not the
 * refusals of the retries (logged again only after an answer came through).
 *
 * Bound: what waits is what the caller has in flight (the outbox keeps at
 * most MAX_IN_FLIGHT, outbox.ts) plus what a dropped connection abandoned,
 * which expires after `timeoutMs`.
 */
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { StampHeaders, type Stamp } from './stamp-headers.ts';

/** Pause before making a lost reply subscription again, ms. */
const RESUBSCRIBE_MS = 1_000;
/** How often unanswered messages are checked against the timeout, ms. */
const SWEEP_MS = 250;

/** JetStream's acknowledgement as the outbox reads it. */
export interface Ack {
  readonly duplicate: boolean;
}

/** Who hears how a message given to `send` ended, with the `item` and `tag` it was sent with. */
export interface AckReceiver<T> {
  /** JetStream stored it (`duplicate`: it had it already, by message id). */
  acked(item: T, tag: number, duplicate: boolean): void;
  failed(item: T, tag: number, err: Error): void;
}

/** Publishing whose acknowledgement is told to a receiver, headers written from `stamp` (stamp-headers.ts): what the outbox needs. */
export interface AckedSend {
  send<T>(subject: string, data: Uint8Array, stamp: Stamp, receiver: AckReceiver<T>, item: T, tag: number): void;
}

interface Waiting {
  readonly receiver: AckReceiver<unknown>;
  readonly item: unknown;
  readonly tag: number;
  /** performance.now() after which it fails. */
  readonly deadline: number;
}

const STORED: Ack = { duplicate: false };
const DUPLICATE: Ack = { duplicate: true };

/** `publish`'s receiver: the item is the promise's settlers. */
interface Settlers {
  resolve(ack: Ack): void;
  reject(err: Error): void;
}
const SETTLE: AckReceiver<Settlers> = {
  acked: (s, _tag, duplicate) => s.resolve(duplicate ? DUPLICATE : STORED),
  failed: (s, _tag, err) => s.reject(err),
};

/** What a message sent after `close()`, or one waiting at `close()`, fails with. */
export class PublisherClosedError extends Error {
  constructor() {
    super('publisher closed');
    this.name = 'PublisherClosedError';
  }
}

/** What waits, or is published, while the reply subscription is lost (see the module comment). */
export class InboxLostError extends Error {
  constructor(cause: Error) {
    super(`acknowledgement inbox lost: ${cause.message}`, { cause });
    this.name = 'InboxLostError';
  }
}


/** See the module comment. */
export class AckedPublisher implements AckedSend {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #prefix: string;
  /** The reply subscription; undefined while lost. */
  #sub: Subscription | undefined;
  /** Why it was lost, while it is. */
  #lostBy: Error | undefined;
  #resubscribe: NodeJS.Timeout | undefined;
  #inboxFailures = 0;
  /** The current run of losses was logged. */
  #logged = false;
  readonly #log: (line: string) => void;
  readonly #timeoutMs: number;
  /** Reply number → its message's promise, in send order. */
  readonly #waiting = new Map<number, Waiting>();
  #next = 0;
  #closed = false;
  readonly #sweep: NodeJS.Timeout;

  /** Publish on `nc`; a message unanswered after `timeoutMs` fails. `log`: where a lost inbox is reported. */
  constructor(nc: NatsConnection, timeoutMs: number, log: (line: string) => void = (line) => console.error(line)) {
    this.#nc = nc;
    this.#timeoutMs = timeoutMs;
    this.#log = log;
    this.#inbox = createInbox();
    this.#prefix = `${this.#inbox}.`;
    this.#subscribe();
    this.#sweep = setInterval(() => this.#expire(), SWEEP_MS);
    this.#sweep.unref();
  }

  /** Times the reply subscription was refused or closed by the server (retries included). */
  get inboxFailures(): number {
    return this.#inboxFailures;
  }

  /** Messages waiting for their answer. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** Publish `data` on `subject` with the headers of `stamp` (its msgID for de-duplication); tell `receiver` how it ended, with `item` and `tag`. */
  send<T>(subject: string, data: Uint8Array, stamp: Stamp, receiver: AckReceiver<T>, item: T, tag: number): void {
    // Nothing would take its answer or time it out: it would never end.
    if (this.#closed) return later(receiver, item, tag, new PublisherClosedError());
    // No answer could come: fail now rather than after the timeout.
    if (this.#lostBy !== undefined) return later(receiver, item, tag, new InboxLostError(this.#lostBy));
    const n = this.#next++;
    try {
      this.#nc.publish(subject, data, { headers: new StampHeaders(stamp), reply: this.#prefix + n });
    } catch (err) {
      return later(receiver, item, tag, err as Error);
    }
    this.#waiting.set(n, { receiver: receiver as AckReceiver<unknown>, item, tag, deadline: performance.now() + this.#timeoutMs });
  }

  /** `send` as a promise: resolves when JetStream stored the message or had it already. */
  publish(subject: string, data: Uint8Array, stamp: Stamp): Promise<Ack> {
    return new Promise<Ack>((resolve, reject) => this.send(subject, data, stamp, SETTLE, { resolve, reject }, 0));
  }

  /** Stop taking answers; what waits fails, and so does every later publish (PublisherClosedError). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    clearTimeout(this.#resubscribe);
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    for (const w of this.#waiting.values()) w.receiver.failed(w.item, w.tag, new PublisherClosedError());
    this.#waiting.clear();
  }

  #subscribe(): void {
    this.#lostBy = undefined;
    let sub: Subscription;
    try {
      sub = this.#nc.subscribe(`${this.#inbox}.*`, {
        callback: (err, m) => {
          if (err === null) this.#answer(m);
          else this.#lost(sub, err);
        },
      });
    } catch (err) {
      // The connection is closed (or draining): nothing can be answered.
      this.#sub = undefined;
      this.#lostBy = err as Error;
      return;
    }
    this.#sub = sub;
    // Closed without an error by the client (e.g. the connection closed), not by close().
    void sub.closed.then((err) => this.#lost(sub, err ?? new Error('inbox subscription closed')));
  }

  /** The server refused or closed `sub`: fail what waits, count, log the first of a run, subscribe again later. */
  #lost(sub: Subscription, err: Error): void {
    if (this.#closed || this.#sub !== sub) return; // closed by close(), or an older subscription
    this.#sub = undefined;
    this.#lostBy = err;
    this.#inboxFailures++;
    if (!this.#logged) {
      this.#logged = true;
      this.#log(`tickwire: JetStream acknowledgement inbox lost (${err.message}); publishes fail until it is subscribed again (retried every ${RESUBSCRIBE_MS} ms)`);
    }
    const failure = new InboxLostError(err);
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.receiver.failed(w.item, w.tag, failure);
    this.#resubscribe = setTimeout(() => {
      this.#resubscribe = undefined;
      if (this.#closed || this.#nc.isClosed()) return;
      this.#subscribe();
    }, RESUBSCRIBE_MS);
    this.#resubscribe.unref();
  }

  #answer(m: Msg): void {
    this.#logged = false; // answers come through: a later loss is news
    const n = Number(m.subject.slice(this.#prefix.length));
    const w = this.#waiting.get(n);
    if (w === undefined) return; // failed already
    this.#waiting.delete(n);
    if (m.headers?.hasError === true) return w.receiver.failed(w.item, w.tag, new Error(`no stream took it (${m.headers.code} ${m.headers.description})`));
    let ack: { stream?: unknown; duplicate?: unknown; error?: { description?: unknown } };
    try {
      ack = m.json();
    } catch {
      return w.receiver.failed(w.item, w.tag, new Error('unreadable JetStream acknowledgement'));
    }
    if (ack.error !== undefined) return w.receiver.failed(w.item, w.tag, new Error(`JetStream refused it: ${String(ack.error.description)}`));
    if (typeof ack.stream !== 'string') return w.receiver.failed(w.item, w.tag, new Error('JetStream acknowledgement without a stream'));
    w.receiver.acked(w.item, w.tag, ack.duplicate === true);
  }

  /** Fail what waited past its deadline (the oldest first; stop at the first still in time). */
  #expire(): void {
    const now = performance.now();
    for (const [n, w] of this.#waiting) {
      if (w.deadline > now) return;
      this.#waiting.delete(n);
      w.receiver.failed(w.item, w.tag, new Error(`no acknowledgement within ${this.#timeoutMs} ms`));
    }
  }
}

/** Tell `receiver` of a failure found inside `send`, once the call has returned. */
function later<T>(receiver: AckReceiver<T>, item: T, tag: number, err: Error): void {
  queueMicrotask(() => receiver.failed(item, tag, err));
}
