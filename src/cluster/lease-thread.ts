/**
 * A feed's leases as its main thread holds them (docs/scale-out.md "Feed
 * failover"): the renewals run in a thread of their own (lease-worker.ts,
 * its own NATS connection); here, each exchange's `valid()` reads the
 * shared state (lease-state.ts) with no message and no wait, and the
 * owner's listener hears acquisitions, renewals and losses as the thread
 * reports them.
 *
 * Fencing stays exact across threads: `valid(exchange)` holds only while
 * the shared term is the one this thread was told it acquired and the
 * validity the lease thread computed (its last renewal sent, plus the TTL,
 * less the margin: lease.ts) has not passed. A lease lost or taken at a new
 * term while the main thread was busy fails `valid()` before the message
 * saying so is read.
 *
 * The main thread beats a heartbeat every HEARTBEAT_MS; a main thread with
 * no beat for `stallMs` (default STALL_TTLS lease TTLs) is taken as hung and
 * its leases handed over (lease-worker.ts). A lease thread that fails is
 * started again after RESPAWN_MS; its leases count as lost meanwhile.
 */
import { Worker } from 'node:worker_threads';
import type { ClusterConfig } from '../config/types.ts';
import { nowMs } from '../model/clock.ts';
import { workerScript } from '../model/worker-script.ts';
import type { LeaseListener } from './lease.ts';
import { allocateLeaseState, LeaseState } from './lease-state.ts';
import type { LeaseWorkerCommand, LeaseWorkerData, LeaseWorkerMessage } from './lease-worker.ts';

const SCRIPT = workerScript('lease-worker');

/** How often the main thread shows it runs, ms. */
const HEARTBEAT_MS = 250;
/** Default hung-main-thread bound, in lease TTLs (30 s at the default 3 s TTL). */
export const STALL_TTLS = 10;
/** Pause before starting a failed lease thread again, ms. */
const RESPAWN_MS = 1_000;
/** How long `stop` waits for the thread to hand its leases over, ms. */
const STOP_TIMEOUT_MS = 5_000;

/** One exchange's lease as the main thread sees it. */
interface Held {
  readonly exchange: string;
  readonly listener: LeaseListener;
  /** The term this thread was told it holds; null while standing by. */
  term: number | null;
  since: number | null;
}

/** Options beyond the cluster's config. */
export interface LeaseThreadOptions {
  /** No heartbeat for this long: the main thread is hung and its leases are handed over (ms). Default STALL_TTLS × the lease TTL. */
  stallMs?: number;
}

/** The leases of a feed's exchanges, renewed in a thread of their own; see the module comment. */
export class LeaseThread {
  readonly #state: LeaseState;
  readonly #held: Held[] = [];
  readonly #index = new Map<string, number>();
  readonly #data: LeaseWorkerData;
  #worker: Worker | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #respawn: NodeJS.Timeout | undefined;
  #stopping = false;

  /** `leases`: each exchange with its lease key and listener. Nothing runs before `start`. */
  constructor(cluster: ClusterConfig, node: string, leases: readonly { exchange: string; key: string; listener: LeaseListener }[], options: LeaseThreadOptions = {}) {
    const buffer = allocateLeaseState(leases.length);
    this.#state = new LeaseState(buffer, leases.length);
    leases.forEach((l, i) => {
      this.#held.push({ exchange: l.exchange, listener: l.listener, term: null, since: null });
      this.#index.set(l.exchange, i);
    });
    this.#data = { cluster, node, keys: leases.map((l) => l.key), stallMs: options.stallMs ?? STALL_TTLS * cluster.leaseTtlMs, state: buffer };
  }

  /** Start the lease thread (it acquires or waits for each lease) and the heartbeat. */
  start(): void {
    this.#heartbeat = setInterval(() => this.#state.beat(), HEARTBEAT_MS);
    this.#heartbeat.unref();
    this.#spawn();
  }

  /** True while `exchange`'s lease surely holds (`now`: this thread's performance.now()); check before every publish. */
  valid(exchange: string, now?: number): boolean {
    const i = this.#index.get(exchange);
    if (i === undefined) return false;
    const term = this.#held[i]!.term;
    return term !== null && this.#state.holds(i, term, now === undefined ? nowMs() : performance.timeOrigin + now);
  }

  /** The term `exchange`'s lease is held under, or null while standing by. */
  term(exchange: string): number | null {
    const i = this.#index.get(exchange);
    return i === undefined ? null : this.#held[i]!.term;
  }

  /** When `exchange`'s lease was acquired (ms since epoch), or null while standing by. */
  since(exchange: string): number | null {
    const i = this.#index.get(exchange);
    return i === undefined ? null : this.#held[i]!.since;
  }

  /** Hand every held lease over (a standby takes over at once) and end the thread. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#respawn);
    for (const h of this.#held) h.term = null; // publishing stops now, whatever the thread still does
    const worker = this.#worker;
    if (worker === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      worker.on('message', (m: LeaseWorkerMessage) => m.type === 'stopped' && done());
      worker.once('exit', done);
      worker.postMessage({ type: 'stop' } satisfies LeaseWorkerCommand);
    });
    await worker.terminate();
  }

  #spawn(): void {
    const worker = new Worker(SCRIPT.url, { workerData: { ...this.#data, ...SCRIPT.data } });
    this.#worker = worker;
    worker.on('message', (m: LeaseWorkerMessage) => this.#heard(m));
    worker.on('error', (err) => this.#failed(worker, `lease thread failed: ${err.message}`));
    worker.on('exit', (code) => this.#failed(worker, `lease thread exited (code ${code})`));
  }

  #heard(m: LeaseWorkerMessage): void {
    if (this.#stopping || m.type === 'stopped') return;
    const h = this.#held[m.i]!;
    if (m.type === 'acquired') {
      h.term = m.term;
      h.since = m.since;
      h.listener.acquired(m.term);
    } else if (m.type === 'renewed') {
      if (h.term === m.term) h.listener.renewed(m.term);
    } else {
      const was = h.term;
      h.term = null;
      h.since = null;
      if (was !== null) h.listener.lost(m.reason);
    }
  }

  /** The thread is gone (not by `stop`): what it held counts as lost; a new one starts after RESPAWN_MS. */
  #failed(worker: Worker, reason: string): void {
    if (this.#stopping || this.#worker !== worker) return;
    this.#worker = undefined;
    for (const h of this.#held) {
      if (h.term === null) continue;
      h.term = null;
      h.since = null;
      h.listener.lost(reason);
    }
    this.#respawn = setTimeout(() => this.#spawn(), RESPAWN_MS);
    this.#respawn.unref();
  }
}
