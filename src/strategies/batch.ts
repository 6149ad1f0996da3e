/**
 * Strategies' judgments sent to the pool in batches: the judgments started
 * in one event-loop turn go out as at most `threads` pool tasks (one per
 * thread), each running its items one after the other (task.ts `runBatch`),
 * instead of one pool task per strategy. A piscina round trip cost the main
 * thread 25–35 µs of CPU, and a call's timer more: per close at 100
 * strategies that was about half of what strategies cost the main thread.
 *
 * Guarantees kept from one call per judgment:
 *  - Each item has its own deadlines: `timeoutMs` per stage from the moment
 *    the worker starts that stage (loading and `init` have the outer bound
 *    only). The worker writes which item runs, its stage and since when into
 *    the batch's control word (shared memory); the batch's one timer
 *    re-arms itself from that word, so no message tells the main thread
 *    that an item started.
 *  - Only the guilty item times out. When the running item overruns, the
 *    batch is taken back: the answers already posted are read off its port
 *    (receiveMessageOnPort: the worker posts each answer before it starts
 *    the next item, so every finished item's answer is there), the overrun
 *    item is rejected with CallTimeout, the items not started go out again
 *    in the next batch (their deadlines not started either), and only then
 *    is the task aborted, which terminates the worker (piscina starts a
 *    fresh one). Taking back first writes TAKEN_BACK into the control word
 *    (compareExchange on the stamp it was decided on), and the worker
 *    stamps each item with compareExchange on its previous stamp: a worker
 *    whose overrunning item ends before it is terminated starts nothing
 *    more, so no item is judged on both workers. A worker that crashes is
 *    handled the same way: the item it was running gets the error, the ones
 *    after it are sent again.
 *  - Per strategy, order is the caller's: a runner has one judgment in
 *    flight at a time, so a batch never holds two of one strategy.
 *
 * Answers are read when the batch's task resolves (or its timer fires), not
 * as each is posted: one wake-up of the main thread per batch rather than
 * one per item. So an item's answer waits for the rest of its batch; with
 * a legitimately slow model in a batch, the signals of the strategies
 * batched with it arrive when it is done (at most its deadlines later).
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { AbortHook, CallTimeout, OUTER_BOUND_MS } from './deadlines.ts';
import { MAX_BATCH_ITEMS, Stage, TAKEN_BACK, unpackAnswer, unpackStart, type BatchAnswer, type BatchTask, type JudgeTask, type TaskResult } from './task.ts';

/** A failed judgment: the module's error (or its worker's crash), with the stage it was in. */
export class JudgeError extends Error {
  readonly stage: Stage;
  constructor(message: string, stage: Stage) {
    super(message);
    this.name = 'JudgeError';
    this.stage = stage;
  }
}

/** How a batch reaches the pool: run `task` on a worker (transferring `port`), abortable through `signal`. */
export type SubmitBatch = (task: BatchTask, port: MessagePort, signal: AbortHook) => Promise<unknown>;

interface Item {
  task: JudgeTask;
  timeoutMs: number;
  resolve: (r: TaskResult) => void;
  reject: (err: Error) => void;
}

/** Collects the judgments of a turn and sends them as one pool task per thread. */
export class Batcher {
  readonly #threads: number;
  readonly #submit: SubmitBatch;
  #pending: Item[] = [];
  #scheduled = false;
  #closed = false;

  constructor(threads: number, submit: SubmitBatch) {
    this.#threads = threads;
    this.#submit = submit;
  }

  /** Judge `task` in a coming batch, `timeoutMs` per stage; rejects CallTimeout past it, JudgeError when the module failed. */
  judge(task: JudgeTask, timeoutMs: number): Promise<TaskResult> {
    return new Promise((resolve, reject) => this.#add({ task, timeoutMs, resolve, reject }));
  }

  /** Send nothing more: what is pending and what a batch hands back are rejected with `reason`. */
  close(reason: Error): void {
    this.#closed = true;
    const pending = this.#pending;
    this.#pending = [];
    for (const item of pending) item.reject(reason);
  }

  #add(item: Item): void {
    if (this.#closed) {
      item.reject(new Error('the strategy pool is closed'));
      return;
    }
    this.#pending.push(item);
    this.#schedule();
  }

  /** Items a batch hands back (not started when it was taken back): first in the next batch. Batch's own. */
  again(items: Item[]): void {
    if (this.#closed) {
      for (const item of items) item.reject(new Error('the strategy pool is closed'));
      return;
    }
    this.#pending.unshift(...items);
    this.#schedule();
  }

