/**
 * The strategy runtime over a real piscina pool: warm-up, strict ordering per
 * strategy, deadlines (a call past it is aborted, that bar gets no signal, the
 * next goes on), errors and worker crashes (counted, reported), pausing after
 * maxErrors, re-judging amended bars, paper fills at the next trade (no
 * look-ahead), user executors, and the start-up probe's config issues.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutorConfig, StrategyConfig } from '../../src/config/types.ts';
import type { Bar } from '../../src/model/records.ts';
import type { FillEvent, PredictionEvent, RejectionEvent, SignalEvent, StrategySummary } from '../../src/model/strategy.ts';
import { StrategyRuntime } from '../../src/strategies/runtime.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { until } from '../support/until.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const SEC = 1000;
const T0 = 1_700_000_000_000;

function strategy(overrides: Partial<StrategyConfig> = {}): StrategyConfig {
  return {
    module: path.join(FIXTURES, 'ordered.mjs'),
    exchange: 'binance',
    symbol: 'BTCUSDT',
    timeframe: '1s',
    lookback: 3,
    params: {},
    features: { sma3: { kind: 'sma', period: 3 } },
    timeoutMs: 2_000,
    maxErrors: 5,
    executor: { kind: 'paper', cash: 1_000, feeBps: 10, slippageBps: 20 },
    ...overrides,
  };
}

/** Bar i of the 1s series: open T0 + i s, close = price + 1 (makeBar). */
function bar(i: number, price = 100, overrides: Partial<Bar> = {}): Bar {
  return makeBar(T0 + i * SEC, SEC, price, true, overrides);
}

class Recorder {
  predictions: PredictionEvent[] = [];
  signals: SignalEvent[] = [];
  fills: FillEvent[] = [];
  rejections: RejectionEvent[] = [];
  statuses: StrategySummary[] = [];
  output = {
    prediction: (e: PredictionEvent) => this.predictions.push(e),
    signal: (e: SignalEvent) => this.signals.push(e),
    fill: (e: FillEvent) => this.fills.push(e),
    rejected: (e: RejectionEvent) => this.rejections.push(e),
    status: (s: StrategySummary) => this.statuses.push(s),
  };
}

let runtime: StrategyRuntime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
});

function start(strategies: Record<string, StrategyConfig>, threads = 1): Recorder {
  const rec = new Recorder();
  runtime = new StrategyRuntime(strategies, { threads }, rec.output, { feedWorkers: 1 });
  return rec;
}

