/**
 * One strategy: its window of closed bars, its features, its user state, and
 * the strictly ordered calls of its judgments (predict, then decide, then the
 * executor), one bar after the other: bar N's decision before bar N+1's
 * prediction. Different strategies' runners run side by side in the pool.
 *
 * Rules
 *  - Warm-up: a strategy judges nothing until it holds `lookback` closed bars
 *    (restored, backfilled or live ones all count); every bar still feeds
 *    its features.
 *  - A bar closed → queued for judgment. An amendment of a bar in the window
 *    (a late trade) → the window and features are corrected and the bar is
 *    queued again: its prediction and signal carry the new `revision`
 *    (features of an older bar than the newest keep their indicator values;
 *    the bar's own vwap, imbalance and spread are recomputed).
 *  - A bar's judgment is one pool call (task.ts: `predict`, then `decide`, in
 *    the worker), each stage with its own `timeoutMs` (pool.ts). A timeout or
 *    an error is counted, reported (`onProblem`) and leaves that bar without
 *    a signal; the next bar goes on. A `decide` that fails still lets its
 *    prediction be published and counted (then the error); a timeout or a
 *    crashed worker loses both, whichever stage it cut. The prediction is
 *    published just before its signal, when the call returns, and its
 *    `latencyUs` is the whole judgment's. `maxErrors` failures in a row (a
 *    failed `decide` is one) pause the strategy (nothing more is called; its
 *    queue is dropped) until `resume()` (an operator's
 *    `POST /v1/strategies/:name/resume`) or a restart; it then judges from
 *    the next closed bar on, its failure run counted from 0.
 *  - At most MAX_QUEUE judgments wait; when a strategy is that far behind the
 *    oldest waiting one is dropped and counted (`skipped`): a strategy that
 *    cannot keep up must not grow memory without bound.
 *
 * In a backtest (`deterministic`), published times are the bars' close
 * instants and trades' times and `latencyUs` is 0: the output depends on the
 * data alone.
 */
import * as hdr from 'hdr-histogram-js';
import type { StrategyConfig } from '../config/types.ts';
import type { Bar } from '../model/records.ts';
import type { FillEvent, PredictionEvent, RejectionEvent, SignalEvent, StrategyDetail, StrategyState, StrategySummary } from '../model/strategy.ts';
import { parseTimeframe } from '../model/timeframes.ts';
import type { Executor } from './executor.ts';
import { withBarFeatures, type FeatureSet, type Features } from './features.ts';
import { JudgeError } from './batch.ts';
import { CallTimeout } from './deadlines.ts';
import { CallSlot, type StrategyPool } from './pool.ts';
import { Stage, type JudgeTask, type TaskResult, type WindowUpdate } from './task.ts';
import type { Turns } from './turns.ts';

/** Judgments waiting per strategy at most. */
export const MAX_QUEUE = 64;
/** Signals kept for `GET /v1/strategies/:name`. */
export const RECENT_SIGNALS = 100;

/** Where a runner's results go (the strategy runtime fans them out). */
export interface RunnerOutput {
  prediction(e: PredictionEvent): void;
  signal(e: SignalEvent): void;
  fill(e: FillEvent): void;
  rejected(e: RejectionEvent): void;
  /** An error, a timeout or a state change (paused): for the status and the `system` room. */
  problem(runner: StrategyRunner, message: string): void;
  /** The runner's executor waits for its symbol's next trade (a paper order): route trades to it until it no longer does. */
  awaitTrade(runner: StrategyRunner): void;
}

interface Judgment {
  /** Bars up to and including the judged one, oldest first. */
  bars: Bar[];
  features: Features;
  /** The window version these bars are (task.ts: a worker keeps the window it was last sent). */
  version: number;
  /** True when `bars` is the previous judgment's window plus the judged bar: only that bar needs to cross. */
  follows: boolean;
}