  /** Flush in the next turn (once, however many items come before it). */
  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const items = this.#pending;
    if (items.length === 0) return;
    this.#pending = [];
    const batches = Math.max(Math.min(this.#threads, items.length), Math.ceil(items.length / MAX_BATCH_ITEMS));
    const size = Math.ceil(items.length / batches);
    for (let from = 0; from < items.length; from += size) new Batch(items.slice(from, from + size), this).send(this.#submit);
  };
}

/** One pool task of judgments, and its watchdog. */
class Batch {
  readonly #items: Item[];
  readonly #batcher: Batcher;
  readonly #control = new BigInt64Array(new SharedArrayBuffer(8));
  readonly #epoch = Date.now();
  readonly #outerAt: number;
  readonly #abort = new AbortHook();
  readonly #answered: boolean[];
  /** `#soonest[i]`: the shortest deadline of items i… (an item's overrun is seen by then whatever ran before it); Infinity past the last. */
  readonly #soonest: number[];
  #port: MessagePort | undefined;
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(items: Item[], batcher: Batcher) {
    this.#items = items;
    this.#batcher = batcher;
    this.#answered = new Array<boolean>(items.length).fill(false);
    this.#soonest = new Array<number>(items.length + 1).fill(Infinity);
    for (let i = items.length - 1; i >= 0; i--) this.#soonest[i] = Math.min(items[i]!.timeoutMs, this.#soonest[i + 1]!);
    // A batch waits for a thread at most this long (then every item times out), as one call did: the outer bound beyond both stages' deadlines.
    let longest = 0;
    for (const item of items) longest = Math.max(longest, item.timeoutMs);
    this.#outerAt = this.#epoch + OUTER_BOUND_MS + 2 * longest;
  }

  send(submit: SubmitBatch): void {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    const task: BatchTask = { op: 'batch', items: this.#items.map((item) => item.task), control: this.#control, port: port2, epoch: this.#epoch };
    this.#timer = setTimeout(this.#check, this.#soonest[0]!);
    submit(task, port2, this.#abort).then(() => this.#settled(undefined), (err: unknown) => this.#settled(err instanceof Error ? err : new Error(String(err))));
  }

  /** Read every answer posted so far. */
  #drain(): void {
    const port = this.#port!;
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const answer = unpackAnswer(m.message as BatchAnswer);
      const item = this.#items[answer.i]!;
      this.#answered[answer.i] = true;
      if ('result' in answer) item.resolve(answer.result);
      else item.reject(new JudgeError(answer.error, answer.stage));
    }
  }

  /** The watchdog: at the running item's deadline, take the batch back; else re-arm for it. */
  readonly #check = (): void => {
    this.#timer = undefined;
    if (this.#done) return;
    // The word first, then the answers: every answer posted before the word was read is then counted (the worker posts an item's answer before it stamps the next).
    const word = Atomics.load(this.#control, 0);
    this.#drain();
    const now = Date.now();
    if (word === 0n) {
      // Still waiting for a thread (or its worker is starting).
      if (now >= this.#outerAt) {
        if (!this.#claim(word)) return this.#check();
        this.#takeBack(-1, Stage.NONE, OUTER_BOUND_MS);
      } else this.#arm(Math.min(this.#outerAt, now + this.#soonest[0]!) - now);
      return;
    }
    const { index, stage, sinceEpochMs } = unpackStart(word);
    if (this.#answered[index]) {
      // Between two items: the next one's stamp comes right after.
      this.#arm(index + 1 < this.#items.length ? this.#soonest[index + 1]! : 1);
      return;
    }
    const limit = stage === Stage.LOAD ? OUTER_BOUND_MS : this.#items[index]!.timeoutMs;
    const deadline = this.#epoch + sinceEpochMs + limit;
    // Not past the running item's deadline, nor past that of a later one with a shorter deadline should the running one end first.
    if (now >= deadline) {
      if (!this.#claim(word)) return this.#check();
      this.#takeBack(index, stage, limit);
    } else this.#arm(Math.min(deadline - now, this.#soonest[index + 1]!));
  };

  /**
   * Write TAKEN_BACK over `word`, the stamp the decision to take back was made
   * on: the worker then starts nothing more (its items after this one go out
   * again before it is stopped, and must not run on it too). False when the
   * worker stamped since (a new stage or item): look again.
   */
  #claim(word: bigint): boolean {
    return Atomics.compareExchange(this.#control, 0, word, TAKEN_BACK) === word;
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(this.#check, Math.max(1, ms));
  }

  /** Item `index` overran (−1: the batch never started): it times out, the items after it go out again, the worker is terminated. */
  #takeBack(index: number, stage: Stage, limitMs: number): void {
    this.#finish();
    const again: Item[] = [];
    for (let i = 0; i < this.#items.length; i++) {
      if (this.#answered[i]) continue;
      const item = this.#items[i]!;
      // The bound applied: timeoutMs for predict or decide, the outer bound for a load (or init) or a batch that never started.
      if (index < 0 || i === index) item.reject(new CallTimeout(limitMs, stage));
      else if (i > index) again.push(item);
      else item.reject(new JudgeError('the worker lost this answer', Stage.NONE));
    }
    this.#abort.abort();
    if (again.length > 0) this.#batcher.again(again);
  }

  /** The task ended: every answer is on the port; on a crash the running item gets the error and the rest go out again. */
  #settled(err: Error | undefined): void {
    if (this.#done) return;
    this.#drain();
    this.#finish();
    const word = Atomics.load(this.#control, 0);
    const running = word === 0n ? -1 : unpackStart(word).index;
    const stage = word === 0n ? Stage.NONE : unpackStart(word).stage;
    const again: Item[] = [];
    for (let i = 0; i < this.#items.length; i++) {
      if (this.#answered[i]) continue;
      const item = this.#items[i]!;
      if (err === undefined) item.reject(new JudgeError('the worker gave no answer', Stage.NONE));
      else if (running >= 0 && i > running) again.push(item);
      else item.reject(new JudgeError(err.message, i === running ? stage : Stage.NONE));
    }
    if (again.length > 0) this.#batcher.again(again);
  }

  #finish(): void {
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#port?.close();
  }
}