function close(i: number, price = 100, overrides: Partial<Bar> = {}): void {
  runtime!.onBar({ exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1s', bar: bar(i, price, overrides) });
}

describe('strategies: runtime', () => {
  it('warms up on lookback closed bars (seeded ones count), then judges every close in order', async () => {
    const rec = start({ s: strategy({ lookback: 3 }) });
    runtime!.seed(() => [bar(0), bar(1)]);
    expect(runtime!.summaries()[0]!.state).toBe('warming');
    for (let i = 2; i < 12; i++) close(i);
    await runtime!.idle();
    expect(runtime!.summaries()[0]!.state).toBe('running');
    // Bar 2 is the third: the first judged. The module throws if any call comes out of order.
    expect(rec.predictions.map((p) => (p.barOpenTime - T0) / SEC)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(rec.signals.map((s) => (s.barOpenTime - T0) / SEC)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(runtime!.summaries()[0]).toMatchObject({ errors: 0, timeouts: 0, predictions: 10, signals: 10 });
    const p = rec.predictions[0]!;
    expect(p).toMatchObject({ strategy: 's', value: 101, confidence: 0.5, revision: 0, extra: { n: 3, sma: 101 } });
    expect(p.latencyUs).toBeGreaterThan(0);
  });

  it('keeps each strategy ordered while several share a pool of two threads', async () => {
    const rec = start({
      a: strategy({ params: { jitterMs: 15 } }),
      b: strategy({ params: { jitterMs: 25 } }),
      c: strategy({ params: { jitterMs: 5 } }),
    }, 2);
    for (let i = 0; i < 30; i++) close(i);
    await runtime!.idle();
    for (const name of ['a', 'b', 'c']) {
      const times = rec.signals.filter((s) => s.strategy === name).map((s) => (s.barOpenTime - T0) / SEC);
      expect(times).toEqual(Array.from({ length: 28 }, (_, k) => k + 2));
    }
    expect(runtime!.summaries().map((s) => s.errors)).toEqual([0, 0, 0]);
  });

  it('aborts a call past its deadline: that bar gets no signal, the next one does', async () => {
    const rec = start({ s: strategy({ timeoutMs: 300, params: { slowBars: [T0 / SEC + 4], slowMs: 3_000 } }) });
    for (let i = 0; i < 7; i++) close(i);
    await runtime!.idle();
    expect(rec.signals.map((s) => (s.barOpenTime - T0) / SEC)).toEqual([2, 3, 5, 6]);
    const s = runtime!.summaries()[0]!;
    expect(s).toMatchObject({ timeouts: 1, errors: 0, state: 'running' });
    expect(s.lastError).toMatch(/predict: call took longer than 300 ms/);
    expect(rec.statuses.some((x) => x.timeouts === 1)).toBe(true);
  });

  it('gives decide its own deadline in the same call: a slow decide is cut, named, and loses that bar\'s prediction too', async () => {
    const rec = start({ s: strategy({ timeoutMs: 300, params: { decideSlowBars: [T0 / SEC + 4], slowMs: 3_000 } }) });
    for (let i = 0; i < 7; i++) close(i);
    await runtime!.idle();
    expect(rec.predictions.map((p) => (p.barOpenTime - T0) / SEC)).toEqual([2, 3, 5, 6]);
    expect(rec.signals.map((s) => (s.barOpenTime - T0) / SEC)).toEqual([2, 3, 5, 6]);
    const s = runtime!.summaries()[0]!;
    expect(s).toMatchObject({ timeouts: 1, errors: 0, predictions: 4, signals: 4, state: 'running' });
    expect(s.lastError).toMatch(/^decide: call took longer than 300 ms/);
  });

  it('publishes and counts the prediction of a bar whose decide throws, then the error; no signal for that bar', async () => {
    const rec = start({ s: strategy({ params: { decideFailBars: [T0 / SEC + 3] } }) });
    for (let i = 0; i < 6; i++) close(i);
    await runtime!.idle();
    expect(rec.predictions.map((p) => (p.barOpenTime - T0) / SEC)).toEqual([2, 3, 4, 5]);
    expect(rec.signals.map((s) => (s.barOpenTime - T0) / SEC)).toEqual([2, 4, 5]);
    const s = runtime!.summaries()[0]!;
    expect(s).toMatchObject({ errors: 1, timeouts: 0, predictions: 4, signals: 3, state: 'running' });
    expect(s.lastError).toBe(`decide: decide failing on bar ${T0 / SEC + 3}`);
  });

  it('counts the deadline from a call\'s start: waiting for the thread longer than timeoutMs is no timeout', async () => {
    // One thread: quick's first call waits behind slow's 900 ms predict, three times its own deadline.
    const rec = start({
      slow: strategy({ timeoutMs: 5_000, params: { slowBars: [T0 / SEC + 2], slowMs: 900 } }),
      quick: strategy({ timeoutMs: 300 }),
    });
    for (let i = 0; i < 5; i++) close(i);
    await runtime!.idle();
    expect(runtime!.summaries().map((s) => [s.name, s.timeouts, s.errors, s.signals])).toEqual([['slow', 0, 0, 3], ['quick', 0, 0, 3]]);
    expect(rec.signals.filter((s) => s.strategy === 'quick').map((s) => (s.barOpenTime - T0) / SEC)).toEqual([2, 3, 4]);
    expect(runtime!.summaries()[1]!.latencyUs.p99!).toBeGreaterThan(300_000);
  });

  it('counts a throwing module and a crashed worker as errors and goes on', async () => {
    const rec = start({ s: strategy({ params: { failBars: [T0 / SEC + 3], crashBars: [T0 / SEC + 5] } }) });
    for (let i = 0; i < 8; i++) close(i);
    await runtime!.idle();
    expect(rec.signals.map((s) => (s.barOpenTime - T0) / SEC)).toEqual([2, 4, 6, 7]);
    const s = runtime!.summaries()[0]!;
    expect(s).toMatchObject({ errors: 2, timeouts: 0, state: 'running' });
    expect(rec.statuses.filter((x) => x.errors > 0).map((x) => x.lastError)).toEqual([
      expect.stringMatching(/failing on bar/),
      expect.stringMatching(/predict: .*(exit|3)/i),
    ]);
  });

  it('hands predict the exact window though bars cross once: after a crashed worker, an amended bar, in a pool of two threads', async () => {
    const rec = start({ s: strategy({ module: path.join(FIXTURES, 'window.mjs'), params: { crashAt: T0 / SEC + 5 } }) }, 2);
    for (let i = 0; i < 8; i++) close(i);
    await runtime!.idle();
    close(6, 200, { revision: 1 }); // an older bar than the newest (7) amended
    await runtime!.idle();
    for (let i = 8; i < 10; i++) close(i);
    await runtime!.idle();
    const windows = rec.predictions.map((p) => {
      const { times, closes } = p.extra as { times: number[]; closes: number[] };
      return { bar: (p.barOpenTime - T0) / SEC, revision: p.revision, times: times.map((t) => (t - T0) / SEC), closes };
    });
    expect(windows).toEqual([
      { bar: 2, revision: 0, times: [0, 1, 2], closes: [101, 101, 101] },
      { bar: 3, revision: 0, times: [1, 2, 3], closes: [101, 101, 101] },
      { bar: 4, revision: 0, times: [2, 3, 4], closes: [101, 101, 101] },
      // Bar 5 crashed its worker: no prediction; the fresh worker is sent the whole window.
      { bar: 6, revision: 0, times: [4, 5, 6], closes: [101, 101, 101] },
      { bar: 7, revision: 0, times: [5, 6, 7], closes: [101, 101, 101] },
      // The amended bar is judged with the window up to it, then the newer bars see the amendment.
      { bar: 6, revision: 1, times: [5, 6], closes: [101, 201] },
      { bar: 8, revision: 0, times: [6, 7, 8], closes: [201, 101, 101] },
      { bar: 9, revision: 0, times: [7, 8, 9], closes: [101, 101, 101] },
    ]);
    expect(runtime!.summaries()[0]).toMatchObject({ errors: 1, timeouts: 0, predictions: 8 });
  });

  it('pauses a strategy after maxErrors failures in a row and calls it no more', async () => {
    const rec = start({ bad: strategy({ maxErrors: 3, params: { every: 'fail' } }), good: strategy() });
    for (let i = 0; i < 10; i++) close(i);
    await runtime!.idle();
    const [bad, good] = runtime!.summaries();
    expect(bad).toMatchObject({ state: 'paused', errors: 3, predictions: 0 });
    expect(bad!.lastError).toMatch(/paused after 3 failures in a row/);
    expect(good).toMatchObject({ state: 'running', errors: 0, signals: 8 });
    expect(rec.statuses.some((s) => s.name === 'bad' && s.state === 'paused')).toBe(true);
    close(10);
    await runtime!.idle();
    expect(runtime!.summaries()[0]!.errors).toBe(3);
  });

  it('pauses a strategy whose decide keeps failing, though each predict succeeds', async () => {
    const rec = start({ s: strategy({ maxErrors: 3, params: { decideFailBars: Array.from({ length: 10 }, (_, k) => T0 / SEC + k) } }) });
    for (let i = 0; i < 8; i++) close(i);
    await runtime!.idle();
    expect(runtime!.summaries()[0]).toMatchObject({ state: 'paused', errors: 3, predictions: 3, signals: 0 });
    expect(rec.predictions.map((p) => (p.barOpenTime - T0) / SEC)).toEqual([2, 3, 4]);
    expect(runtime!.summaries()[0]!.lastError).toMatch(/^paused after 3 failures in a row; last: decide: decide failing on bar/);
  });

  it('resumes a paused strategy on request: judged again from the next bar, its failure run counted anew', async () => {
    const rec = start({ bad: strategy({ maxErrors: 2, params: { every: 'fail' } }), good: strategy() });
    for (let i = 0; i < 4; i++) close(i);
    await runtime!.idle();
    expect(runtime!.summaries()[0]).toMatchObject({ state: 'paused', errors: 2 });
    expect(() => runtime!.resume('good')).toThrow(expect.objectContaining({ code: 'CHANGE_REFUSED' }));
    expect(() => runtime!.resume('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(runtime!.resume('bad')).toMatchObject({ name: 'bad', state: 'running', errors: 2 });
    expect(rec.statuses.at(-1)).toMatchObject({ name: 'bad', state: 'running' });
    // Still failing: called again on each new bar, paused again after 2 more in a row.
    for (let i = 4; i < 8; i++) close(i);
    await runtime!.idle();
    expect(runtime!.summaries()[0]).toMatchObject({ state: 'paused', errors: 4 });
  });

  it('pauses a strategy on request: no bar is judged until it is resumed, its window still follows the bars', async () => {
    const rec = start({ s: strategy(), other: strategy() });
    for (let i = 0; i < 3; i++) close(i);
    await runtime!.idle();
    expect(runtime!.pause('s')).toMatchObject({ name: 's', state: 'paused' });
    expect(rec.statuses.at(-1)).toMatchObject({ name: 's', state: 'paused' });
    expect(() => runtime!.pause('s')).toThrow(expect.objectContaining({ code: 'CHANGE_REFUSED' }));
    expect(() => runtime!.pause('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    for (let i = 3; i < 6; i++) close(i);
    await runtime!.idle();
    const judged = (name: string) => rec.predictions.filter((p) => p.strategy === name).map((p) => (p.barOpenTime - T0) / SEC);
    expect(judged('s')).toEqual([2]);
    expect(judged('other')).toEqual([2, 3, 4, 5]);
    expect(runtime!.resume('s')).toMatchObject({ state: 'running' });
    close(6);
    await runtime!.idle();
    expect(judged('s')).toEqual([2, 6]);
    // Judged on the window as it stands: the bars closed while paused are in it (ordered.mjs answers with the window's open times).
    expect(rec.predictions.filter((p) => p.strategy === 's').at(-1)!.extra).toEqual(rec.predictions.filter((p) => p.strategy === 'other').at(-1)!.extra);
  });

  it('judges an amended bar again, marked with its revision, without placing another order', async () => {
    const rec = start({ s: strategy() });
    for (let i = 0; i < 4; i++) close(i);
    await runtime!.idle();
    close(3, 200, { revision: 1 });
    await runtime!.idle();
    const last = rec.predictions.at(-1)!;
    expect(last).toMatchObject({ barOpenTime: T0 + 3 * SEC, revision: 1, value: 201 });
    // sma3 over closes 101, 101, 201 (the newest replaced, not appended).
    expect(last.extra['sma']).toBeCloseTo((101 + 101 + 201) / 3, 9);
    expect(rec.signals.at(-1)).toMatchObject({ id: `s:${T0 + 3 * SEC}:1`, revision: 1 });
    runtime!.onTrade('binance', 'BTCUSDT', 150, T0 + 10 * SEC);
    // Orders of first judgments only (no fill yet, so bar 3 bought too); the revision placed none.
    expect(rec.fills.map((f) => f.signalId)).toEqual([`s:${T0 + 2 * SEC}:0`, `s:${T0 + 3 * SEC}:0`]);
  });

  it('computes features once for strategies of the same series, lookback and features, each seeing what it would alone', async () => {
    const rec = start({ a: strategy(), b: strategy(), c: strategy({ lookback: 4 }) });
    const price = (i: number): number => 100 + ((i * 37) % 11);
    const reads: number[] = [];
    runtime!.seed((_exchange, _symbol, _timeframe, limit) => {
      reads.push(limit);
      return [bar(0, price(0)), bar(1, price(1))];
    });
    // One read per set of strategies sharing their features (a and b; c has another lookback).
    expect(reads).toEqual([3, 4]);
    for (let i = 2; i < 8; i++) close(i, price(i));
    await runtime!.idle();
    close(7, 300, { revision: 1 });
    await runtime!.idle();
    const closes = (i: number, amended = false): number => (amended && i === 7 ? 301 : price(i) + 1);
    const sma3 = (i: number, amended = false): number => (closes(i - 2) + closes(i - 1) + closes(i, amended)) / 3;
    for (const [name, first] of [['a', 2], ['b', 2], ['c', 3]] as const) {
      const seen = rec.predictions.filter((p) => p.strategy === name).map((p) => [(p.barOpenTime - T0) / SEC, p.revision, p.extra['sma']]);
      const expected = Array.from({ length: 8 - first }, (_, k) => [first + k, 0, sma3(first + k)]);
      expected.push([7, 1, sma3(7, true)]);
      expect(seen.length).toBe(expected.length);
      for (let k = 0; k < expected.length; k++) {
        expect(seen[k]!.slice(0, 2)).toEqual(expected[k]!.slice(0, 2));
        expect(seen[k]![2]).toBeCloseTo(expected[k]![2]!, 9);
      }
    }
  });

  it('fills a paper order at the next trade after the signal, never at the judged bar', async () => {
    const rec = start({ s: strategy() });
    for (let i = 0; i < 3; i++) close(i); // bar 2 closes at 101: buy 1
    runtime!.onTrade('binance', 'BTCUSDT', 90, T0 + 3 * SEC); // before the signal exists: not a fill
    await runtime!.idle();
    expect(rec.signals[0]).toMatchObject({ action: 'buy', size: 1 });
    expect(rec.fills).toHaveLength(0);
    runtime!.onTrade('binance', 'BTCUSDT', 110, T0 + 3 * SEC + 5);
    runtime!.onTrade('binance', 'BTCUSDT', 120, T0 + 3 * SEC + 6);
    expect(rec.fills).toHaveLength(1);
    const f = rec.fills[0]!;
    const price = 110 * (1 + 20 / 10_000);
    expect(f).toMatchObject({ side: 'buy', size: 1, signalId: `s:${T0 + 2 * SEC}:0`, ts: T0 + 3 * SEC + 5 });
    expect(f.price).toBeCloseTo(price, 9);
    expect(f.fee).toBeCloseTo(price * 0.001, 9);
    expect(f.cash).toBeCloseTo(1_000 - price - price * 0.001, 9);
    // Bar 3 closes below 100: sell the position at the next trade, 95.
    close(3, 90);
    await runtime!.idle();
    runtime!.onTrade('binance', 'BTCUSDT', 95, T0 + 4 * SEC + 1);
    const account = runtime!.detail('s')!.account!;
    const sell = 95 * (1 - 20 / 10_000);
    expect(rec.fills[1]).toMatchObject({ side: 'sell', size: 1, position: 0 });
    expect(account.realizedPnl).toBeCloseTo(sell - price - price * 0.001 - sell * 0.001, 9);
    expect(account.position).toBe(0);
    expect(account.maxDrawdown).toBeGreaterThan(0);
    expect(runtime!.detail('s')!.signalsRecent.map((s) => s.action)).toEqual(['buy', 'sell']);
  });

  it('routes a trade only to the orders of its own symbol, each filled once, at the first trade after its signal', async () => {
    const rec = start({ a: strategy(), b: strategy(), eth: strategy({ symbol: 'ETHUSDT' }) });
    for (let i = 0; i < 3; i++) {
      close(i);
      runtime!.onBar({ exchange: 'binance', symbol: 'ETHUSDT', timeframe: '1s', bar: bar(i) });
    }
    await runtime!.idle();
    expect(rec.signals.map((s) => `${s.strategy} ${s.action}`).sort()).toEqual(['a buy', 'b buy', 'eth buy']);
    runtime!.onTrade('binance', 'ETHUSDT', 50, T0 + 3 * SEC + 1);
    expect(rec.fills.map((f) => `${f.strategy} ${f.ts}`)).toEqual([`eth ${T0 + 3 * SEC + 1}`]);
    runtime!.onTrade('binance', 'BTCUSDT', 110, T0 + 3 * SEC + 2);
    runtime!.onTrade('binance', 'BTCUSDT', 111, T0 + 3 * SEC + 3);
    runtime!.onTrade('binance', 'ETHUSDT', 51, T0 + 3 * SEC + 4);
    expect(rec.fills.map((f) => `${f.strategy} ${f.ts}`).sort()).toEqual([`a ${T0 + 3 * SEC + 2}`, `b ${T0 + 3 * SEC + 2}`, `eth ${T0 + 3 * SEC + 1}`]);
    // A new order of one strategy waits again: filled at the next trade after its signal, the other strategy's book unchanged.
    close(3, 90);
    await runtime!.idle();
    runtime!.onTrade('binance', 'BTCUSDT', 95, T0 + 4 * SEC + 1);
    expect(rec.fills.slice(3).map((f) => `${f.strategy} ${f.side} ${f.ts}`).sort()).toEqual([`a sell ${T0 + 4 * SEC + 1}`, `b sell ${T0 + 4 * SEC + 1}`]);
    expect(runtime!.detail('eth')!.account!.position).toBe(1);
  });

  it('refuses a paper order it cannot afford, with the reason', async () => {
    const rec = start({ s: strategy({ executor: { kind: 'paper', cash: 50, feeBps: 0, slippageBps: 0 } }) });
    for (let i = 0; i < 3; i++) close(i);
    await runtime!.idle();
    runtime!.onTrade('binance', 'BTCUSDT', 100, T0 + 3 * SEC);
    expect(rec.fills).toEqual([]);
    expect(rec.rejections[0]!.reason).toMatch(/cannot afford 1 at 100: needs 100 with fees, cash is 50/);
    expect(runtime!.detail('s')!.account!.rejected).toBe(1);
  });

  it('runs a user executor in the pool and books what it filled', async () => {
    const executor: ExecutorConfig = { kind: 'module', module: path.join(FIXTURES, 'executor.mjs'), params: {} };
    const rec = start({ s: strategy({ executor }) });
    for (let i = 0; i < 3; i++) close(i);
    await runtime!.idle();
    expect(rec.fills).toEqual([expect.objectContaining({ side: 'buy', price: 102, size: 1, fee: 0.5, position: 1, cash: -102.5 })]);
    expect(runtime!.summaries()[0]!.fills).toBe(1);
  });

  it('reports modules that cannot run as config issues at their key path', async () => {
    start({
      ok: strategy(),
      nodecide: strategy({ module: path.join(FIXTURES, 'no-decide.mjs') }),
      params: strategy({ module: path.join(FIXTURES, 'checked-params.mjs'), params: { fast: 20, slow: 5 } }),
      missingpkg: strategy({ module: 'tickwire-no-such-package' }),
    });
    const issues = await runtime!.probe();
    expect(issues).toEqual([
      { path: 'strategies.nodecide.module', message: expect.stringMatching(/exports no decide function/) },
      { path: 'strategies.params.params', message: 'fast must be below slow, expected params the module accepts' },
      { path: 'strategies.missingpkg.module', message: expect.stringMatching(/cannot load the module/) },
    ]);
  });
});

describe('strategies: status while calls are slow', () => {
  it('skips the oldest waiting bars past the queue bound instead of growing', async () => {
    start({ s: strategy({ lookback: 1, params: { jitterMs: 0, slowBars: [T0 / SEC], slowMs: 1_500 } }) });
    close(0);
    await new Promise((resolve) => setImmediate(resolve)); // the slow judgment of bar 0 starts (turns.ts)
    for (let i = 1; i < 70; i++) close(i);
    await until(() => runtime!.summaries()[0]!.skipped > 0, 10_000, 'a skipped bar');
    await runtime!.idle();
    const s = runtime!.summaries()[0]!;
    expect(s.skipped).toBe(70 - 1 - 64);
    expect(s.predictions).toBe(65);
  });
});