export class StrategyRunner {
  readonly name: string;
  readonly cfg: StrategyConfig;
  readonly executor: Executor;
  readonly tfMs: number;
  predictions = 0;
  signals = 0;
  fills = 0;
  timeouts = 0;
  errors = 0;
  skipped = 0;
  lastError: string | null = null;
  /** In the runtime's list of runners waiting for a trade (the runtime's to set: runtime.ts `awaitTrade`, `onTrade`). */
  awaitsTrade = false;
  readonly #pool: StrategyPool;
  readonly #turns: Turns;
  readonly #out: RunnerOutput;
  readonly #deterministic: boolean;
  readonly #features: FeatureSet;
  /** The window: closed bars held, oldest first, and each one's features (same index). */
  readonly #bars: Bar[] = [];
  readonly #barFeatures: Features[] = [];
  readonly #queue: Judgment[] = [];
  readonly #recent: SignalEvent[] = [];
  /** This strategy's call slot (pool.ts): its calls run one at a time. */
  readonly #slot = new CallSlot();
  /**
   * Call latency, µs, to 2 significant digits (1 %: p50/p99 for the status): 14 KB a strategy rather than 95 KB at 3 digits
   * (1.4 MB rather than 9.5 MB at 100 strategies). The CPU it saves is small: 100 records with 8 MB of other memory touched
   * between closes took 40–60 µs per close at 3 digits, 39–42 µs at 2 (a loaded machine's profile had charged them 1.6 ms).
   */
  readonly #latency = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2 });
  /** The strategy's state as JSON text (task.ts: it crosses as text; the main thread never reads it). */
  #userState = '{}';
  #paused = false;
  #inRow = 0;
  #busy = false;
  /** The runtime is stopping (stop()): calls the closing pool cuts are no failures of the strategy. */
  #stopped = false;
  #idle: (() => void)[] = [];
  /** Version of the last window queued for judgment; `#chained`: the window is still that one (nothing but new bars changed it since). */
  #version = 0;
  #chained = false;

  /**
   * `turns`: where judgments start (turns.ts: spread over event-loop turns, shared by every runner of the process).
   * `features`: this strategy's, shared with the strategies of the same series, lookback and features (features.ts).
   */
  constructor(name: string, cfg: StrategyConfig, pool: StrategyPool, turns: Turns, features: FeatureSet, executor: Executor, out: RunnerOutput, deterministic: boolean) {
    this.name = name;
    this.#turns = turns;
    this.cfg = cfg;
    this.executor = executor;
    this.tfMs = parseTimeframe(cfg.timeframe).ms;
    this.#pool = pool;
    this.#out = out;
    this.#deterministic = deterministic;
    this.#features = features;
  }

