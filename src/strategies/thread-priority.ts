/**
 * The strategy pool's threads at a low scheduling priority, so user code
 * yields the CPU to the gateway's main thread and its feed workers when they
 * compete for a core (a close at 100 strategies keeps a pool thread busy for
 * several ms while trades keep arriving).
 *
 * Linux only: there a thread's nice value is its own, set with
 * setpriority(PRIO_PROCESS, tid) (`os.setPriority(tid, nice)`), the thread's
 * id read from `/proc/thread-self`. On other systems the same call would
 * lower the whole process, the gateway with it, so it is not made. Each pool
 * thread lowers itself when it starts (workers/strategy-task.ts), then checks
 * that it took, on itself only: its own nice in `/proc/self/task/<tid>/stat`
 * is the one asked, the main thread's is what it was. The outcome is counted
 * in shared memory the main thread reads (StrategyPool.priority): a thread
 * that could not be lowered runs at the gateway's priority, and the gateway
 * warns at start and counts it in /metrics.
 *
 * Nice values only lower priority: an unprivileged process cannot raise a
 * thread back, which is why `pool.nice: 0` makes no call at all; and a
 * thread already at `pool.nice` or lower (a gateway started with `nice -n`)
 * is left as it is, never raised above the gateway (root could).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

/** The pool threads' nice value when the config leaves it open: the lowest priority. */
export const DEFAULT_NICE = 19;

/** The pool's priority counters (shared memory, written by pool threads): slots of an Int32Array. */
export const PRIORITY_LOWERED = 0;
export const PRIORITY_FAILED = 1;
/** The last failure's PriorityFailure. */
export const PRIORITY_LAST_FAILURE = 2;
/** Threads whose outcome is counted (lowered or failed), bumped after the outcome and notified: the main thread waits on it (StrategyPool.prioritiesChecked). */
export const PRIORITY_CHECKED = 3;
/** Int32 slots of the counters. */
export const PRIORITY_SLOTS = 4;

/** Why a pool thread kept the gateway's priority. */
export const PriorityFailure = { NONE: 0, UNSUPPORTED: 1, REFUSED: 2, NOT_VERIFIED: 3 } as const;
export type PriorityFailure = (typeof PriorityFailure)[keyof typeof PriorityFailure];

/** What each PriorityFailure means, for the start-up warning. */
export const PRIORITY_FAILURE_TEXT: Record<PriorityFailure, string> = {
  0: 'none',
  1: 'per-thread priorities are a Linux feature (elsewhere the call would lower the whole process)',
  2: 'the system refused setpriority on the thread',
  3: "the thread's nice value read back from /proc is not the one set, or the main thread's changed",
};

/** What the pool threads learn from the main thread (workerData.priority). */
export interface PriorityRequest {
  /** The nice value to run at (1 … 19); 0: leave the thread as it is. */
  nice: number;
  /** PRIORITY_SLOTS Int32 counters. */
  counters: Int32Array;
}

/** The thread id in a `/proc/thread-self` link (`<pid>/task/<tid>`); null when it is not one. */
export function threadIdFromLink(link: string): number | null {
  const m = /^(\d+)\/task\/(\d+)$/.exec(link);
  return m === null ? null : Number(m[2]);
}

/** The nice value in a `/proc/<pid>/task/<tid>/stat` line (field 19). */
export function niceFromStat(stat: string): number {
  // Fields after the command (which may hold spaces and parentheses): state is field 3, nice field 19.
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

/** The nice value of thread `tid` of this process, from /proc; NaN when it cannot be read. */
export function threadNice(tid: number): number {
  try {
    return niceFromStat(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8'));
  } catch {
    return NaN;
  }
}

/**
 * Lower the calling thread to `nice` and check that it took on this thread
 * only; the failure, or NONE. `platform`: the system's (a parameter so the
 * refusal elsewhere can be tested).
 */
export function lowerOwnPriority(nice: number, platform: NodeJS.Platform = os.platform()): PriorityFailure {
  if (platform !== 'linux') return PriorityFailure.UNSUPPORTED;
  let tid: number | null;
  try {
    tid = threadIdFromLink(readlinkSync('/proc/thread-self'));
  } catch {
    tid = null;
  }
  // Without its own id the call could only name the process.
  if (tid === null || tid === process.pid) return PriorityFailure.UNSUPPORTED;
  // Never above the priority the thread was born with (its creator's, the gateway's): with CAP_SYS_NICE
  // (root) a nice below the inherited one would be granted and put user code ahead of the gateway.
  const own = threadNice(tid);
  if (Number.isNaN(own)) return PriorityFailure.NOT_VERIFIED;
  if (own >= nice) return PriorityFailure.NONE; // already at that priority or lower: nothing to ask
  const mainBefore = threadNice(process.pid);
  try {
    os.setPriority(tid, nice);
  } catch {
    return PriorityFailure.REFUSED;
  }
  return threadNice(tid) === nice && threadNice(process.pid) === mainBefore ? PriorityFailure.NONE : PriorityFailure.NOT_VERIFIED;
}

/** A pool thread starting: apply `request` and count the outcome in its counters. */
export function applyPriority(request: PriorityRequest | undefined): void {
  if (request === undefined || request.nice === 0) return;
  const c = request.counters;
  const failure = lowerOwnPriority(request.nice);
  if (failure === PriorityFailure.NONE) Atomics.add(c, PRIORITY_LOWERED, 1);
  else {
    Atomics.store(c, PRIORITY_LAST_FAILURE, failure);
    Atomics.add(c, PRIORITY_FAILED, 1);
  }
  // After the outcome: a reader woken by this count sees the outcome too.
  Atomics.add(c, PRIORITY_CHECKED, 1);
  Atomics.notify(c, PRIORITY_CHECKED);
}
