/**
 * Ingest benchmark, peer side: the same in-memory frames through tardis-dev's
 * public Binance pipeline, in a worker thread of its own.
 *
 * Public functions used (tardis-dev 13): `normalizeTrades('binance', now)`
 * (the mapper its real-time and replay streams apply to each message:
 * `canHandle` + `map`), `computeTradeBars({ kind: 'time', interval })` (its
 * trade-bar computable, one per timeframe) and `compute()` (its combinator
 * over an async iterable of normalized messages, keeping computables per
 * symbol). Per frame, as its real-time feed does: a `new Date()` local
 * timestamp and `JSON.parse`.
 *
 * Two modes:
 *  - `compute`: an async generator of normalized trades piped through
 *    `compute(...)`: how a tardis-dev user writes it.
 *  - `direct`: the mapper and one computable per (symbol, timeframe) called
 *    synchronously, no async iteration: the pipeline's best case.
 * Posts one `IngestRound` per timed round (fresh state each), then `done`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compute, computeTradeBars, normalizeTrades, type Computable, type Trade, type TradeBar } from 'tardis-dev';
import { parseTimeframe } from '../src/model/timeframes.ts';
import { ingestFrames } from './frames.ts';
import { postRounds, type TimedRound } from './ingest-rounds.ts';
import { threadCpuMs } from './threads.ts';
import type { IngestWorkerData } from './ingest.ts';

const data = workerData as IngestWorkerData & { mode: 'direct' | 'compute' };
const port = parentPort!;
const { frames } = ingestFrames(data.frames, data.symbols, data.seed);
const factories = data.timeframes.map((tf) => computeTradeBars({ kind: 'time', interval: parseTimeframe(tf).ms }));

/** The direct pipeline: mapper + one computable per (symbol, timeframe), synchronously. */
function direct(): TimedRound {
  const mapper = normalizeTrades('binance', new Date());
  const bySymbol = new Map<string, Computable<TradeBar>[]>();
  let trades = 0;
  let bars = 0;
  let skipped = 0;
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  for (let i = 0; i < frames.length; i++) {
    const localTimestamp = new Date();
    const message = JSON.parse(frames[i]!);
    if (!mapper.canHandle(message)) {
      skipped++;
      continue;
    }
    for (const trade of mapper.map(message, localTimestamp) ?? []) {
      trades++;
      let computables = bySymbol.get(trade.symbol);
      if (computables === undefined) bySymbol.set(trade.symbol, (computables = factories.map((f) => f())));
      for (const c of computables) for (const _bar of c.compute(trade)) bars++;
    }
  }
  const ms = performance.now() - t0;
  return { ms, t0, cpuMs: threadCpuMs() - cpu0, frames: frames.length, trades, malformed: skipped, overflow: 0, bars };
}

/** What a tardis-dev user writes: normalized messages as an async iterable, through `compute`. */
async function viaCompute(): Promise<TimedRound> {
  let trades = 0;
  let bars = 0;
  let skipped = 0;
  async function* normalized(): AsyncIterableIterator<Trade> {
    const mapper = normalizeTrades('binance', new Date());
    for (let i = 0; i < frames.length; i++) {
      const localTimestamp = new Date();
      const message = JSON.parse(frames[i]!);
      if (!mapper.canHandle(message)) {
        skipped++;
        continue;
      }
      for (const trade of mapper.map(message, localTimestamp) ?? []) yield trade;
    }
  }
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  for await (const m of compute(normalized(), ...factories)) {
    if (m.type === 'trade') trades++;
    else bars++;
  }
  const ms = performance.now() - t0;
  return { ms, t0, cpuMs: threadCpuMs() - cpu0, frames: frames.length, trades, malformed: skipped, overflow: 0, bars };
}

const run = data.mode === 'direct' ? async () => direct() : viaCompute;
await postRounds(port, data.warmupRounds, data.rounds, run);
