/**
 * The piscina pool user code runs in: never the main thread (a slow model
 * would stall every subscriber), never a feed worker. Each call has a
 * deadline counted from the moment a worker starts it, after the module is
 * loaded and `init` ran (loading a model, starting a worker and waiting for a
 * free thread are not the call's fault; they show in the latency figures):
 * the worker flags the start in a shared Int32 the caller waits on
 * (`Atomics.waitAsync`). Past the deadline the call is aborted, which
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
const NOT_STARTED = 0;
const SETTLED = 2;

/** A call's start flag: one Int32 in shared memory the worker sets when the call starts (see `run`). */
export function startFlag(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/** Threads when the config leaves it open: the cores the feed workers leave, at least 1. */
export function defaultThreads(feedWorkers: number): number {
  return Math.max(1, availableParallelism() - feedWorkers);
}

/** A fixed-size pool of strategy workers. */
export class StrategyPool {
  readonly threads: number;
  readonly #piscina: Piscina<StrategyTask & { started: Int32Array }, TaskResult>;

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
  async run(task: StrategyTask, timeoutMs: number, started: Int32Array = startFlag()): Promise<TaskResult> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    Atomics.store(started, 0, NOT_STARTED);
    const wait = Atomics.waitAsync(started, 0, NOT_STARTED);
    const arm = (): void => {
      if (!settled) timer = setTimeout(() => controller.abort(), timeoutMs);
    };
    if (wait.async) void wait.value.then(arm);
    else arm();
    // The outer bound: a module whose load or init never ends, or a pool hopelessly behind.
    const outer = setTimeout(() => controller.abort(), OUTER_BOUND_MS + timeoutMs);
    try {
      return await this.#piscina.run({ ...task, started }, { signal: controller.signal });
    } catch (err) {
      if (controller.signal.aborted) throw new CallTimeout(timeoutMs);
      throw err;
    } finally {
      settled = true;
      clearTimeout(timer);
      clearTimeout(outer);
      // Release the waiter of a call that failed before it started (a module that would not load).
      Atomics.store(started, 0, SETTLED);
      Atomics.notify(started, 0);
    }
  }

  /** Terminate every worker (calls in flight reject). */
  async close(): Promise<void> {
    await this.#piscina.destroy();
  }
}
