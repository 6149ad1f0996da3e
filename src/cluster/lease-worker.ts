/**
 * A feed's lease thread (docs/scale-out.md "Feed failover"): its exchanges'
 * leases (lease.ts) acquired and renewed here, on a NATS connection of this
 * thread's own, so a long turn of the feed's main thread (a burst drained
 * and published, a GC pause) cannot leave a renewal's reply unread until the
 * lease runs out. The main thread (lease-thread.ts) reads each lease's term
 * and validity from shared memory (lease-state.ts) before every publish and
 * hears of acquisitions, renewals and losses by message.
 *
 * A process that dies takes this thread with it: its leases expire after
 * their TTL and a standby takes over, as before. A main thread that is alive
 * but hung would otherwise keep its leases forever while publishing nothing,
 * so this thread watches its heartbeat: no beat for `stallMs` (10 lease TTLs
 * by default, lease-thread.ts) and it gives every lease up (the key deleted
 * by revision: a standby takes over at once) and stands by; when the main
 * thread beats again, it competes for the leases again.
 */
import type { MessagePort } from 'node:worker_threads';
import type { ClusterConfig } from '../config/types.ts';
import { FeedLease } from './lease.ts';
import { LeaseState } from './lease-state.ts';
import { openLeaseBucket, type LeaseBucket } from './nats.ts';

/** What the main thread starts the lease thread with. */
export interface LeaseWorkerData {
  cluster: ClusterConfig;
  /** This process's name in lease values (feed-node.ts `nodeName`). */
  node: string;
  /** Each exchange's lease key, by its index in the shared state. */
  keys: string[];
  /** No heartbeat from the main thread for this long: it is hung, its leases are given up (ms). */
  stallMs: number;
  /** lease-state.ts */
  state: SharedArrayBuffer;
}

/** Lease thread → main thread (`i`: the exchange's index). */
export type LeaseWorkerMessage =
  | { type: 'acquired'; i: number; term: number; since: number }
  | { type: 'renewed'; i: number; term: number }
  | { type: 'lost'; i: number; reason: string }
  | { type: 'stopped' };

/** Main thread → lease thread. */
export type LeaseWorkerCommand = { type: 'stop' };

/** How often the main thread's heartbeat is read, ms. */
const WATCH_MS = 250;
/** Pause before connecting again when NATS could not be reached, ms. */
const RETRY_MS = 1_000;

/** Run the lease thread until told to stop (then every held lease is handed over). */
export function runLeaseWorker(data: LeaseWorkerData, port: MessagePort): void {
  const state = new LeaseState(data.state, data.keys.length);
  // performance.now() here → nowMs(), the clock the main thread compares with (src/model/clock.ts).
  const origin = performance.timeOrigin;
  const post = (m: LeaseWorkerMessage): void => port.postMessage(m);
  let bucket: LeaseBucket | undefined;
  let leases: FeedLease[] = [];
  let stopping = false;
  let stalled = false;
  let beat = state.heartbeat();
  let beatAt = performance.now();

  const compete = (b: LeaseBucket): void => {
    leases = data.keys.map((key, i) => {
      const lease: FeedLease = new FeedLease(b.kv, key, data.node, data.cluster.leaseTtlMs, {
        acquired: (term) => {
          state.set(i, term, origin + lease.validUntil);
          post({ type: 'acquired', i, term, since: lease.since ?? Date.now() });
        },
        renewed: (term) => {
          state.set(i, term, origin + lease.validUntil);
          post({ type: 'renewed', i, term });
        },
        lost: (reason) => {
          state.set(i, 0, 0);
          post({ type: 'lost', i, reason });
        },
      });
      lease.start();
      return lease;
    });
  };

  /** Hand every held lease over (the key deleted by revision) and stand by. */
  const giveUp = async (reason: string): Promise<void> => {
    const held = leases;
    leases = [];
    await Promise.all(
      held.map(async (lease, i) => {
        const wasHeld = lease.term !== null;
        state.set(i, 0, 0);
        await lease.stop();
        if (wasHeld) post({ type: 'lost', i, reason });
      }),
    );
  };

  const watch = setInterval(() => {
    const now = performance.now();
    const b = state.heartbeat();
    if (b !== beat) {
      beat = b;
      beatAt = now;
      if (stalled && bucket !== undefined && !stopping) {
        stalled = false;
        compete(bucket);
      }
    } else if (!stalled && now - beatAt > data.stallMs) {
      stalled = true;
      void giveUp(`the main thread has not run for ${Math.round((now - beatAt) / 1000)} s: taken as hung, the lease is handed over`);
    }
  }, WATCH_MS);

  const connect = async (): Promise<void> => {
    while (!stopping) {
      try {
        bucket = await openLeaseBucket(data.cluster, `${data.node} (leases)`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
    if (stopping) return;
    if (!stalled) compete(bucket!);
  };
  const connected = connect();

  port.on('message', (cmd: LeaseWorkerCommand) => {
    if (cmd.type !== 'stop' || stopping) return;
    stopping = true;
    clearInterval(watch);
    void (async () => {
      await connected;
      await giveUp('stopped: the lease is handed over');
      if (bucket !== undefined && !bucket.nc.isClosed()) await bucket.nc.drain().catch(() => bucket!.nc.close());
      post({ type: 'stopped' });
      port.close();
    })();
  });
}
