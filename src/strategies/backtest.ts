/**
 * `tickwire backtest`: recorded data replayed through the same parts as the
 * live gateway — the venue's adapter (`parse`), the bar aggregator, the
 * strategy runtime (features, pool, runners, executors) — in one process,
 * without sockets or shared memory (those move data, they do not change it).
 *
 * Input, one JSON value a line: the venue's own frames as recorded
 * (`../shared/fixtures/<venue>/*.jsonl`: parsed by the exchange's adapter),
 * or normalized trades `{"symbol","price","size","side"?,"ts","tradeId"?}`
 * (the stream's trade messages qualify). Lines that are neither are counted.
 *
 * Determinism: after a frame that closed a bar the replay waits until every
 * strategy has judged it, so each paper order fills at the first trade after
 * its signal in file order, exactly as often as the file is replayed; times
 * in the output come from the data and latencies are 0, so two replays of
 * one file write byte-identical output. At the end of the file the forming
 * bars are closed as a live gateway closes them once their interval has
 * passed: the clock is moved to the end of the newest trade's bar in the
 * longest timeframe, plus the grace (shorter timeframes get their flat bars
 * up to there, as they would live).
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { BarAggregator, BarEvent } from '../bars/aggregator.ts';
import type { TickwireConfig } from '../config/types.ts';
import { callbackHandler, FrameKind, type FeedCallbacks } from '../exchanges/adapter.ts';
import { adapterFor, capabilitiesOf } from '../exchanges/registry.ts';
import { readBar } from '../model/records.ts';
import type { FillEvent, PredictionEvent, RejectionEvent, SignalEvent, StrategySummary } from '../model/strategy.ts';
import { SymbolIndex } from '../model/symbols.ts';
import { bucketStart, parseTimeframe } from '../model/timeframes.ts';
import type { StrategyOutput } from './runtime.ts';
import type { StrategyRuntime } from './runtime.ts';

/** What the replay counted, and each strategy's results. */
export interface BacktestSummary {
  lines: number;
  /** Lines that were neither a frame the adapter knows nor a normalized trade. */
  skipped: number;
  trades: number;
  bars: number;
  strategies: StrategyResult[];
}

export interface StrategyResult {
  name: string;
  predictions: number;
  signals: { buy: number; sell: number; hold: number };
  fills: number;
  rejected: number;
  timeouts: number;
  errors: number;
  /** Equity at the end minus the starting cash (null without a book). */
  pnl: number | null;
  equity: number | null;
  maxDrawdown: number | null;
  /** Of bar-to-bar equity returns, annualized (365 days of bars: crypto trades around the clock); null when undefined. */
  sharpe: number | null;
}

export interface BacktestOptions {
  config: TickwireConfig;
  /** The exchange whose frames the file holds. */
  exchange: string;
  /** JSONL file to replay. */
  from: string;
  /** Receives each output line (prediction, signal, fill, rejection as JSON). */
  write?: (line: string) => void;
  /** Called as the file is read: bytes done and in all. */
  progress?: (done: number, total: number) => void;
}

/** Collects the runtime's events in file order as output lines (give it to the runtime before replaying). */
export class BacktestOutput implements StrategyOutput {
  write: (line: string) => void = () => {};
  readonly rejections = new Map<string, number>();
  readonly actions = new Map<string, { buy: number; sell: number; hold: number }>();

  prediction(e: PredictionEvent): void {
    this.write(JSON.stringify({ type: 'prediction', ...e }));
  }

  signal(e: SignalEvent): void {
    const counts = this.actions.get(e.strategy) ?? { buy: 0, sell: 0, hold: 0 };
    counts[e.action]++;
    this.actions.set(e.strategy, counts);
    this.write(JSON.stringify({ type: 'signal', ...e }));
  }

  fill(e: FillEvent): void {
    this.write(JSON.stringify({ type: 'fill', ...e }));
  }

  rejected(e: RejectionEvent): void {
    this.rejections.set(e.strategy, (this.rejections.get(e.strategy) ?? 0) + 1);
    this.write(JSON.stringify({ type: 'rejected', ...e }));
  }

  status(_s: StrategySummary): void {}
}

