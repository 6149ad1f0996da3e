/**
 * The piscina pool user code runs in: never the main thread (a slow model
 * would stall every subscriber), never a feed worker. Each call has a
 * deadline counted from the moment a worker starts it, after the module is
 * loaded and `init` ran (loading a model, starting a worker and waiting for a
 * free thread are not the call's fault; they show in the latency figures):
 * the worker stamps the start (wall-clock ms) in shared memory, and the
 * call's one timer, first due `timeoutMs` after submission, re-arms itself
 * for what is left of the deadline from that stamp (or for another
 * `timeoutMs` while the call still waits for a thread). No message or wake-up
 * tells the main thread that a call started: a close of 100 strategies makes
 * 200 calls, and the `Atomics.waitAsync` on a start flag this replaced added
 * a third cross-thread wake-up to each call's two (measured alone on this
 * 2-core machine: about 20 µs of main-thread CPU per round trip). The stamp
 * is the wall clock (`Date.now()`, the one clock both threads read alike): a
 * step of the system clock during a call moves its deadline by that step. Past the
 * deadline the call is aborted, which
 * terminates its worker (piscina starts a fresh one), so a model stuck in a
 * loop costs one thread for `timeoutMs`, never more. A call that has not
 * finished OUTER_BOUND_MS after submission (a load or `init` that hangs) is
 * aborted the same way.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { StrategyTask, TaskResult } from './task.ts';

const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');
const TASK_URL = RUNNING_FROM_SOURCE
  ? new URL('../../workers/pool-shim.mjs', import.meta.url)
  : new URL('../../workers/strategy-task.js', import.meta.url);
const TASK_ENTRY = new URL('../../workers/strategy-task.ts', import.meta.url).href;

/** A call that ran past its deadline (aborted; its worker, if it had started, terminated). */
export class CallTimeout extends Error {
  constructor(ms: number) {
    super(`call took longer than ${ms} ms`);
    this.name = 'CallTimeout';
  }
}

/** Longest a call may take from submission whatever happens (loading, init, waiting for a thread), beyond its own deadline, ms. */
const OUTER_BOUND_MS = 60_000;
/** The start stamp of a call that has not started. */
const NOT_STARTED = 0n;

/** A call's start stamp: one Int64 in shared memory where the worker writes `Date.now()` as the call starts (see `run`). */
export function startFlag(): BigInt64Array {
  return new BigInt64Array(new SharedArrayBuffer(8));
}

/** Threads when the config leaves it open: the cores the feed workers leave, at least 1. */
export function defaultThreads(feedWorkers: number): number {
  return Math.max(1, availableParallelism() - feedWorkers);
}

/** A fixed-size pool of strategy workers. */
export class StrategyPool {
  readonly threads: number;
  readonly #piscina: Piscina<StrategyTask & { started: BigInt64Array }, TaskResult>;

  constructor(threads: number) {
    this.threads = threads;
    this.#piscina = new Piscina({
      filename: TASK_URL.href,
      workerData: RUNNING_FROM_SOURCE ? { entry: TASK_ENTRY } : {},
      minThreads: threads,
      maxThreads: threads,
      // Workers stay: a model loaded once (init) should not be loaded again after a quiet minute.
      idleTimeout: 2 ** 31 - 1,
      // Each call waits for a Promise anyway: the async wake-up keeps idle workers off the CPU.
      atomics: 'disabled',
    });
  }

  /** Calls waiting for a thread now. */
  get queued(): number {
    return this.#piscina.queueSize;
  }

  /**
   * Run `task` with a deadline of `timeoutMs` from its start on a worker;
   * rejects CallTimeout past it, or with the module's error. `started`: the
   * caller's start flag (startFlag()), one call at a time.
   */
  async run(task: StrategyTask, timeoutMs: number, started: BigInt64Array = startFlag()): Promise<TaskResult> {
    const controller = new AbortController();
    Atomics.store(started, 0, NOT_STARTED);
    // The outer bound: a module whose load or init never ends, or a pool hopelessly behind.
    const outerAt = Date.now() + OUTER_BOUND_MS + timeoutMs;
    const check = (): void => {
      const now = Date.now();
      const startedAt = Number(Atomics.load(started, 0));
      const deadline = Math.min(outerAt, startedAt === 0 ? now + timeoutMs : startedAt + timeoutMs);
      if (deadline <= now) controller.abort();
      else timer = setTimeout(check, deadline - now);
    };
    let timer = setTimeout(check, timeoutMs);
    try {
      return await this.#piscina.run({ ...task, started }, { signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) throw new CallTimeout(timeoutMs);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Terminate every worker (calls in flight reject). */
  async close(): Promise<void> {
    await this.#piscina.destroy();
  }
}
