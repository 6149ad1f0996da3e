/**
 * Ingest benchmark, peer side: the same in-memory frames through tardis-dev's
 * public Binance pipeline, in a worker thread of its own.
 *
 * The pipeline per frame is tardis-pipeline.ts (its normalizer, its trade
 * bars); `compute()` is its combinator over an async iterable of normalized
 * messages, keeping computables per symbol.
 *
 * Two modes:
 *  - `compute`: an async generator of normalized trades piped through
 *    `compute(...)`: how a tardis-dev user writes it.
 *  - `direct`: the mapper and one computable per (symbol, timeframe) called
 *    synchronously, no async iteration: the pipeline's best case.
 * Posts one `IngestRound` per timed round (fresh state each), then `done`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compute, normalizeTrades, type Trade } from 'tardis-dev';
import { ingestFrames } from './frames.ts';
import { postRounds, type TimedRound } from './ingest-rounds.ts';
import { tardisBarFactories, TardisPipeline } from './tardis-pipeline.ts';
import { threadCpuMs } from './threads.ts';
import type { IngestWorkerData } from './ingest.ts';

const data = workerData as IngestWorkerData & { mode: 'direct' | 'compute' };
const port = parentPort!;
const { frames } = ingestFrames(data.frames, data.symbols, data.seed);
const factories = tardisBarFactories(data.timeframes);

/** The direct pipeline: mapper + one computable per (symbol, timeframe), synchronously. */
function direct(): TimedRound {
  const pipeline = new TardisPipeline(factories);
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  for (let i = 0; i < frames.length; i++) pipeline.frame(frames[i]!);
  const ms = performance.now() - t0;
  const { trades, bars, skipped } = pipeline;
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
