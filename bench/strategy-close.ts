/**
 * What a bar close costs the main thread at 100 strategies, the strategy
 * runtime alone (no gateway, no sockets): `npx tsx bench/strategy-close.ts
 * [lookback]` (default 50). A real one-thread pool runs bench/strategies/hold.mjs
 * (a trivial model: the runtime's own cost); each of 30 closes is fed and
 * waited for (every strategy judged), after 10 to warm up. Prints, per close:
 * the main thread's CPU time (Linux: its schedstat), its busy time
 * (event-loop utilization), the wall time, and the synchronous part (`onBar`,
 * what a trade arriving at the close waits behind), mean and worst.
 * docs/strategies.md ("Performance") quotes it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StrategyConfig } from '../src/config/types.ts';
import type { Bar } from '../src/model/records.ts';
import { StrategyRuntime } from '../src/strategies/runtime.ts';
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
const runtime = new StrategyRuntime(
  Object.fromEntries(Array.from({ length: STRATEGIES }, (_, i) => [`s${i}`, cfg])),
  { threads: 1 },
  { prediction: noop, signal: noop, fill: noop, rejected: noop, status: noop },
  { feedWorkers: 1 },
);
runtime.seed(() => Array.from({ length: lookback }, (_, i) => bar(i)));
let next = lookback;
/** Close one bar; how long the synchronous part took, ms; resolves when every strategy judged it. */
async function close(): Promise<number> {
  const t0 = performance.now();
  runtime.onBar({ exchange: 'simulated', symbol: 'SIM-BTC', timeframe: '1s', bar: bar(next++) });
  const sync = performance.now() - t0;
  await runtime.idle();
  return sync;
}

for (let i = 0; i < WARM_CLOSES; i++) await close();
const cpu0 = mainThreadCpuMs();
const busy0 = performance.eventLoopUtilization();
const wall0 = performance.now();
const sync: number[] = [];
for (let i = 0; i < CLOSES; i++) sync.push(await close());
const wall = performance.now() - wall0;
const busy = performance.eventLoopUtilization(busy0);
const cpu1 = mainThreadCpuMs();
await runtime.close();
const perClose = (ms: number) => (ms / CLOSES).toFixed(2);
console.log(
  `${STRATEGIES} strategies, lookback ${lookback}, per close: main thread CPU ${cpu0 === null || cpu1 === null ? '–' : perClose(cpu1 - cpu0)} ms, busy ${perClose(busy.active)} ms, wall ${perClose(wall)} ms; ` +
    `synchronous part mean ${perClose(sync.reduce((a, b) => a + b, 0))} ms, worst ${Math.max(...sync).toFixed(2)} ms`,
);
