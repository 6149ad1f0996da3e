/**
 * Judgments in batches (batch.ts): the strategies due at a close share one
 * pool task per thread, yet each keeps its own deadline and its own
 * failures. A strategy that loops forever times out alone: the ones judged
 * before it in its batch keep their answers (not judged twice), the ones
 * after it go out again on a fresh worker; a module that throws or kills
 * its worker inside a batch costs only its own bar. Order per strategy
 * holds across bars while batches mix strategies.
 */
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { StrategyConfig } from '../../src/config/types.ts';
import type { Bar } from '../../src/model/records.ts';
import type { PredictionEvent, SignalEvent, StrategySummary } from '../../src/model/strategy.ts';
import { Batcher, type SubmitBatch } from '../../src/strategies/batch.ts';
import { CallTimeout, OUTER_BOUND_MS } from '../../src/strategies/deadlines.ts';
import { FeatureSet } from '../../src/strategies/features.ts';
import { PaperExecutor } from '../../src/strategies/paper.ts';
import type { StrategyPool } from '../../src/strategies/pool.ts';
import { StrategyRunner } from '../../src/strategies/runner.ts';
import { Turns } from '../../src/strategies/turns.ts';
import { StrategyRuntime } from '../../src/strategies/runtime.ts';
import { packAnswer, packStart, runTask, Stage, type BatchTask, type JudgeTask, type TaskResult } from '../../src/strategies/task.ts';
import { makeBar } from '../support/fake-tickwire.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const SEC = 1000;
const T0 = 1_700_000_000_000;
const S0 = T0 / SEC;

function strategy(params: Record<string, unknown> = {}, overrides: Partial<StrategyConfig> = {}): StrategyConfig {
  return {
    module: path.join(FIXTURES, 'batched.mjs'), exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1s', lookback: 2,
    params, features: {}, timeoutMs: 400, maxErrors: 5, executor: { kind: 'paper', cash: 1_000, feeBps: 0, slippageBps: 0 },
    ...overrides,
  };
}

function bar(i: number): Bar {
  return makeBar(T0 + i * SEC, SEC, 100);
}

let runtime: StrategyRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

function start(strategies: Record<string, StrategyConfig>, threads = 1) {
  const rec = { predictions: [] as PredictionEvent[], signals: [] as SignalEvent[], statuses: [] as StrategySummary[] };
  const noop = (): void => {};
  runtime = new StrategyRuntime(strategies, { threads }, {
    prediction: (e) => rec.predictions.push(e), signal: (e) => rec.signals.push(e), fill: noop, rejected: noop, status: (s) => rec.statuses.push(s),
  }, { feedWorkers: 1 });
  return rec;
}