/** Replay `options.from` through `runtime` (built with `output` and `deterministic: true`, probed). */
export async function replay(runtime: StrategyRuntime, output: BacktestOutput, options: BacktestOptions): Promise<BacktestSummary> {
  const { config, exchange } = options;
  const ex = config.exchanges[exchange]!;
  const entry = adapterFor(exchange)!;
  const adapter = entry.create(ex.symbols, ex.channels, ex);
  const symbols = new SymbolIndex();
  for (const s of ex.symbols) symbols.add(s);
  if (options.write !== undefined) output.write = options.write;

  const summary: BacktestSummary = { lines: 0, skipped: 0, trades: 0, bars: 0, strategies: [] };
  let closed = false;
  let newestTs = -Infinity;
  const aggregators = ex.symbols.map((symbol) => new BarAggregator(config.timeframes, {
    onBar(tf, event, rec, offset) {
      if (event === BarEvent.FORMING) return;
      summary.bars += event === BarEvent.CLOSED ? 1 : 0;
      closed = true;
      runtime.onBar({ exchange, symbol, timeframe: config.timeframes[tf]!, bar: readBar(rec, offset) });
    },
  }, {
    graceMs: config.bars.graceMs,
    fillEmpty: config.bars.fillEmpty,
    lateToleranceMs: config.bars.lateToleranceMs,
    tradeIdOrder: capabilitiesOf(entry, ex).tradeIdOrder,
    session: entry.session?.(ex),
  }));
  const trade = (symbol: number, ts: number, price: number, size: number, side: number, tradeId: number): void => {
    const agg = aggregators[symbol];
    if (agg === undefined || !agg.addTrade(ts, price, size, side, tradeId)) return;
    summary.trades++;
    if (ts > newestTs) newestTs = ts;
    runtime.onTrade(exchange, ex.symbols[symbol]!, price, ts);
  };
  const handler = callbackHandler({
    trade,
    quote(symbol, ts, bid, _bidSize, ask) {
      aggregators[symbol]?.addQuote(ts === ts ? ts : newestTs, bid, ask);
    },
  });

  const total = statSync(options.from).size;
  let done = 0;
  const lines = createInterface({ input: createReadStream(options.from, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    summary.lines++;
    done += Buffer.byteLength(line) + 1;
    if (line.trim() === '') continue;
    if (!normalizedTrade(line, symbols, ex.symbols, trade)) {
      const kind = adapter.parse(line, handler);
      if (kind === FrameKind.MALFORMED || kind === FrameKind.ERROR) summary.skipped++;
    }
    if (closed) {
      closed = false;
      await runtime.idle();
    }
    if (summary.lines % 1000 === 0) options.progress?.(done, total);
  }
  // The end of the recording: close the forming bars as a live gateway would once their interval ends.
  if (newestTs > -Infinity) {
    const longest = Math.max(...config.timeframes.map((tf) => parseTimeframe(tf).ms));
    const { ms, origin } = parseTimeframe(config.timeframes.find((tf) => parseTimeframe(tf).ms === longest)!);
    const end = bucketStart(newestTs, ms, origin) + ms + config.bars.graceMs;
    for (const agg of aggregators) agg.advance(end);
    await runtime.idle();
  }
  options.progress?.(total, total);
  for (const s of runtime.summaries()) summary.strategies.push(resultOf(runtime, output, s));
  return summary;
}

/** A normalized trade line handed to `trade`; false when the line is not one. */
function normalizedTrade(line: string, index: SymbolIndex, natives: readonly string[], trade: FeedCallbacks['trade']): boolean {
  if (line.charCodeAt(0) !== 123 /* { */ || !line.includes('"price"')) return false;
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return false;
  }
  const { symbol, price, size, ts } = m;
  if (typeof symbol !== 'string' || typeof price !== 'number' || typeof size !== 'number' || typeof ts !== 'number') return false;
  const native = index.resolve(symbol)?.native;
  if (native === undefined) return true; // a symbol not configured: not ours, not an error
  const side = m['side'] === 'buy' ? 1 : m['side'] === 'sell' ? -1 : 0;
  const id = typeof m['tradeId'] === 'number' ? m['tradeId'] : NaN;
  trade(natives.indexOf(native), ts, price, size, side, id);
  return true;
}

function resultOf(runtime: StrategyRuntime, output: BacktestOutput, s: StrategySummary): StrategyResult {
  const r = runtime.runner(s.name)!;
  const book = r.executor.account();
  const state = book?.state();
  const cash = r.cfg.executor.kind === 'paper' ? r.cfg.executor.cash : 0;
  return {
    name: s.name,
    predictions: s.predictions,
    signals: output.actions.get(s.name) ?? { buy: 0, sell: 0, hold: 0 },
    fills: s.fills,
    rejected: output.rejections.get(s.name) ?? 0,
    timeouts: s.timeouts,
    errors: s.errors,
    pnl: state === undefined ? null : state.equity - cash,
    equity: state?.equity ?? null,
    maxDrawdown: state?.maxDrawdown ?? null,
    sharpe: book?.sharpe((365 * 86_400_000) / r.tfMs) ?? null,
  };
}

/** The summary as text lines for the terminal (nothing time-dependent: two replays print the same). */
export function formatSummary(s: BacktestSummary): string {
  const n = (v: number | null, digits = 2): string => (v === null ? '-' : v.toFixed(digits));
  const lines = [`replayed ${s.lines} lines: ${s.trades} trades, ${s.bars} bars closed, ${s.skipped} lines skipped`];
  for (const r of s.strategies) {
    lines.push(
      `${r.name}: ${r.predictions} predictions, signals ${r.signals.buy} buy / ${r.signals.sell} sell / ${r.signals.hold} hold, ` +
        `${r.fills} fills, ${r.rejected} rejected, ${r.timeouts} timeouts, ${r.errors} errors; ` +
        `PnL ${n(r.pnl)}, equity ${n(r.equity)}, max drawdown ${r.maxDrawdown === null ? '-' : (r.maxDrawdown * 100).toFixed(2) + '%'}, Sharpe ${n(r.sharpe)}`,
    );
  }
  return lines.join('\n');
}
