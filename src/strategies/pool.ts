/**
 * The piscina pool user code runs in: never the main thread (a slow model
 * would stall every subscriber), never a feed worker. Bars' judgments go in
 * batches, one pool task per thread for the judgments of a turn (batch.ts:
 * per-item deadlines, only the overrunning item cut). Other calls (a user
 * executor's `execute`, the start-up probe) are one task each, under the
 * same rule of deadlines: `timeoutMs` per stage, counted from the moment
 * the worker starts it, after the module is loaded and `init` ran (loading a
 * model, starting a worker and waiting for a free thread are not the call's
 * fault; they show in the latency figures): the worker stamps each stage's
 * start (wall-clock ms) and the stage in the caller's start flag, shared
 * memory, and the call's one timer, first due `timeoutMs` after submission,
 * re-arms itself for what is left of the deadline from the newest stamp (or
 * for another `timeoutMs` while the call still waits for a thread). No
 * message or wake-up tells the main thread that a call or stage started: the
 * `Atomics.waitAsync` on a start flag this replaced added a third
 * cross-thread wake-up to each round trip (measured alone on this 2-core
 * machine: about 20 µs of main-thread CPU per round trip). The stamp is the
 * wall clock (`Date.now()`, the one clock both threads read alike): a step of
 * the system clock during a call moves its deadline by that step. Past the
 * deadline the call is aborted, which terminates its worker (piscina starts a
 * fresh one), so a model stuck in a loop costs one thread for `timeoutMs` per
 * stage, never more; the timeout names the stage it cut. A call that has not
 * finished OUTER_BOUND_MS (plus both stages' deadlines) after submission (a
 * load or `init` that hangs) is aborted the same way.
 *
 * The pool's threads run at nice `pool.nice` (default 19, the lowest
 * priority; thread-priority.ts): user code yields the CPU to the main
 * thread and the feed workers when they want it.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { workerScript } from '../model/worker-script.ts';
import { Batcher } from './batch.ts';
import { AbortHook, CallTimeout, OUTER_BOUND_MS } from './deadlines.ts';
import { FLAG_STAGE, FLAG_STARTED_AT, Stage, type BatchTask, type JudgeTask, type StrategyTask, type TaskResult } from './task.ts';
import { DEFAULT_NICE, PRIORITY_CHECKED, PRIORITY_FAILED, PRIORITY_FAILURE_TEXT, PRIORITY_LAST_FAILURE, PRIORITY_LOWERED, PRIORITY_SLOTS, type PriorityFailure, type PriorityRequest } from './thread-priority.ts';

/** A task as it crosses: with its caller's start flag (CallSlot.started). */
export type PoolTask = StrategyTask & { started: BigInt64Array };

const TASK = workerScript('strategy-task', 'pool-shim.mjs');

/** The start stamp of a call that has not started. */
const NOT_STARTED = 0n;

/**
 * One caller's calls, one at a time: the start flag the worker writes each
 * stage's start into (`started`: wall-clock ms and stage, shared memory),
 * and the abort signal piscina listens to for the call in flight, both
 * reused call after call.
 */
export class CallSlot extends AbortHook {
  readonly started = new BigInt64Array(new SharedArrayBuffer(16));

  /** The stage the last call had reached (the last one its worker started; NONE: it never started). */
  get stage(): Stage {
    return Number(Atomics.load(this.started, FLAG_STAGE)) as Stage;
  }

  /** Ready for a new call: not aborted, not started. */
  override reset(): void {
    super.reset();
    Atomics.store(this.started, FLAG_STARTED_AT, NOT_STARTED);
    Atomics.store(this.started, FLAG_STAGE, BigInt(Stage.NONE));
  }

  /** When the current stage started, wall-clock ms (0: not yet). */
  startedAt(): number {
    return Number(Atomics.load(this.started, FLAG_STARTED_AT));
  }
}

/** How the pool's threads took their priority so far (each thread counts once, when it starts; replaced threads count again). */
export interface PoolPriority {
  /** The nice value asked (0: none asked). */
  nice: number;
  /** The pool's size. */
  threads: number;
  /** Threads lowered to it. */
  lowered: number;
  /** Threads that kept the gateway's priority. */
  failed: number;
  /** Why the last one failed (NONE when none did). */
  lastFailure: PriorityFailure;
}

/**
 * The start-up warning about the pool's priority, or undefined when every
 * thread took it (or none was asked): names the threads that kept the
 * gateway's priority, and those not checked yet (not started when the
 * counters were read; they are counted in /metrics as they start).
 */
export function priorityWarning(p: PoolPriority): string | undefined {
  if (p.nice === 0) return undefined;
  const checked = checkedThreads(p);
  const unchecked = checked < p.threads ? `${p.threads - checked} of ${p.threads} thread(s) not started yet, so not checked` : '';
  if (p.failed > 0) {
    return `strategy pool: ${p.failed} thread(s) could not be lowered to nice ${p.nice} (${PRIORITY_FAILURE_TEXT[p.lastFailure]}): user code competes with the gateway's threads at equal priority` +
      (unchecked === '' ? '' : `; ${unchecked}`);
  }
  return unchecked === '' ? undefined : `strategy pool: priority checked on ${checked} of ${p.threads} thread(s) (lowered to nice ${p.nice}); ${unchecked}: tickwire_strategy_pool_priority_failures_total counts any that cannot be lowered`;
}

