/**
 * The pool's side of a call, run in this thread: a worker keeps each
 * strategy's window of bars, so a `predict` brings only the bar just closed
 * (`next`); a worker that does not hold the version it builds on answers
 * `stale` without running anything, and a `full` window replaces what it
 * holds. What the module does to its bars never reaches the kept window.
 * A judgment runs predict then decide in one call; a failing decide still
 * brings its prediction back, with the state as predict left it.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CallSlot } from '../../src/strategies/pool.ts';
import { ANSWER, packAnswer, runTask, Stage, unpackAnswer, type StrategyTask, type WindowUpdate } from '../../src/strategies/task.ts';

const MODULE = path.join(import.meta.dirname, 'fixtures/window.mjs');
const JUDGE = path.join(import.meta.dirname, 'fixtures/judge.mjs');
const bar = (i: number) => ({ openTime: i * 1000, close: 100 + i });
let n = 0;

/** A fresh strategy name per test: the kept windows are this module's state. */
function strategyName(): string {
  return `window-${++n}`;
}

function predict(strategy: string, window: WindowUpdate): Promise<unknown> {
  const task: StrategyTask = { op: 'judge', strategy, state: '{}', window, features: {}, position: null };
  return runTask(task);
}

/** A whole window of window.mjs's bars, as version `version`. */
function full(version: number, bars: unknown[]): WindowUpdate {
  return { kind: 'full', version, bars, module: MODULE, params: {} };
}

function seen(r: unknown): { times: number[]; closes: number[] } {
  const { prediction } = r as { prediction: { extra: { times: number[]; closes: number[] } } };
  return prediction.extra;
}

describe('strategies: the window a worker keeps', () => {
  it('answers stale to a next bar it has no window for, before loading or starting anything', async () => {
    const inits = (globalThis as { __windowInits?: number }).__windowInits ?? 0;
    const r = await predict(strategyName(), { kind: 'next', version: 1, bar: bar(1), lookback: 3 });
    expect(r).toEqual({ op: 'stale' });
    expect((globalThis as { __windowInits?: number }).__windowInits ?? 0).toBe(inits);
  });

  it('appends each next bar to the window it holds, trimmed to lookback', async () => {
    const s = strategyName();
    expect(seen(await predict(s, full(1, [bar(1), bar(2)]))).times).toEqual([1000, 2000]);
    expect(seen(await predict(s, { kind: 'next', version: 2, bar: bar(3), lookback: 3 })).times).toEqual([1000, 2000, 3000]);
    const r = seen(await predict(s, { kind: 'next', version: 3, bar: bar(4), lookback: 3 }));
    // The module spoiled its copies last call: the kept window is untouched.
    expect(r).toEqual({ times: [2000, 3000, 4000], closes: [102, 103, 104] });
  });

  it('answers stale when a version was missed, and takes a full window after it', async () => {
    const s = strategyName();
    await predict(s, full(1, [bar(1), bar(2)]));
    expect(await predict(s, { kind: 'next', version: 3, bar: bar(4), lookback: 2 })).toEqual({ op: 'stale' });
    expect(seen(await predict(s, full(3, [bar(3), bar(4)]))).times).toEqual([3000, 4000]);
    expect(seen(await predict(s, { kind: 'next', version: 4, bar: bar(5), lookback: 2 })).times).toEqual([4000, 5000]);
  });
});

describe('strategies: one call judges a bar', () => {
  function judge(params: Record<string, unknown>, slot = new CallSlot()): Promise<unknown> {
    const window: WindowUpdate = { kind: 'full', version: 1, bars: [bar(1), bar(2)], module: JUDGE, params };
    const task: StrategyTask & { started: BigInt64Array } = { op: 'judge', strategy: strategyName(), state: '{"kept":1}', window, features: {}, position: 0.5, started: slot.started };
    return runTask(task);
  }

  it('runs predict, then decide on its prediction, the position sent and a copy of the window\'s last bar', async () => {
    const slot = new CallSlot();
    const r = await judge({}, slot);
    expect(r).toEqual({
      op: 'judge',
      prediction: { value: 102, confidence: 0.25, extra: { tag: 'x' } },
      decision: { action: 'hold', size: null, reason: JSON.stringify({ prediction: { value: 102, confidence: 0.25, tag: 'x' }, position: 0.5, bar: 2000 }) },
      decideError: null,
      state: '{"kept":1,"predicted":2000,"decided":2000}',
    });
    // The flag names the last stage started, with its stamp (the deadline counts from it).
    expect(slot.stage).toBe(Stage.DECIDE);
    expect(slot.startedAt()).toBeGreaterThan(0);
  });

  it('keeps the prediction when decide throws, with the error and the state as predict left it', async () => {
    expect(await judge({ failDecide: true })).toEqual({
      op: 'judge',
      prediction: { value: 102, confidence: 0.25, extra: { tag: 'x' } },
      decision: null,
      decideError: 'decide failed on purpose\nsecond line',
      state: '{"kept":1,"predicted":2000}',
    });
  });
});

describe('strategy task: a batch item\'s answer as it crosses', () => {
  it('reads back every kind of answer as the result it packed; extra as JSON has it', () => {
    const judged = {
      op: 'judge', prediction: { value: -0.5, confidence: 0.25, extra: { z: [1, 'a'] } }, decision: { action: 'sell', size: 2, reason: 'r' },
      decideError: null, state: '{"n":3,"nested":{"k":true}}',
    } as const;
    expect(unpackAnswer(packAnswer(7, judged))).toEqual({ i: 7, result: judged });
    const decideFailed = { op: 'judge', prediction: { value: 1, confidence: null, extra: {} }, decision: null, decideError: 'boom', state: '{}' } as const;
    expect(unpackAnswer(packAnswer(0, decideFailed))).toEqual({ i: 0, result: decideFailed });
    expect(unpackAnswer(packAnswer(3, { op: 'stale' }))).toEqual({ i: 3, result: { op: 'stale' } });
    expect(unpackAnswer([2, ANSWER.ERROR, 'predict failed', Stage.PREDICT])).toEqual({ i: 2, error: 'predict failed', stage: Stage.PREDICT });
    // JSON's forms: a Date as its text, an undefined field gone, NaN as null.
    const at = new Date(1_700_000_000_000);
    const lossy = { op: 'judge', prediction: { value: 1, confidence: null, extra: { x: Number.NaN, at, gone: undefined } }, decision: null, decideError: 'e', state: '{}' } as const;
    expect(unpackAnswer(packAnswer(1, lossy as never))).toEqual({
      i: 1, result: { op: 'judge', prediction: { value: 1, confidence: null, extra: { x: null, at: at.toISOString() } }, decision: null, decideError: 'e', state: '{}' },
    });
    expect(() => packAnswer(0, { op: 'probe', problem: null })).toThrow(/judgments only/);
  });
});
