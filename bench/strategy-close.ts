/**
 * What a bar close costs the main thread at 100 strategies, the strategy
 * runtime alone (no gateway, no sockets): `npx tsx bench/strategy-close.ts
 * [lookback]` (default 50). A real one-thread pool runs bench/strategies/hold.mjs
 * (a trivial model: the runtime's own cost, each prediction and signal
 * written as its channel's JSON); each of 30 closes is fed and
 * waited for (every strategy judged), after 10 to warm up. Prints, per close:
 * the main thread's CPU time (Linux: its schedstat), its busy time
 * (event-loop utilization), the wall time, the synchronous part (`onBar`,
 * what a trade arriving at the close waits behind), mean and worst, and the
 * longest event-loop turn of each close (a setImmediate chain runs beside
 * the close and times the gap between its turns: what a trade arriving
 * anywhere in the close waits at most), median and worst over the closes.
 * docs/strategies.md ("Performance") quotes it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StrategyConfig } from '../src/config/types.ts';
import type { Bar } from '../src/model/records.ts';
import type { StrategyEventBase } from '../src/model/strategy.ts';
import { StrategyRuntime } from '../src/strategies/runtime.ts';
import { predictionMessage, prepareStrategy, signalMessage, type StrategyFormat } from '../src/wire/strategy-json.ts';
import { makeBar } from '../test/support/fake-tickwire.ts';
import { mainThreadCpuMs } from './threads.ts';

const MODULE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'strategies/hold.mjs');
const STRATEGIES = 100;
const WARM_CLOSES = 10;
const CLOSES = 30;
const T0 = 1_700_000_000_000;
const SEC = 1000;

function bar(i: number): Bar {
  return makeBar(T0 + i * SEC, SEC, 100 + (i % 7));
}

const lookback = Number(process.argv[2] ?? 50);
const cfg: StrategyConfig = {
  module: MODULE, exchange: 'simulated', symbol: 'SIM-BTC', timeframe: '1s', lookback, params: { burnMs: 0 },
  features: { sma5: { kind: 'sma', period: 5 } }, timeoutMs: 1_000, maxErrors: 5, executor: { kind: 'paper', cash: 1e6, feeBps: 0, slippageBps: 0 },
};
const noop = (): void => {};
// Each prediction and signal is written as the stream writes it for its channel (its JSON is kept for snapshots whether anyone listens).
const formats = new Map<string, StrategyFormat>();
const format = (e: StrategyEventBase): StrategyFormat => formats.get(e.strategy) ?? formats.set(e.strategy, prepareStrategy(e)).get(e.strategy)!;
let seq = 0;
let written = 0;
const runtime = new StrategyRuntime(
  Object.fromEntries(Array.from({ length: STRATEGIES }, (_, i) => [`s${i}`, cfg])),
  { threads: 1 },
  {
    prediction: (e) => void (written += predictionMessage(format(e), ++seq, e).length),
    signal: (e) => void (written += signalMessage(format(e), ++seq, e).length),
    fill: noop, rejected: noop, status: noop,
  },
  { feedWorkers: 1 },
);
runtime.seed(() => Array.from({ length: lookback }, (_, i) => bar(i)));
let next = lookback;
/** Close one bar; how long the synchronous part and the longest turn took, ms; resolves when every strategy judged it. */
async function close(): Promise<{ sync: number; longestTurn: number }> {
  let done = false;
  let longestTurn = 0;
  let last = performance.now();
  const tick = (): void => {
    const now = performance.now();
    longestTurn = Math.max(longestTurn, now - last);
    last = now;
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  const t0 = performance.now();
  runtime.onBar({ exchange: 'simulated', symbol: 'SIM-BTC', timeframe: '1s', bar: bar(next++) });
  const sync = performance.now() - t0;
  await runtime.idle();
  done = true;
  return { sync, longestTurn: Math.max(longestTurn, sync) };
}

for (let i = 0; i < WARM_CLOSES; i++) await close();
const cpu0 = mainThreadCpuMs();
const busy0 = performance.eventLoopUtilization();
const wall0 = performance.now();
const sync: number[] = [];
const turns: number[] = [];
for (let i = 0; i < CLOSES; i++) {
  const c = await close();
  sync.push(c.sync);
  turns.push(c.longestTurn);
}
turns.sort((a, b) => a - b);
const wall = performance.now() - wall0;
const busy = performance.eventLoopUtilization(busy0);
const cpu1 = mainThreadCpuMs();
await runtime.close();
const perClose = (ms: number) => (ms / CLOSES).toFixed(2);
console.log(
  `${STRATEGIES} strategies, lookback ${lookback}, per close: main thread CPU ${cpu0 === null || cpu1 === null ? '–' : perClose(cpu1 - cpu0)} ms, busy ${perClose(busy.active)} ms, wall ${perClose(wall)} ms; ` +
    `synchronous part mean ${perClose(sync.reduce((a, b) => a + b, 0))} ms, worst ${Math.max(...sync).toFixed(2)} ms; ` +
    `longest turn of a close: median ${turns[CLOSES >> 1]!.toFixed(2)} ms, worst ${turns[CLOSES - 1]!.toFixed(2)} ms`,
);
