/**
 * What strategies produce (docs/strategies.md): a prediction, then a signal,
 * then (paper or user executors) a fill, per judged bar; and the status the
 * HTTP routes and the `system` room report. Plain objects shared by the
 * strategy runtime, the library's events, the wire encoders and the client.
 */
import type { TimeframeName } from './timeframes.ts';

/** What a strategy's `decide` may ask for. */
export type StrategyAction = 'buy' | 'sell' | 'hold';

/** A strategy's lifecycle: warming (fewer than `lookback` closed bars), running, or paused after `maxErrors` failures in a row. */
export type StrategyState = 'warming' | 'running' | 'paused';

/** Fields every strategy event carries: which strategy, which series, which bar. */
export interface StrategyEventBase {
  strategy: string;
  exchange: string;
  symbol: string;
  timeframe: TimeframeName;
  /** Open time of the judged bar, ms. */
  barOpenTime: number;
  /** The judged bar's revision: > 0 when an amended bar was judged again. */
  revision: number;
}

/** What `predict` returned, as published: `value`, `confidence` (null when not given) and any extra fields the module added. */
export interface PredictionEvent extends StrategyEventBase {
  value: number;
  confidence: number | null;
  /** Extra JSON fields the module returned beside value and confidence. */
  extra: Record<string, unknown>;
  /** Time the predict call took, pool queueing included, µs (0 in a backtest: its output must not depend on the machine). */
  latencyUs: number;
  /** When it was published, ms (a backtest uses the bar's close time). */
  ts: number;
}

/** What `decide` returned, as published. `id` is stable (strategy, bar, revision): a webhook's idempotency key. */
export interface SignalEvent extends StrategyEventBase {
  id: string;
  action: StrategyAction;
  /** Base units; null: the executor's default (paper: all cash on a buy, the whole position on a sell). */
  size: number | null;
  prediction: { value: number; confidence: number | null };
  reason: string | null;
  ts: number;
}

/** An executed order of a signal (paper or a user executor). */
export interface FillEvent {
  strategy: string;
  exchange: string;
  symbol: string;
  timeframe: TimeframeName;
  signalId: string;
  side: 'buy' | 'sell';
  price: number;
  size: number;
  fee: number;
  /** After the fill: base units held, quote cash, equity (cash + position × price). */
  position: number;
  cash: number;
  equity: number;
  /** Exchange time of the trade it filled at, ms. */
  ts: number;
}

/** A signal the executor refused (cannot afford it, nothing to sell): reported, never retried. */
export interface RejectionEvent {
  strategy: string;
  signalId: string;
  reason: string;
  ts: number;
}

/** A row of `GET /v1/strategies`. */
export interface StrategySummary {
  name: string;
  exchange: string;
  symbol: string;
  timeframe: TimeframeName;
  state: StrategyState;
  predictions: number;
  signals: number;
  fills: number;
  timeouts: number;
  errors: number;
  /** Bars not judged because the strategy was behind by more than its queue holds. */
  skipped: number;
  /** The last error or timeout, null when none yet. */
  lastError: string | null;
  /** Call latency (predict and decide, pool queueing included), µs; null before the first call. */
  latencyUs: { p50: number | null; p99: number | null };
}

/** The paper account of a strategy (`GET /v1/strategies/:name`). */
export interface AccountState {
  cash: number;
  position: number;
  avgPrice: number | null;
  equity: number;
  realizedPnl: number;
  unrealizedPnl: number;
  /** Largest fall from a peak of equity so far, as a fraction (0.1 = 10 %). */
  maxDrawdown: number;
  /** Fall from the peak now, as a fraction. */
  drawdown: number;
  rejected: number;
}

/** `GET /v1/strategies/:name`: the summary, the account (null for executors that keep none) and the last signals, oldest first. */
export interface StrategyDetail extends StrategySummary {
  executor: string;
  account: AccountState | null;
  signalsRecent: SignalEvent[];
}
