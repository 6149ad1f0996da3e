/**
 * A strategy's features, updated once per closed bar from trading-signals
 * indicators (each takes one value at a time, and can replace its newest
 * input: an amended bar re-computes without replaying history).
 *
 * Where: on the main thread, before the pool call. Measured here (one of
 * each of the five kinds, period 14 to 20, 20,000 bars, warm, on a loaded
 * 2-core machine): about 5 µs per closed bar, once per bar and set of
 * strategies that share the series, lookback and features (FeatureSet),
 * well below a pool call's own cost (its structured clone and wake-up), and
 * each series' indicators are state that must see the bars in order, which
 * the pool's interchangeable workers cannot keep. So features are computed
 * here and handed to `predict`.
 *
 * Always present beside the configured ones: the bar's own `vwap`,
 * `imbalance` ((buy − sell volume) / volume) and `spread`. A feature is null
 * until its indicator has seen enough bars (its warm-up), and null when the
 * bar cannot give it (no volume, no quotes).
 */
import { ATR, EMA, ROC, RSI, SMA } from 'trading-signals';
import type { FeatureSpec } from '../config/types.ts';
import type { Bar } from '../model/records.ts';

/** Feature values of one bar, by name. */
export type Features = Record<string, number | null>;

interface Indicator {
  readonly isStable: boolean;
  update(input: never, replace: boolean): number | null;
}

interface Slot {
  name: string;
  /** Candles (high, low, close) rather than the close alone. */
  candle: boolean;
  ind: Indicator;
}

function indicatorOf(spec: FeatureSpec): Slot['ind'] {
  switch (spec.kind) {
    case 'sma':
      return new SMA(spec.period) as unknown as Indicator;
    case 'ema':
      return new EMA(spec.period) as unknown as Indicator;
    case 'rsi':
      return new RSI(spec.period) as unknown as Indicator;
    case 'atr':
      return new ATR(spec.period) as unknown as Indicator;
    case 'returns':
      return new ROC(spec.period) as unknown as Indicator;
  }
}

/**
 * The configured indicators of the strategies that see the same bars (one
 * series, one lookback, so the same seed) with the same features, updated bar
 * by bar: once per bar for all of them, not once per strategy. Each of them
 * feeds every bar it sees; the same bar object fed again right after (the
 * next strategy of the set) returns the features of the first time, the same
 * object, which nobody may change (a strategy's amended older bar gets a copy:
 * the runner's `withBarFeatures({ ...features }, bar)`).
 */
export class FeatureSet {
  readonly #slots: Slot[];
  /** The last bar fed, how, and its features. */
  #bar: Bar | undefined;
  #replace = false;
  #out: Features = {};

  constructor(specs: Record<string, FeatureSpec>) {
    this.#slots = Object.entries(specs).map(([name, spec]) => ({ name, candle: spec.kind === 'atr', ind: indicatorOf(spec) }));
  }

  /** Feed `bar` (a new closed bar, or with `replace` an amendment of the newest one fed) and return every feature after it. */
  update(bar: Bar, replace: boolean): Features {
    if (bar === this.#bar && replace === this.#replace) return this.#out;
    this.#bar = bar;
    this.#replace = replace;
    this.#out = this.#compute(bar, replace);
    return this.#out;
  }

  #compute(bar: Bar, replace: boolean): Features {
    const out: Features = {};
    for (const s of this.#slots) {
      const input = s.candle ? { high: bar.high, low: bar.low, close: bar.close } : bar.close;
      const v = s.ind.update(input as never, replace);
      out[s.name] = s.ind.isStable && v !== null && Number.isFinite(v) ? v : null;
    }
    return withBarFeatures(out, bar);
  }
}

/** Add the bar's own features (vwap, imbalance, spread) to `out`. */
export function withBarFeatures(out: Features, bar: Bar): Features {
  out['vwap'] = bar.vwap;
  out['imbalance'] = bar.volume > 0 ? (bar.buyVolume - bar.sellVolume) / bar.volume : null;
  out['spread'] = bar.spread;
  return out;
}