/** The start-up warning as a log record (event name and fields beside `priorityWarning`'s text), or undefined when there is none. */
export function priorityNotice(p: PoolPriority): { event: string; fields: Record<string, unknown>; text: string } | undefined {
  const text = priorityWarning(p);
  if (text === undefined) return undefined;
  return {
    event: p.failed > 0 ? 'strategies.priority_unchanged' : 'strategies.priority_unchecked',
    fields: { nice: p.nice, threads: p.threads, checked: checkedThreads(p), failed: p.failed, reason: PRIORITY_FAILURE_TEXT[p.lastFailure] },
    text,
  };
}

/** Threads whose priority was checked (lowered or failed) so far. */
function checkedThreads(p: PoolPriority): number {
  return Math.min(p.threads, p.lowered + p.failed);
}

/** Threads when the config leaves it open: the cores the feed workers leave, at least 1. */
export function defaultThreads(feedWorkers: number): number {
  return Math.max(1, availableParallelism() - feedWorkers);
}

/** A fixed-size pool of strategy workers. */
export class StrategyPool {
  readonly threads: number;
  readonly #piscina: Piscina<PoolTask | BatchTask, TaskResult | null>;
  readonly #batcher: Batcher;
  readonly #priority: PriorityRequest;

  /** `nice`: the threads' nice value (0: left at the gateway's priority). */
  constructor(threads: number, nice = DEFAULT_NICE) {
    this.threads = threads;
    this.#priority = { nice, counters: new Int32Array(new SharedArrayBuffer(PRIORITY_SLOTS * 4)) };
    this.#piscina = new Piscina({
      filename: TASK.url.href,
      workerData: { ...TASK.data, priority: this.#priority },
      minThreads: threads,
      maxThreads: threads,
      // Workers stay: a model loaded once (init) should not be loaded again after a quiet minute.
      idleTimeout: 2 ** 31 - 1,
      // Each call waits for a Promise anyway: the async wake-up keeps idle workers off the CPU.
      atomics: 'disabled',
      // Piscina's run and wait time histograms: a record per call that nothing here reads.
      recordTiming: false,
    });
    this.#batcher = new Batcher(threads, (task, port, signal) => this.#piscina.run(task, { signal, transferList: [port] }));
  }

  /** How the threads took their priority so far. */
  get priority(): PoolPriority {
    const c = this.#priority.counters;
    return {
      nice: this.#priority.nice,
      threads: this.threads,
      lowered: Atomics.load(c, PRIORITY_LOWERED),
      failed: Atomics.load(c, PRIORITY_FAILED),
      lastFailure: Atomics.load(c, PRIORITY_LAST_FAILURE) as PriorityFailure,
    };
  }

  /**
   * How the threads took their priority once each of them has started and
   * applied it (at once with `nice` 0: nothing is asked), or as it stands
   * after `timeoutMs` (then fewer than `threads` are counted).
   */
  async prioritiesChecked(timeoutMs: number): Promise<PoolPriority> {
    const c = this.#priority.counters;
    const until = Date.now() + timeoutMs;
    for (;;) {
      const checked = Atomics.load(c, PRIORITY_CHECKED);
      const left = until - Date.now();
      if (this.#priority.nice === 0 || checked >= this.threads || left <= 0) return this.priority;
      // Wakes on each thread's count (thread-priority.ts applyPriority); 'not-equal': one came in between.
      const wait = Atomics.waitAsync(c, PRIORITY_CHECKED, checked, left);
      if (wait.async) await wait.value;
    }
  }

  /** Calls waiting for a thread now. */
  get queued(): number {
    return this.#piscina.queueSize;
  }

  /**
   * Judge a bar in a coming batch (batch.ts), `timeoutMs` per stage from its
   * start on a worker; rejects CallTimeout past it, JudgeError when the
   * module failed or crashed its worker (both name the stage).
   */
  judge(task: JudgeTask, timeoutMs: number): Promise<TaskResult> {
    return this.#batcher.judge(task, timeoutMs);
  }

  /**
   * Run `task` with a deadline of `timeoutMs` per stage from its start on a
   * worker; rejects CallTimeout past it, or with the module's error. `slot`:
   * the caller's (one call at a time; `task.started` must be its flag).
   */
  async run(task: PoolTask, timeoutMs: number, slot: CallSlot): Promise<TaskResult> {
    slot.reset();
    // The outer bound: a module whose load or init never ends, or a pool hopelessly behind (a judgment has two stages of `timeoutMs`).
    const outerAt = Date.now() + OUTER_BOUND_MS + 2 * timeoutMs;
    const check = (): void => {
      const now = Date.now();
      const startedAt = slot.startedAt();
      const deadline = Math.min(outerAt, startedAt === 0 ? now + timeoutMs : startedAt + timeoutMs);
      if (deadline <= now) slot.abort();
      else timer = setTimeout(check, deadline - now);
    };
    let timer = setTimeout(check, timeoutMs);
    try {
      return (await this.#piscina.run(task, { signal: slot }))!;
    } catch (err) {
      if (slot.aborted) throw new CallTimeout(timeoutMs);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One call with a slot of its own (calls made once, such as a start-up probe). */
  runOnce(task: StrategyTask, timeoutMs: number): Promise<TaskResult> {
    const slot = new CallSlot();
    return this.run({ ...task, started: slot.started }, timeoutMs, slot);
  }

  /** Terminate every worker (calls in flight reject). */
  async close(): Promise<void> {
    this.#batcher.close(new Error('the strategy pool is closed'));
    await this.#piscina.destroy();
  }
}
