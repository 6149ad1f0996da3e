/**
 * A strategy's book: cash, position, average entry price, realized and
 * unrealized PnL, equity, drawdown and the statistics of bar-to-bar equity
 * returns (for a backtest's Sharpe ratio). Long and flat only: selling more
 * than is held is refused by the paper executor before it gets here.
 *
 * PnL: realized = Σ (sell price − average price) × size − every fee paid;
 * unrealized = position × (mark − average price). Equity = cash + position ×
 * mark, where the mark is the last fill or closed bar's price. Memory is
 * constant: returns are summarized incrementally (Welford), not kept.
 */
import type { AccountState } from '../model/strategy.ts';

export class Account {
  cash: number;
  position = 0;
  /** Average entry price of the position; 0 when flat. */
  avgPrice = 0;
  realized = 0;
  mark = NaN;
  rejected = 0;
  #peak: number;
  #maxDrawdown = 0;
  #lastEquity: number;
  #returns = 0;
  #mean = 0;
  #m2 = 0;

  constructor(cash: number) {
    this.cash = cash;
    this.#peak = cash;
    this.#lastEquity = cash;
  }

  equity(): number {
    return this.cash + (this.position === 0 || this.mark !== this.mark ? 0 : this.position * this.mark);
  }

  /** Apply a fill (`fee` in quote currency); marks the book at `price`. */
  fill(side: 'buy' | 'sell', price: number, size: number, fee: number): void {
    if (side === 'buy') {
      this.avgPrice = (this.avgPrice * this.position + price * size) / (this.position + size);
      this.position += size;
      this.cash -= price * size + fee;
    } else {
      this.realized += (price - this.avgPrice) * size;
      this.position -= size;
      // Float dust from repeated partial sells is flat, not a position.
      if (Math.abs(this.position) < 1e-12) this.position = 0;
      if (this.position === 0) this.avgPrice = 0;
      this.cash += price * size - fee;
    }
    this.realized -= fee;
    this.markAt(price);
  }

  /** Mark the book at `price` (a fill, a closed bar): equity, peak and drawdown follow. */
  markAt(price: number): void {
    this.mark = price;
    const e = this.equity();
    if (e > this.#peak) this.#peak = e;
    const dd = this.#peak > 0 ? (this.#peak - e) / this.#peak : 0;
    if (dd > this.#maxDrawdown) this.#maxDrawdown = dd;
  }

  /** A bar closed at `close`: mark, and record the bar's equity return. */
  barClosed(close: number): void {
    this.markAt(close);
    const e = this.equity();
    if (this.#lastEquity !== 0) {
      const r = e / this.#lastEquity - 1;
      this.#returns++;
      const d = r - this.#mean;
      this.#mean += d / this.#returns;
      this.#m2 += d * (r - this.#mean);
    }
    this.#lastEquity = e;
  }

  /** Sharpe ratio of bar returns, annualized with `barsPerYear` (null with fewer than two bars or no variance). */
  sharpe(barsPerYear: number): number | null {
    if (this.#returns < 2) return null;
    const sd = Math.sqrt(this.#m2 / (this.#returns - 1));
    return sd > 0 ? (this.#mean / sd) * Math.sqrt(barsPerYear) : null;
  }

  state(): AccountState {
    const equity = this.equity();
    return {
      cash: this.cash,
      position: this.position,
      avgPrice: this.position === 0 ? null : this.avgPrice,
      equity,
      realizedPnl: this.realized,
      unrealizedPnl: this.position === 0 || this.mark !== this.mark ? 0 : this.position * (this.mark - this.avgPrice),
      maxDrawdown: this.#maxDrawdown,
      drawdown: this.#peak > 0 ? Math.max(0, (this.#peak - equity) / this.#peak) : 0,
      rejected: this.rejected,
    };
  }
}
