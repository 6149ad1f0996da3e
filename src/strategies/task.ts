/**
 * The pool's side of a strategy call (workers/strategy-task.ts is its entry):
 * load the user's module once per worker, call `init` once per worker and
 * strategy, then judge a bar (`predict`, then `decide` on its prediction, in
 * one call: one round trip per bar, not two) or `execute`, and check what
 * came back before it crosses to the main thread (which trusts it). Bars'
 * judgments arrive in batches (`runBatch`, several strategies' in one task;
 * batch.ts is the main thread's side).
 *
 * A judgment whose `decide` throws (or returns something malformed, or grows
 * the state too far) still answers with its prediction, the decide error as
 * text and the state as `predict` left it: what `decide` did to the state
 * before failing is dropped, as a failed call's changes always are. A
 * judgment whose `predict` fails throws: nothing of it is kept.
 *
 * `state` is the strategy's own JSON object: it arrives with every call and
 * goes back with the answer (the module may change it in place), so any
 * worker can serve any call, and a backtest replays exactly. It may take at
 * most MAX_STATE_BYTES as JSON; more is the module's error. A judgment's
 * state crosses both ways as its JSON text (the main thread only keeps it,
 * never reads it), and its prediction's extra fields come back as theirs
 * (BatchAnswer): what JSON does not hold (a Date, an undefined field, NaN)
 * comes back as JSON has it, live and in a backtest alike.
 *
 * A module's exports: `predict` (required), `decide` (required for a
 * strategy), `init` and `checkParams` (optional); an executor module exports
 * `execute`. `checkParams(params)` returns (or throws) why `params` are
 * wrong, or nothing when they are fine: start-up reports it as a config
 * error at `strategies.<name>.params`.
 */
