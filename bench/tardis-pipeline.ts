/**
 * The peer pipeline of the ingest benchmarks: what a tardis-dev user runs on
 * each Binance frame, built from its public functions (tardis-dev 13). Per
 * frame, as its real-time feed does: a `new Date()` local timestamp and
 * `JSON.parse`; then `normalizeTrades('binance', …)` (`canHandle` + `map`,
 * the mapper its streams apply) and one `computeTradeBars({ kind: 'time' })`
 * computable per (symbol, timeframe), called synchronously: the pipeline's
 * best case (no async iteration). Used in memory (ingest-tardis-worker.ts)
 * and behind a WebSocket (ingest-tardis-process.ts).
 */
import { computeTradeBars, normalizeTrades, type Computable, type TradeBar } from 'tardis-dev';
import { parseTimeframe } from '../src/model/timeframes.ts';

/** tardis-dev's trade-bar computable factories for `timeframes` (tickwire's names: 1s, 1m, …). */
export function tardisBarFactories(timeframes: readonly string[]): (() => Computable<TradeBar>)[] {
  return timeframes.map((tf) => computeTradeBars({ kind: 'time', interval: parseTimeframe(tf).ms }));
}

/** tardis-dev's normalizer and trade bars over a stream of frames, with counts of what came out. */
export class TardisPipeline {
  trades = 0;
  bars = 0;
  /** Frames the normalizer does not handle (acks, other streams). */
  skipped = 0;
  readonly #mapper = normalizeTrades('binance', new Date());
  readonly #bySymbol = new Map<string, Computable<TradeBar>[]>();
  readonly #factories: readonly (() => Computable<TradeBar>)[];

  constructor(factories: readonly (() => Computable<TradeBar>)[]) {
    this.#factories = factories;
  }

  /** One frame's text (a Buffer is decoded the way JSON.parse would). */
  frame(text: string): void {
    const localTimestamp = new Date();
    const message = JSON.parse(text);
    if (!this.#mapper.canHandle(message)) {
      this.skipped++;
      return;
    }
    for (const trade of this.#mapper.map(message, localTimestamp) ?? []) {
      this.trades++;
      let computables = this.#bySymbol.get(trade.symbol);
      if (computables === undefined) this.#bySymbol.set(trade.symbol, (computables = this.#factories.map((f) => f())));
      for (const c of computables) for (const _bar of c.compute(trade)) this.bars++;
    }
  }
}
