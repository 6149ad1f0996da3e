/**
 * Work of `/v1/stream` connections spread over event-loop turns, so that no
 * connection holds the main thread long: the slices of a subscribe's
 * snapshots (snapshots.ts), then the requests that connection sent
 * meanwhile, one per turn.
 *
 * One `setImmediate` at a time, one connection's step per turn, round robin:
 * callbacks already queued for a turn all run before I/O is polled again, so
 * one per turn is what lets other clients' messages (a ping) in between.
 * Each step is timed like a request (`tickwire_ws_request_seconds`, op
 * `snapshot`).
 */
import type { Conn } from './stream-conn.ts';

/** Runs one step of a connection's work per turn; `step` says whether it has more. */
export class Turns {
  readonly #step: (conn: Conn) => boolean;
  readonly #measured: (ms: number) => void;
  readonly #waiting: Conn[] = [];
  readonly #queued = new Set<Conn>();
  #scheduled = false;
  #stopped = false;

  constructor(step: (conn: Conn) => boolean, measured: (ms: number) => void) {
    this.#step = step;
    this.#measured = measured;
  }

  /** `conn` has work (no-op when it is already waiting). */
  add(conn: Conn): void {
    if (this.#queued.has(conn) || this.#stopped) return;
    this.#queued.add(conn);
    this.#waiting.push(conn);
    this.#schedule();
  }

  /** Connections with work waiting. */
  get size(): number {
    return this.#queued.size;
  }

  /** No more turns (the server is closing). */
  stop(): void {
    this.#stopped = true;
    this.#waiting.length = 0;
    this.#queued.clear();
  }

  #schedule(): void {
    if (this.#scheduled || this.#waiting.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => this.#turn());
  }

  #turn(): void {
    this.#scheduled = false;
    const conn = this.#waiting.shift();
    if (conn === undefined) return;
    let more = false;
    if (!conn.closed) {
      const wall = performance.now();
      const cpu = process.cpuUsage();
      more = this.#step(conn);
      const used = process.cpuUsage(cpu);
      this.#measured(Math.min(performance.now() - wall, (used.user + used.system) / 1000));
    }
    if (more && !conn.closed && !this.#stopped) this.#waiting.push(conn);
    else this.#queued.delete(conn);
    this.#schedule();
  }
}
