/**
 * The pool's side of a call, run in this thread: a worker keeps each
 * strategy's window of bars, so a `predict` brings only the bar just closed
 * (`next`); a worker that does not hold the version it builds on answers
 * `stale` without running anything, and a `full` window replaces what it
 * holds. What the module does to its bars never reaches the kept window.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTask, type StrategyTask, type WindowUpdate } from '../../src/strategies/task.ts';

const MODULE = path.join(import.meta.dirname, 'fixtures/window.mjs');
const bar = (i: number) => ({ openTime: i * 1000, close: 100 + i });
let n = 0;

/** A fresh strategy name per test: the kept windows are this module's state. */
function strategyName(): string {
  return `window-${++n}`;
}

function predict(strategy: string, window: WindowUpdate): Promise<unknown> {
  const task: StrategyTask = { op: 'predict', strategy, module: MODULE, params: {}, state: {}, window, features: {} };
  return runTask(task);
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
    expect(seen(await predict(s, { kind: 'full', version: 1, bars: [bar(1), bar(2)] })).times).toEqual([1000, 2000]);
    expect(seen(await predict(s, { kind: 'next', version: 2, bar: bar(3), lookback: 3 })).times).toEqual([1000, 2000, 3000]);
    const r = seen(await predict(s, { kind: 'next', version: 3, bar: bar(4), lookback: 3 }));
    // The module spoiled its copies last call: the kept window is untouched.
    expect(r).toEqual({ times: [2000, 3000, 4000], closes: [102, 103, 104] });
  });

  it('answers stale when a version was missed, and takes a full window after it', async () => {
    const s = strategyName();
    await predict(s, { kind: 'full', version: 1, bars: [bar(1), bar(2)] });
    expect(await predict(s, { kind: 'next', version: 3, bar: bar(4), lookback: 2 })).toEqual({ op: 'stale' });
    expect(seen(await predict(s, { kind: 'full', version: 3, bars: [bar(3), bar(4)] })).times).toEqual([3000, 4000]);
    expect(seen(await predict(s, { kind: 'next', version: 4, bar: bar(5), lookback: 2 })).times).toEqual([4000, 5000]);
  });
});