import type { MessagePort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

/** Largest `state` a module may keep, as JSON bytes (it is copied into every call). */
export const MAX_STATE_BYTES = 256 * 1024;
/** Largest extra payload of a prediction (fields beside value and confidence), as JSON bytes: it is published with every prediction and signal. */
export const MAX_PREDICTION_EXTRA_BYTES = 1024;
/** Longest `reason` of a decision, characters. */
export const MAX_REASON = 200;

/**
 * The bars of a `predict` call: the whole window (the worker keeps it as
 * `version`), or the bar just closed on top of window `version − 1` (trimmed
 * to `lookback` bars). The strategy's module and params cross with the
 * whole window only: a worker holding the window holds them too, and one
 * that does not answers `stale` anyway (they are the same for every call,
 * and each one structured-cloned into every judgment was a share of the
 * main thread's cost per close).
 */
export type WindowUpdate =
  | { kind: 'full'; version: number; bars: unknown[]; module: string; params: Record<string, unknown> }
  | { kind: 'next'; version: number; bar: unknown; lookback: number };

/**
 * A call to the pool. `strategy` keys `init` (once per worker and strategy)
 * and the worker's window of bars. `judge`: predict on the window, then
 * decide with `position` (the executor's when the call was made) on the
 * window's last bar.
 */
export type StrategyTask =
  | { op: 'probe'; strategy: string; module: string; role: 'strategy' | 'executor'; params: Record<string, unknown> }
  | { op: 'judge'; strategy: string; state: string; window: WindowUpdate; features: Record<string, number | null>; position: number | null }
  | { op: 'execute'; strategy: string; module: string; params: Record<string, unknown>; state: Record<string, unknown>; signal: unknown; bar: unknown };

/** One judgment. */
export type JudgeTask = Extract<StrategyTask, { op: 'judge' }>;

/**
 * Several strategies' judgments in one pool task (batch.ts), run one after
 * the other in `items` order. Each item's start and stage go into `control`
 * (packStart); each item's answer is posted on `port` as it is done
 * (BatchAnswer), before the next item starts.
 */
export interface BatchTask {
  op: 'batch';
  items: JudgeTask[];
  control: BigInt64Array;
  port: MessagePort;
  /** Wall-clock ms the stamps in `control` count from. */
  epoch: number;
}

/**
 * An item's answer on a batch's port, as it crosses: a flat array of
 * primitives (packAnswer), read back into a TaskResult on the main thread
 * (unpackAnswer). The state and the prediction's extra fields cross as their
 * JSON text (they are JSON, checked so in the worker). Structured-cloning the
 * nested TaskResult cost the main thread 2.1–3.3 µs per answer, the flat
 * array and two JSON.parse 1.0–1.4 µs (receiveMessageOnPort of 100
 * answers, 400 rounds, alternating, on this loaded 2-core machine): one
 * answer per strategy and close.
 */
export type BatchAnswer =
  | readonly [i: number, kind: typeof ANSWER.JUDGE, value: number, confidence: number | null, extraJson: string,
    action: Decision['action'] | null, size: number | null, reason: string | null, decideError: string | null, stateJson: string]
  | readonly [i: number, kind: typeof ANSWER.STALE]
  | readonly [i: number, kind: typeof ANSWER.ERROR, error: string, stage: Stage];

/** The kinds of BatchAnswer. */
export const ANSWER = { JUDGE: 0, STALE: 1, ERROR: 2 } as const;

/** Item `i`'s result as it crosses (a batch holds judgments only: a judged bar, or stale). */
export function packAnswer(i: number, r: TaskResult): BatchAnswer {
  if (r.op === 'stale') return [i, ANSWER.STALE];
  if (r.op !== 'judge') throw new Error(`a batch answers judgments only, not ${r.op}`);
  const p = r.prediction;
  const d = r.decision;
  return [i, ANSWER.JUDGE, p.value, p.confidence, JSON.stringify(p.extra), d?.action ?? null, d?.size ?? null, d?.reason ?? null, r.decideError, r.state];
}

/** A BatchAnswer read back: the item's result, or why it failed and in which stage. */
export function unpackAnswer(a: BatchAnswer): { i: number; result: TaskResult } | { i: number; error: string; stage: Stage } {
  if (a[1] === ANSWER.ERROR) return { i: a[0], error: a[2], stage: a[3] };
  if (a[1] === ANSWER.STALE) return { i: a[0], result: { op: 'stale' } };
  const prediction: Prediction = { value: a[2], confidence: a[3], extra: JSON.parse(a[4]) as Record<string, unknown> };
  const decision: Decision | null = a[5] === null ? null : { action: a[5], size: a[6], reason: a[7] };
  return { i: a[0], result: { op: 'judge', prediction, decision, decideError: a[8], state: a[9] } };
}

/**
 * Where a call has got to, written by the worker into the caller's start
 * flag (pool.ts) beside the start stamp: the stage that started last.
 */
export const Stage = { NONE: 0, PREDICT: 1, DECIDE: 2, EXECUTE: 3, PROBE: 4, LOAD: 5 } as const;
export type Stage = (typeof Stage)[keyof typeof Stage];
/** The start flag's slots: the wall-clock ms the current stage started (0: not started), and that stage. */
export const FLAG_STARTED_AT = 0;
export const FLAG_STAGE = 1;

/*
 * A batch's control word (one BigInt64, so the main thread never reads an
 * item's index with another item's stamp): bits 24… the ms since the batch's
 * epoch the stage started, bits 4–23 the item's index, bits 0–3 the stage.
 * 0: no item started. LOAD (loading the module, `init`, the window) has no
 * deadline of its own, only the outer bound.
 */
const INDEX_SHIFT = 4n;
const TIME_SHIFT = 24n;
/** Items a batch may hold (its index field). */
export const MAX_BATCH_ITEMS = 1 << 20;

/**
 * The control word once the main thread has taken the batch back (batch.ts):
 * no item, stage field 15 (no stage). The worker writes each stamp with
 * compareExchange against its previous one, so it sees the marker and
 * starts nothing more, though its termination is still under way.
 */
export const TAKEN_BACK = 0xfn;

/** The control word saying item `index` entered `stage` `sinceEpochMs` after the epoch. */
export function packStart(index: number, stage: Stage, sinceEpochMs: number): bigint {
  return (BigInt(Math.max(0, sinceEpochMs)) << TIME_SHIFT) | (BigInt(index) << INDEX_SHIFT) | BigInt(stage);
}

/** A control word read back (word ≠ 0). */
export function unpackStart(word: bigint): { index: number; stage: Stage; sinceEpochMs: number } {
  return { index: Number((word >> INDEX_SHIFT) & 0xfffffn), stage: Number(word & 0xfn) as Stage, sinceEpochMs: Number(word >> TIME_SHIFT) };
}

/** A checked prediction. */
export interface Prediction {
  value: number;
  confidence: number | null;
  extra: Record<string, unknown>;
}

/** A checked decision. */
export interface Decision {
  action: 'buy' | 'sell' | 'hold';
  size: number | null;
  reason: string | null;
}

/** A checked execution by a user executor: what filled (nothing when it placed no order). */
export interface Execution {
  price: number;
  size: number;
  fee: number;
}

/** What a call returns: the probe's problem (null: fine), or the result and the state after it. */
export type TaskResult =
  | { op: 'probe'; problem: string | null }
  /** A `next` window update this worker could not apply: send the `full` window. */
  | { op: 'stale' }
  /** A judged bar: the prediction, and the decision or why `decide` failed (`decideError`; then `decision` is null). */
  | { op: 'judge'; prediction: Prediction; decision: Decision | null; decideError: string | null; state: string }
  | { op: 'execute'; execution: Execution | null; state: Record<string, unknown> };

type Fn = (arg: unknown) => unknown;
interface UserModule {
  predict?: Fn;
  decide?: Fn;
  execute?: Fn;
  init?: Fn;
  checkParams?: Fn;
}

const modules = new Map<string, Promise<UserModule>>();
/** Strategies whose `init` ran in this worker. */
const initialized = new Set<string>();
/** A strategy's window of bars in a worker, oldest first, with the module and params that came with it. */
interface Window {
  version: number;
  bars: unknown[];
  module: string;
  params: Record<string, unknown>;
}

/** Each strategy's window in this worker (one per configured strategy: bounded by the config). */
const windows = new Map<string, Window>();

/** Apply `u` to the strategy's window; the window after it, or undefined when this worker does not hold the version `u` builds on. */
function applyWindow(strategy: string, u: WindowUpdate): Window | undefined {
  if (u.kind === 'full') {
    const w: Window = { version: u.version, bars: u.bars, module: u.module, params: u.params };
    windows.set(strategy, w);
    return w;
  }
  const w = windows.get(strategy);
  if (w === undefined || w.version !== u.version - 1) return undefined;
  w.bars.push(u.bar);
  if (w.bars.length > u.lookback) w.bars.shift();
  w.version = u.version;
  return w;
}

function load(specifier: string): Promise<UserModule> {
  let m = modules.get(specifier);
  if (m === undefined) {
    const url = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
    m = import(url) as Promise<UserModule>;
    modules.set(specifier, m);
  }
  return m;
}

/** Run one call, or a batch of judgments (the pool's task function). Throws with a message naming the module's mistake. */
export async function runTask(task: (StrategyTask & { started?: BigInt64Array }) | BatchTask): Promise<TaskResult | null> {
  if (task.op === 'batch') return runBatch(task);
  const flag = task.started;
  return runOne(task, flag === undefined ? noMark : (stage) => markStarted(flag, stage));
}

/** How a call tells its caller a stage started (the deadline of that stage counts from it). */
type Mark = (stage: Stage) => void;
const noMark: Mark = () => {};

async function runOne(task: StrategyTask, mark: Mark): Promise<TaskResult> {
  if (task.op === 'probe') {
    mark(Stage.PROBE);
    return { op: 'probe', problem: await probe(task) };
  }
  if (task.op === 'judge') {
    // Before the module loads or starts: a stale call must not run `init` or flag a start.
    const w = applyWindow(task.strategy, task.window);
    if (w === undefined) return { op: 'stale' };
    return judge(await ready(task.strategy, w.module, w.params), task, w, mark);
  }
  const mod = await ready(task.strategy, task.module, task.params);
  mark(Stage.EXECUTE);
  const out = await mod.execute!({ signal: task.signal, bar: task.bar, params: task.params, state: task.state });
  return { op: 'execute', execution: checkExecution(out), state: checkState(task.state) };
}

/**
 * A batch: each item in turn, its start (LOAD, then each stage) written to
 * the control word and its answer posted before the next item starts, so
 * the main thread can take back the items not started when one overruns.
 */
async function runBatch(task: BatchTask): Promise<null> {
  const { items, control, port, epoch } = task;
  // The word this worker wrote last; a stamp claims the word from it, and fails once the main thread has written TAKEN_BACK.
  let word = 0n;
  let takenBack = false;
  for (let i = 0; i < items.length && !takenBack; i++) {
    let stage: Stage = Stage.LOAD;
    const mark: Mark = (s) => {
      if (takenBack) return;
      stage = s;
      const next = packStart(i, s, Date.now() - epoch);
      if (Atomics.compareExchange(control, 0, word, next) === word) word = next;
      else takenBack = true;
    };
    mark(Stage.LOAD);
    // Taken back: this item and the ones after it went out again (or timed out); judging it here too would judge it twice.
    if (takenBack) break;
    let answer: BatchAnswer;
    try {
      answer = packAnswer(i, await runOne(items[i]!, mark));
    } catch (err) {
      answer = [i, ANSWER.ERROR, err instanceof Error ? err.message : String(err), stage];
    }
    port.postMessage(answer);
  }
  port.close();
  return null;
}

/** The strategy's module, loaded, with its `init` run once in this worker. */
async function ready(strategy: string, module: string, params: Record<string, unknown>): Promise<UserModule> {
  const mod = await load(module);
  if (!initialized.has(strategy)) {
    if (typeof mod.init === 'function') await mod.init({ params });
    initialized.add(strategy);
  }
  return mod;
}

/** `predict` on the window, then `decide` on its prediction; each stage stamps its start (its own deadline: pool.ts, batch.ts). */
async function judge(mod: UserModule, task: JudgeTask, w: Window, mark: Mark): Promise<TaskResult> {
  const { bars, params } = w;
  const state = JSON.parse(task.state) as Record<string, unknown>;
  mark(Stage.PREDICT);
  // The module's own copies: what it does to them cannot change the window kept here.
  const prediction = checkPrediction(await mod.predict!({ bars: bars.map(copyBar), features: task.features, params, state }));
  const afterPredict = stateJson(state);
  mark(Stage.DECIDE);
  try {
    const out = await mod.decide!({
      prediction: { value: prediction.value, confidence: prediction.confidence, ...prediction.extra },
      position: task.position, bar: copyBar(bars.at(-1)), params, state,
    });
    const decision = checkDecision(out);
    return { op: 'judge', prediction, decision, decideError: null, state: stateJson(state) };
  } catch (err) {
    const decideError = err instanceof Error ? err.message : String(err);
    return { op: 'judge', prediction, decision: null, decideError, state: afterPredict };
  }
}

function copyBar(bar: unknown): unknown {
  return { ...(bar as Record<string, unknown>) };
}

/** Stamp a stage's start (pool.ts counts its deadline from it): the stage first, so a stamp never pairs with an older stage. */
function markStarted(flag: BigInt64Array, stage: Stage): void {
  Atomics.store(flag, FLAG_STAGE, BigInt(stage));
  Atomics.store(flag, FLAG_STARTED_AT, BigInt(Date.now()));
}

/** Load the module and check its exports and `params`; the problem as text, or null. */
async function probe(task: Extract<StrategyTask, { op: 'probe' }>): Promise<string | null> {
  let mod: UserModule;
  try {
    mod = await load(task.module);
  } catch (err) {
    return `cannot load the module (${(err as Error).message.split('\n')[0]})`;
  }
  const needs = task.role === 'strategy' ? ['predict', 'decide'] : ['execute'];
  const missing = needs.filter((n) => typeof mod[n as keyof UserModule] !== 'function');
  if (missing.length > 0) return `the module exports no ${missing.join(' and no ')} function`;
  if (typeof mod.checkParams !== 'function') return null;
  try {
    const why = await mod.checkParams(task.params);
    return why === undefined || why === null || why === true ? null : `params: ${String(why)}`;
  } catch (err) {
    return `params: ${(err as Error).message}`;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonText(v: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(v);
  } catch (err) {
    throw new Error(`${what} is not plain JSON (${(err as Error).message})`);
  }
  return text ?? '';
}

function checkPrediction(out: unknown): Prediction {
  if (!isObject(out) || typeof out.value !== 'number' || !Number.isFinite(out.value)) {
    throw new Error('predict must return { value: <finite number>, confidence?: <number> }');
  }
  const { value, confidence, ...extra } = out;
  if (confidence !== undefined && confidence !== null && (typeof confidence !== 'number' || !Number.isFinite(confidence))) {
    throw new Error('predict returned a confidence that is not a finite number');
  }
  const text = jsonText(extra, 'the prediction');
  if (Buffer.byteLength(text) > MAX_PREDICTION_EXTRA_BYTES) {
    throw new Error(`predict returned more than ${MAX_PREDICTION_EXTRA_BYTES} bytes of extra fields`);
  }
  return { value, confidence: typeof confidence === 'number' ? confidence : null, extra: JSON.parse(text) as Record<string, unknown> };
}

function checkDecision(out: unknown): Decision {
  if (!isObject(out) || (out.action !== 'buy' && out.action !== 'sell' && out.action !== 'hold')) {
    throw new Error("decide must return { action: 'buy' | 'sell' | 'hold', size?: <number>, reason?: <text> }");
  }
  const size = out.size;
  if (size !== undefined && size !== null && (typeof size !== 'number' || !Number.isFinite(size) || size <= 0)) {
    throw new Error('decide returned a size that is not a positive finite number');
  }
  const reason = out.reason;
  if (reason !== undefined && reason !== null && typeof reason !== 'string') throw new Error('decide returned a reason that is not text');
  return {
    action: out.action,
    size: typeof size === 'number' ? size : null,
    reason: typeof reason === 'string' ? reason.slice(0, MAX_REASON) : null,
  };
}

function checkExecution(out: unknown): Execution | null {
  if (out === undefined || out === null) return null;
  const ok = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isFinite(v) && v >= min;
  if (!isObject(out) || !ok(out.price, 0) || out.price === 0 || !ok(out.size, 0) || out.size === 0 || (out.fee !== undefined && !ok(out.fee, 0))) {
    throw new Error('execute must return nothing, or { price: <positive>, size: <positive>, fee?: <non-negative> }');
  }
  return { price: out.price, size: out.size, fee: typeof out.fee === 'number' ? out.fee : 0 };
}

function checkState(state: unknown): Record<string, unknown> {
  stateJson(state);
  return state as Record<string, unknown>;
}

/** The state as JSON, checked: an object of at most MAX_STATE_BYTES. */
function stateJson(state: unknown): string {
  if (!isObject(state)) throw new Error('state must stay an object');
  const text = jsonText(state, 'state');
  if (Buffer.byteLength(text) > MAX_STATE_BYTES) throw new Error(`state grew past ${MAX_STATE_BYTES} bytes as JSON`);
  return text;
}