  get state(): StrategyState {
    if (this.#paused) return 'paused';
    return this.#bars.length >= this.cfg.lookback ? 'running' : 'warming';
  }

  /** Closed bars held (at most `lookback`). */
  get held(): number {
    return this.#bars.length;
  }

  /** Bars closed before the strategy started (restored or backfilled), oldest first: they feed the window and features, nothing is judged. */
  seed(bars: readonly Bar[]): void {
    for (const bar of bars) this.#push(bar);
  }

  /** A closed bar of the series, or an amendment of one (`revision` > 0). */
  onBar(bar: Bar): void {
    const newest = this.#bars.at(-1)?.openTime ?? -Infinity;
    if (bar.openTime > newest) {
      const features = this.#push(bar);
      this.executor.barClosed(bar);
      this.#chained = this.#bars.length >= this.cfg.lookback && this.#enqueue(this.#bars.slice(), features, this.#chained);
      return;
    }
    const i = this.#bars.findIndex((b) => b.openTime === bar.openTime);
    // Older than the window, or a revision already seen: nothing to judge again.
    if (i < 0 || bar.revision <= this.#bars[i]!.revision) return;
    const last = i === this.#bars.length - 1;
    const features = last ? this.#features.update(bar, true) : withBarFeatures({ ...this.#barFeatures[i]! }, bar);
    this.#bars[i] = bar;
    this.#barFeatures[i] = features;
    // Re-judged with the window as it was then (a shorter one for an older bar): sent whole, and so is the next new bar's.
    this.#chained = false;
    if (this.#bars.length >= this.cfg.lookback) this.#enqueue(this.#bars.slice(0, i + 1), features, false);
  }

  /** A trade of the series (routed here only while the executor waits for one). */
  onTrade(price: number, ts: number): void {
    this.executor.onTrade(price, ts);
  }

  /** Resolves when nothing is queued or running (a backtest waits for each bar's judgment). */
  idle(): Promise<void> {
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  summary(): StrategySummary {
    const n = this.#latency.totalCount;
    return {
      name: this.name, exchange: this.cfg.exchange, symbol: this.cfg.symbol, timeframe: this.cfg.timeframe, state: this.state,
      predictions: this.predictions, signals: this.signals, fills: this.fills, timeouts: this.timeouts, errors: this.errors,
      skipped: this.skipped, lastError: this.lastError,
      latencyUs: { p50: n === 0 ? null : this.#latency.getValueAtPercentile(50), p99: n === 0 ? null : this.#latency.getValueAtPercentile(99) },
    };
  }

  detail(): StrategyDetail {
    return { ...this.summary(), executor: this.executor.kind, account: this.executor.account()?.state() ?? null, signalsRecent: [...this.#recent] };
  }

  /**
   * Pause on an operator's request: nothing more is called, the queue is
   * dropped (a judgment under way finishes and is published), the window and
   * features keep following the bars; false when already paused (nothing
   * changes). `resume()` undoes it.
   */
  pause(): boolean {
    if (this.#paused) return false;
    this.#halt();
    return true;
  }

  /** Paused: nothing more is called and the queue is dropped (operator's pause, or `maxErrors` failures in a row). */
  #halt(): void {
    this.#paused = true;
    this.#queue.length = 0;
  }

  /** Judge again after a pause, from the next closed bar on; false when the strategy was not paused (nothing changes). */
  resume(): boolean {
    if (!this.#paused) return false;
    this.#paused = false;
    this.#inRow = 0;
    return true;
  }

  /** Stop judging (the runtime is stopping): drop the queue; the call in flight finishes or is cut by the pool (then not counted as a failure). */
  stop(): void {
    this.#stopped = true;
    this.#queue.length = 0;
    this.executor.close();
  }

  /** Add a closed bar to the window; its features. */
  #push(bar: Bar): Features {
    const features = this.#features.update(bar, false);
    this.#bars.push(bar);
    this.#barFeatures.push(features);
    if (this.#bars.length > this.cfg.lookback) {
      this.#bars.shift();
      this.#barFeatures.shift();
    }
    return features;
  }

  /** Queue the judgment of `bars`' last bar (false: paused, nothing queued); `follows`: `bars` is the previously queued window plus that bar. */
  #enqueue(bars: Bar[], features: Features, follows: boolean): boolean {
    if (this.#paused) return false;
    if (this.#queue.length >= MAX_QUEUE) {
      this.#queue.shift();
      this.skipped++;
    }
    this.#queue.push({ bars, features, version: ++this.#version, follows });
    if (!this.#busy) {
      this.#busy = true;
      this.#turns.add(this.#start);
    }
    return true;
  }

  readonly #start = (): void => void this.#drain();

  async #drain(): Promise<void> {
    for (let j = this.#queue.shift(); j !== undefined && !this.#paused; j = this.#queue.shift()) await this.#judge(j);
    this.#busy = false;
    const waiting = this.#idle;
    this.#idle = [];
    for (const resolve of waiting) resolve();
  }

  async #judge(j: Judgment): Promise<void> {
    const bar = j.bars.at(-1)!;
    const t0 = performance.now();
    let r = await this.#send(j, j.follows ? { kind: 'next', version: j.version, bar, lookback: this.cfg.lookback } : this.#full(j));
    if (r?.op === 'stale') r = await this.#send(j, this.#full(j));
    if (r === undefined || r.op !== 'judge') return;
    const latencyUs = this.#deterministic ? 0 : Math.max(1, Math.round((performance.now() - t0) * 1000));
    this.predictions++;
    const prediction = r.prediction;
    // Literals, not `{ ...base, ... }`: spreading a shared base object was the largest cost of a judgment on the main thread (profiled: ~40 % of the runtime's own work per close).
    this.#out.prediction({
      strategy: this.name, exchange: this.cfg.exchange, symbol: this.cfg.symbol, timeframe: this.cfg.timeframe, barOpenTime: bar.openTime, revision: bar.revision,
      value: prediction.value, confidence: prediction.confidence, extra: prediction.extra, latencyUs, ts: this.#now(bar),
    });
    if (r.decision === null) {
      this.errors++;
      this.#fail(`decide: ${firstLine(r.decideError ?? 'failed')}`);
      return;
    }
    this.signals++;
    const signal: SignalEvent = {
      strategy: this.name, exchange: this.cfg.exchange, symbol: this.cfg.symbol, timeframe: this.cfg.timeframe, barOpenTime: bar.openTime, revision: bar.revision,
      id: `${this.name}:${bar.openTime}:${bar.revision}`,
      action: r.decision.action,
      size: r.decision.size,
      prediction: { value: prediction.value, confidence: prediction.confidence },
      reason: r.decision.reason,
      ts: this.#now(bar),
    };
    this.#recent.push(signal);
    if (this.#recent.length > RECENT_SIGNALS) this.#recent.shift();
    this.#out.signal(signal);
    if (signal.action !== 'hold' && signal.revision === 0) {
      await this.executor.submit(signal, bar);
      if (this.executor.wantsTrades) this.#out.awaitTrade(this);
    }
  }

  /** Send `j` to the pool with `window` (its bar, or the whole window). */
  #send(j: Judgment, window: WindowUpdate): Promise<TaskResult | undefined> {
    const task: JudgeTask = { op: 'judge', strategy: this.name, state: this.#userState, window, features: j.features, position: this.executor.position() };
    return this.#call('judge', this.#pool.judge(task, this.cfg.timeoutMs));
  }

  /** `j`'s whole window, with the module and params (task.ts). */
  #full(j: Judgment): WindowUpdate {
    return { kind: 'full', version: j.version, bars: j.bars, module: this.cfg.module, params: this.cfg.params };
  }

  /** A module executor's `execute`, under this strategy's deadline and failure counting (its state is the executor's own). */
  async execute(module: string, params: Record<string, unknown>, signal: SignalEvent, bar: Bar, state: Record<string, unknown>): Promise<Extract<TaskResult, { op: 'execute' }> | undefined> {
    const task = { op: 'execute', strategy: `${this.name}#executor`, module, params, state, signal, bar, started: this.#slot.started } as const;
    const r = await this.#call('execute', this.#pool.run(task, this.cfg.timeoutMs, this.#slot));
    return r?.op === 'execute' ? r : undefined;
  }

  /** One pool call under way (`op`'s); the result, or undefined after counting and reporting the failure (named by the stage it cut). */
  async #call(op: JudgeTask['op'] | 'execute', call: Promise<TaskResult>): Promise<TaskResult | undefined> {
    const t0 = performance.now();
    try {
      const r = await call;
      // Not the module's answer (it did not run): neither a latency nor a success that ends a run of failures.
      if (r.op === 'stale') return r;
      this.#latency.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
      if (r.op === 'judge') this.#userState = r.state;
      // A judgment whose decide failed is a failure (its caller counts it): it does not end a run of them.
      if (r.op !== 'judge' || r.decision !== null) this.#inRow = 0;
      return r;
    } catch (err) {
      // Cut by the shutdown (the pool rejects what it was running or still held): neither counted nor reported.
      if (this.#stopped) return undefined;
      if (err instanceof CallTimeout) this.timeouts++;
      else this.errors++;
      const cut = err instanceof CallTimeout || err instanceof JudgeError ? err.stage : Stage.NONE;
      const stage = op !== 'judge' ? op : cut === Stage.DECIDE ? 'decide' : cut === Stage.LOAD ? 'load' : 'predict';
      this.#fail(`${stage}: ${err instanceof Error ? firstLine(err.message) : String(err)}`);
      return undefined;
    }
  }

  /** A failure: reported; the `maxErrors`-th in a row pauses the strategy. */
  #fail(message: string): void {
    this.lastError = message.slice(0, 300);
    this.#inRow++;
    if (this.#inRow >= this.cfg.maxErrors) {
      this.#halt();
      this.lastError = `paused after ${this.#inRow} failures in a row; last: ${this.lastError}`.slice(0, 300);
    }
    this.#out.problem(this, this.lastError);
  }

  /** A published time: now, or in a backtest the end of the bar. */
  #now(bar: Bar): number {
    return this.#deterministic ? bar.openTime + this.tfMs : Date.now();
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!;
}