/** Close bars `from` … `to` − 1, each judged by every strategy before the next closes. */
async function closeEach(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    runtime!.onBar({ exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1s', bar: bar(i) });
    await runtime!.idle();
  }
}

const barsOf = (events: { strategy: string; barOpenTime: number }[], name: string): number[] =>
  events.filter((e) => e.strategy === name).map((e) => (e.barOpenTime - T0) / SEC);
const threadOf = (rec: { predictions: PredictionEvent[] }, name: string, i: number): unknown =>
  rec.predictions.find((p) => p.strategy === name && p.barOpenTime === T0 + i * SEC)?.extra['thread'];

describe('strategies: batched judgments', () => {
  it('times out only the strategy that loops forever: the others of its batch get that bar\'s and the next bar\'s signals', async () => {
    const rec = start({ a: strategy(), b: strategy(), loop: strategy({ loopBars: [S0 + 3] }), c: strategy(), d: strategy() });
    await closeEach(0, 6);
    for (const name of ['a', 'b', 'c', 'd']) expect(barsOf(rec.signals, name), name).toEqual([1, 2, 3, 4, 5]);
    expect(barsOf(rec.signals, 'loop')).toEqual([1, 2, 4, 5]);
    const byName = Object.fromEntries(runtime!.summaries().map((s) => [s.name, s]));
    expect(byName['loop']).toMatchObject({ timeouts: 1, errors: 0, state: 'running' });
    expect(byName['loop']!.lastError).toMatch(/^predict: call took longer than 400 ms/);
    for (const name of ['a', 'b', 'c', 'd']) expect(byName[name], name).toMatchObject({ timeouts: 0, errors: 0, predictions: 5 });
    // Bar 3 was one batch on one worker: a and b were judged before the loop and kept (judged once: the module refuses a repeat);
    // c and d, not started when it overran, went out again on the worker that replaced it.
    const looped = threadOf(rec, 'a', 3);
    expect(threadOf(rec, 'b', 3)).toBe(looped);
    expect(threadOf(rec, 'c', 3)).not.toBe(looped);
    expect(threadOf(rec, 'd', 3)).toBe(threadOf(rec, 'c', 3));
    expect(threadOf(rec, 'a', 2)).toBe(looped);
  });

  it('costs a strategy that throws, or kills its worker, inside a batch only its own bar', async () => {
    const rec = start({
      a: strategy(), thrower: strategy({ failBars: [S0 + 2] }), b: strategy(), crasher: strategy({ crashBars: [S0 + 3] }), c: strategy(),
    });
    await closeEach(0, 5);
    for (const name of ['a', 'b', 'c']) expect(barsOf(rec.signals, name), name).toEqual([1, 2, 3, 4]);
    expect(barsOf(rec.signals, 'thrower')).toEqual([1, 3, 4]);
    expect(barsOf(rec.signals, 'crasher')).toEqual([1, 2, 4]);
    const byName = Object.fromEntries(runtime!.summaries().map((s) => [s.name, s]));
    expect(byName['thrower']).toMatchObject({ errors: 1, timeouts: 0, predictions: 3 });
    expect(byName['thrower']!.lastError).toBe(`predict: failing on bar ${S0 + 2}`);
    expect(byName['crasher']).toMatchObject({ errors: 1, timeouts: 0, predictions: 3 });
    expect(byName['crasher']!.lastError).toMatch(/^predict: .*(exit|3)/i);
    for (const name of ['a', 'b', 'c']) expect(byName[name], name).toMatchObject({ errors: 0, timeouts: 0, predictions: 4 });
    // The crash took the worker: c, after the crasher in bar 3's batch, was judged on its replacement.
    expect(threadOf(rec, 'c', 3)).not.toBe(threadOf(rec, 'a', 3));
  });

  it('keeps each strategy\'s bars in order while closes pile up and batches mix strategies and bars', async () => {
    // ordered.mjs throws on any judgment out of order (or a decide without its predict); jitter makes strategies finish at different times.
    const ordered = (jitterMs: number): StrategyConfig => strategy({ jitterMs }, { module: path.join(FIXTURES, 'ordered.mjs'), timeoutMs: 5_000 });
    const rec = start({ a: ordered(9), b: ordered(3), c: ordered(0), d: ordered(6) }, 2);
    for (let i = 0; i < 25; i++) runtime!.onBar({ exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1s', bar: bar(i) });
    await runtime!.idle();
    const expected = Array.from({ length: 24 }, (_, k) => k + 1);
    for (const name of ['a', 'b', 'c', 'd']) expect(barsOf(rec.signals, name), name).toEqual(expected);
    expect(runtime!.summaries().map((s) => [s.errors, s.timeouts, s.skipped])).toEqual([[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]);
  });
});

describe('strategies: shutting down', () => {
  it('neither counts nor reports the judgments a clean close cuts short', async () => {
    // loop is stuck in bar 2's batch (deadline far off) with after behind it: close() cuts both.
    const rec = start({ loop: strategy({ loopBars: [S0 + 2] }, { timeoutMs: 10_000, maxErrors: 1 }), after: strategy({}, { timeoutMs: 10_000, maxErrors: 1 }) });
    await closeEach(0, 2);
    runtime!.onBar({ exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1s', bar: bar(2) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = rec.statuses.length;
    await runtime!.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(rec.statuses.slice(before)).toEqual([]);
    expect(runtime!.summaries().map((s) => [s.name, s.errors, s.timeouts, s.state, s.lastError])).toEqual([['loop', 0, 0, 'running', null], ['after', 0, 0, 'running', null]]);
  });
});

describe('strategies: the batcher', () => {
  /** A pool stand-in running each batch in this thread; records the batches. */
  function inThread(batches: string[][]) {
    return (task: BatchTask) => {
      batches.push(task.items.map((t) => t.strategy));
      return runTask(task);
    };
  }

  function judgeTask(strategy: string, i: number): JudgeTask {
    return {
      op: 'judge', strategy, state: '{}', window: { kind: 'full', version: i, bars: [bar(i)], module: path.join(FIXTURES, 'batched.mjs'), params: {} },
      features: {}, position: 0,
    };
  }

  it('sends the judgments of one turn as one task per thread, in the order they came, and answers each', async () => {
    const batches: string[][] = [];
    const batcher = new Batcher(2, inThread(batches));
    const names = ['s1', 's2', 's3', 's4', 's5'];
    const answers = await Promise.all(names.map((n) => batcher.judge(judgeTask(`batcher-${n}`, 1), 1_000)));
    expect(batches).toEqual([['batcher-s1', 'batcher-s2', 'batcher-s3'], ['batcher-s4', 'batcher-s5']]);
    expect(answers.map((a) => a.op)).toEqual(['judge', 'judge', 'judge', 'judge', 'judge']);
    // A later turn: a batch of its own.
    await batcher.judge(judgeTask('batcher-s1', 2), 1_000);
    expect(batches).toHaveLength(3);
  });

  /** A pool stand-in whose "worker" is `script` in this thread (it writes the control word and posts answers itself); rejects when aborted. */
  function scripted(script: (task: BatchTask) => Promise<void>): SubmitBatch {
    return (task, _port, signal) => new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('aborted')));
      script(task).then(resolve, reject);
    });
  }
  const stamp = (task: BatchTask, i: number, stage: Stage): void => {
    Atomics.store(task.control, 0, packStart(i, stage, Date.now() - task.epoch));
  };
  const answer: TaskResult = { op: 'judge', prediction: { value: 1, confidence: null, extra: {} }, decision: { action: 'hold', size: null, reason: null }, decideError: null, state: '{}' };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('cuts an item with a short deadline at its own deadline, though the item before it in the batch has a long one', async () => {
    const batcher = new Batcher(1, scripted(async (task) => {
      stamp(task, 0, Stage.PREDICT);
      await sleep(10);
      task.port.postMessage(packAnswer(0, answer));
      stamp(task, 1, Stage.PREDICT);
      await new Promise(() => {}); // item 1 never ends
    }));
    const slowOk = batcher.judge(judgeTask('batcher-long', 1), 3_000);
    const t0 = Date.now();
    const stuck = batcher.judge(judgeTask('batcher-short', 1), 50);
    await expect(slowOk).resolves.toEqual(answer);
    await expect(stuck).rejects.toBeInstanceOf(CallTimeout);
    // Its deadline is 50 ms from its start (~10 ms in), not the 3 s of the item before it.
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('takes the answer of an item posted just before its deadline was read, not a timeout', async () => {
    let task: BatchTask | undefined;
    let finish: (() => void) | undefined;
    const batcher = new Batcher(1, scripted(async (t) => {
      task = t;
      stamp(t, 0, Stage.PREDICT);
      await new Promise<void>((resolve) => (finish = resolve));
    }));
    const load = Atomics.load.bind(Atomics);
    // The worker posts its answer (and ends) at the instant the main thread reads the control word, its deadline just past.
    const spy = vi.spyOn(Atomics, 'load').mockImplementation(((array: BigInt64Array, index: number) => {
      if (task !== undefined && array === task.control && finish !== undefined) {
        task.port.postMessage(packAnswer(0, answer));
        finish();
        finish = undefined;
      }
      return load(array, index);
    }) as typeof Atomics.load);
    try {
      await expect(batcher.judge(judgeTask('batcher-race', 1), 30)).resolves.toEqual(answer);
    } finally {
      spy.mockRestore();
    }
  });

  it('names the stage and the bound applied when an item is cut while loading (the outer bound, not timeoutMs)', async () => {
    const now = Date.now.bind(Date);
    let ahead = 0;
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => now() + ahead);
    try {
      const batcher = new Batcher(1, scripted(async (task) => {
        stamp(task, 0, Stage.LOAD);
        ahead = OUTER_BOUND_MS + 1_000; // the load (or init) has hung past the outer bound
        await new Promise(() => {});
      }));
      const err = await batcher.judge(judgeTask('batcher-load', 1), 50).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CallTimeout);
      expect(err).toMatchObject({ stage: Stage.LOAD, message: `call took longer than ${OUTER_BOUND_MS} ms` });
    } finally {
      clock.mockRestore();
    }
  });

  it('reports a judgment cut while loading as a load timeout, not a predict one', async () => {
    const problems: string[] = [];
    const pool = { judge: () => Promise.reject(new CallTimeout(OUTER_BOUND_MS, Stage.LOAD)) } as unknown as StrategyPool;
    const noop = (): void => {};
    const cfg = strategy({}, { lookback: 1 });
    const runner = new StrategyRunner('loader', cfg, pool, new Turns(Infinity), new FeatureSet(cfg.features), new PaperExecutor({ kind: 'paper', cash: 1_000, feeBps: 0, slippageBps: 0 }, { fill: noop, rejected: noop }), {
      prediction: noop, signal: noop, fill: noop, rejected: noop, problem: (_r, message) => problems.push(message), awaitTrade: noop,
    }, true);
    runner.onBar(bar(0));
    await runner.idle();
    expect(problems).toEqual([`load: call took longer than ${OUTER_BOUND_MS} ms`]);
    expect(runner.timeouts).toBe(1);
  });

  it('never judges twice an item taken back: a worker whose overrunning item ends before it is stopped starts nothing more', async () => {
    // The stand-in runs the real worker loop (runTask) in this thread and, like a worker not yet terminated, goes on when aborted.
    const g = globalThis as { __tickwireJudged?: Record<string, number>; __tickwireHold?: Promise<void> };
    let release: () => void = () => {};
    g.__tickwireHold = new Promise<void>((resolve) => (release = resolve));
    g.__tickwireJudged = {};
    const held = (strategy: string, params: Record<string, unknown>): JudgeTask => ({
      op: 'judge', strategy, state: '{}', window: { kind: 'full', version: 1, bars: [bar(1)], module: path.join(FIXTURES, 'held.mjs'), params }, features: {}, position: 0,
    });
    const batcher = new Batcher(1, (task) => runTask(task));
    const slow = batcher.judge(held('batcher-held-slow', { tag: 'slow', hold: true }), 50);
    const next = batcher.judge(held('batcher-held-next', { tag: 'next' }), 1_000);
    // The overrunning item ends right after it was taken back, before its worker is stopped.
    await expect(slow.finally(release)).rejects.toBeInstanceOf(CallTimeout);
    await expect(next).resolves.toMatchObject({ op: 'judge' });
    await sleep(50);
    expect(g.__tickwireJudged).toEqual({ slow: 1, next: 1 });
  });

  it('rejects the judgments still waiting when closed, and every later one', async () => {
    const batches: string[][] = [];
    const batcher = new Batcher(1, inThread(batches));
    const waiting = [batcher.judge(judgeTask('batcher-w1', 1), 1_000), batcher.judge(judgeTask('batcher-w2', 1), 1_000)];
    batcher.close(new Error('the pool is closing'));
    for (const w of waiting) await expect(w).rejects.toThrow('the pool is closing');
    await expect(batcher.judge(judgeTask('batcher-w3', 1), 1_000)).rejects.toThrow(/closed/);
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([]);
  });
});
