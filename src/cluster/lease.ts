/**
 * A feed's lease on publishing one exchange (docs/scale-out.md, "Feed
 * failover"): a key in the cluster's JetStream KV bucket whose TTL is the
 * lease. Of the feeds configured for an exchange, the one whose `create` of
 * the key succeeds leads; it renews the key every third of the TTL with a
 * compare-and-set on the revision it holds. The others stand by and try to
 * create the key a few times a second, which succeeds once the key expired
 * (the leader died or lost NATS) or was deleted (the leader stopped).
 *
 * Fencing: the revision at which the key was created is the leader's term;
 * every message it publishes carries it (subjects.ts `Header.TERM`) and
 * edges drop messages of a term older than one they have seen. A leader
 * also stops by itself: it holds the lease only until its last successful
 * renewal was sent plus the TTL less a margin (`valid()`), checked before
 * every publish, so a paused process that wakes up after losing the lease
 * publishes nothing; its next renewal then fails on the revision and it
 * stands by. A renewal that merely came back late (a loaded machine) and
 * still found its revision proves nobody took the lease: the owner hears
 * `renewed` and resumes, reading what was published first (feed-node.ts).
 */
import type { KV } from '@nats-io/kv';

/** What the owner hears: the lease was acquired (at `term`), renewed, or lost (why). */
export interface LeaseListener {
  acquired(term: number): void;
  /** A renewal succeeded: `valid()` holds again if it had lapsed (a slow round trip, a stalled event loop). */
  renewed(term: number): void;
  lost(reason: string): void;
}

const encoder = new TextEncoder();

/** One exchange's lease, held or waited for; see the module comment. */
export class FeedLease {
  readonly key: string;
  /** The revision the lease was acquired at while held; null while standing by. */
  term: number | null = null;
  /** When it was acquired (ms since epoch); null while standing by. */
  since: number | null = null;
  readonly #kv: KV;
  readonly #value: Uint8Array;
  readonly #ttlMs: number;
  readonly #listener: LeaseListener;
  /** Revision of the last successful create or renewal. */
  #revision = 0;
  /** performance.now() until which the lease is surely ours. */
  #validUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #busy = false;

  constructor(kv: KV, key: string, node: string, ttlMs: number, listener: LeaseListener) {
    this.#kv = kv;
    this.key = key;
    this.#value = encoder.encode(JSON.stringify({ node }));
    this.#ttlMs = ttlMs;
    this.#listener = listener;
  }

  /** How long before its expiry a leader stops publishing: clocks may run at slightly different rates. */
  get #margin(): number {
    return Math.max(200, this.#ttlMs / 10);
  }

  /** Begin: try to acquire now, then keep renewing or waiting. */
  start(): void {
    this.#schedule(0);
  }

  /** True while this process holds the lease for sure: check before every publish. */
  valid(now = performance.now()): boolean {
    return this.term !== null && now < this.#validUntil;
  }

  /** performance.now() (this thread's) until which the lease surely holds; 0 while standing by. */
  get validUntil(): number {
    return this.term === null ? 0 : this.#validUntil;
  }

  /** Stop; a leader deletes the key so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (this.term === null) return;
    this.term = null;
    // Only if it is still ours: a compare-and-set on the revision we hold.
    await this.#kv.delete(this.key, { previousSeq: this.#revision }).catch(() => undefined);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#step(), ms);
    this.#timer.unref();
  }

  /** Standing by: a few tries a second; leading: every quarter of the TTL. */
  #next(): number {
    return this.term === null ? Math.min(250, this.#ttlMs / 8) : this.#ttlMs / 4;
  }

  async #step(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      if (this.term === null) await this.#tryAcquire();
      else await this.#renew();
    } finally {
      this.#busy = false;
      this.#schedule(this.#next());
    }
  }

  async #tryAcquire(): Promise<void> {
    const sent = performance.now();
    let rev: number;
    try {
      rev = await this.#kv.create(this.key, this.#value);
    } catch {
      return; // held by another feed, or NATS unreachable: try again later
    }
    if (this.#stopped) {
      await this.#kv.delete(this.key, { previousSeq: rev }).catch(() => undefined);
      return;
    }
    this.#revision = rev;
    this.#validUntil = sent + this.#ttlMs - this.#margin;
    this.term = rev;
    this.since = Date.now();
    this.#listener.acquired(rev);
  }

  async #renew(): Promise<void> {
    const sent = performance.now();
    try {
      this.#revision = await this.#kv.update(this.key, this.#value, this.#revision);
    } catch (err) {
      const why = (err as Error).message;
      // A wrong revision: another feed holds it now (or it expired). Anything else (timeout, disconnected):
      // keep trying; `valid()` stops the publishing meanwhile once the TTL runs out.
      if (/wrong last sequence/i.test(why)) this.#lose(`lease taken over or expired (${why})`);
      return;
    }
    if (this.#stopped || this.term === null) return;
    this.#validUntil = sent + this.#ttlMs - this.#margin;
    this.#listener.renewed(this.term);
  }

  #lose(reason: string): void {
    this.term = null;
    this.since = null;
    this.#validUntil = 0;
    this.#listener.lost(reason);
  }
}
