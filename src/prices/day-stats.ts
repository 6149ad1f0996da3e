/**
 * A feed's 24-hour figures (last, open 24 h ago, change, change %, high, low,
 * volume, quote volume) from one source's 1m bars: the closed ones in shared
 * memory (restored from storage or backfilled ones count, so a restart does
 * not reset them) and the forming one.
 *
 * Decisions where the issue is silent: the bars are the active source's (the
 * primary's while none is active): volumes of different venues are not
 * added up. `open` is the open of the first 1m bar of the window (the window
 * is the 1440 minutes ending with the current minute); `from` says where the
 * bars start, so a window that history does not yet cover is visible. `last`
 * is the feed's last price, else the newest bar's close.
 */
import type { BarVisitor } from '../buffers/bar-store.ts';
import { BarField } from '../model/records.ts';

export const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

export interface DayStats {
  last: number | null;
  open: number | null;
  change: number | null;
  changePct: number | null;
  high: number | null;
  low: number | null;
  volume: number;
  quoteVolume: number;
  /** Open time of the first bar counted, null when there is none. */
  from: number | null;
  /** 1m bars counted (1440 for a full window). */
  bars: number;
}

/** Reads bars into the running figures (reset by `begin`: a seqlock retry starts over). */
class DayVisitor implements BarVisitor {
  open = NaN;
  high = -Infinity;
  low = Infinity;
  close = NaN;
  volume = 0;
  quoteVolume = 0;
  from = NaN;
  bars = 0;

  begin(): void {
    this.open = NaN;
    this.high = -Infinity;
    this.low = Infinity;
    this.close = NaN;
    this.volume = 0;
    this.quoteVolume = 0;
    this.from = NaN;
    this.bars = 0;
  }

  onBar(buf: Float64Array, off: number): void {
    if (this.bars === 0) {
      this.open = buf[off + BarField.OPEN]!;
      this.from = buf[off + BarField.OPEN_TIME]!;
    }
    this.bars++;
    this.high = Math.max(this.high, buf[off + BarField.HIGH]!);
    this.low = Math.min(this.low, buf[off + BarField.LOW]!);
    this.close = buf[off + BarField.CLOSE]!;
    this.volume += buf[off + BarField.VOLUME]!;
    this.quoteVolume += buf[off + BarField.QUOTE_VOLUME]!;
  }
}

/**
 * The figures over the 24 hours ending at `now`: `visit` reads the source's
 * 1m bars with open time ≥ its `start` (closed ones, then the forming one),
 * `lastPrice` is the feed's last price (NaN: none yet).
 */
export function dayStats(visit: (visitor: BarVisitor, start: number) => void, now: number, lastPrice: number): DayStats {
  const v = new DayVisitor();
  // The window: this minute and the 1439 before it.
  const start = Math.floor(now / MINUTE_MS) * MINUTE_MS - DAY_MS + MINUTE_MS;
  visit(v, start);
  const last = Number.isNaN(lastPrice) ? v.close : lastPrice;
  const has = v.bars > 0;
  const open = has ? v.open : NaN;
  const change = last - open;
  return {
    last: Number.isNaN(last) ? null : last,
    open: has ? open : null,
    change: Number.isNaN(change) ? null : change,
    changePct: Number.isNaN(change) || open === 0 ? null : (change / open) * 100,
    high: has ? Math.max(v.high, Number.isNaN(lastPrice) ? -Infinity : lastPrice) : null,
    low: has ? Math.min(v.low, Number.isNaN(lastPrice) ? Infinity : lastPrice) : null,
    volume: v.volume,
    quoteVolume: v.quoteVolume,
    from: has ? v.from : null,
    bars: v.bars,
  };
}
