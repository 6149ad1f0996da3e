/**
 * The paper executor: each buy or sell signal becomes an order filled at the
 * price of the next trade of the series after the signal was made, never at
 * the judged bar's close (that price was known before the decision: filling
 * there would be look-ahead). Slippage moves the price against the order;
 * the fee is `feeBps` of the fill's notional.
 *
 * Sizes: `size` in base units, or when the signal gives none, everything the
 * cash affords on a buy (fee included) and the whole position on a sell.
 * Long and flat only. Refused, with the reason, and counted: a buy the cash
 * cannot pay for, a sell with nothing held or more than is held. At most
 * MAX_PENDING orders wait for a trade; more are refused.
 */
import type { PaperExecutorConfig } from '../config/types.ts';
import type { SignalEvent } from '../model/strategy.ts';
import { BookedExecutor } from './booked.ts';
import type { ExecutionSink, Executor } from './executor.ts';

/** Orders waiting for the next trade at most (a quiet market with a fast strategy). */
export const MAX_PENDING = 64;

export class PaperExecutor extends BookedExecutor implements Executor {
  readonly kind = 'paper';
  readonly #cfg: PaperExecutorConfig;
  readonly #pending: SignalEvent[] = [];

  constructor(cfg: PaperExecutorConfig, sink: ExecutionSink) {
    super(cfg.cash, sink);
    this.#cfg = cfg;
  }

  get wantsTrades(): boolean {
    return this.#pending.length > 0;
  }

  submit(signal: SignalEvent): void {
    if (this.#pending.length >= MAX_PENDING) {
      this.#reject(signal, `${MAX_PENDING} orders already wait for a trade`, signal.ts);
      return;
    }
    this.#pending.push(signal);
  }

  onTrade(price: number, ts: number): void {
    for (const signal of this.#pending) this.#fill(signal, price, ts);
    this.#pending.length = 0;
  }

  close(): void {
    this.#pending.length = 0;
  }

  #fill(signal: SignalEvent, tradePrice: number, ts: number): void {
    const a = this.book;
    const slip = this.#cfg.slippageBps / 10_000;
    const feeRate = this.#cfg.feeBps / 10_000;
    const side = signal.action === 'buy' ? 'buy' : 'sell';
    const price = side === 'buy' ? tradePrice * (1 + slip) : tradePrice * (1 - slip);
    let size: number;
    if (side === 'buy') {
      size = signal.size ?? a.cash / (price * (1 + feeRate));
      const cost = price * size * (1 + feeRate);
      if (!(size > 0) || cost > a.cash * (1 + 1e-12)) {
        this.#reject(signal, `cannot afford ${fmt(size)} at ${fmt(price)}: needs ${fmt(cost)} with fees, cash is ${fmt(a.cash)}`, ts);
        return;
      }
    } else {
      size = signal.size ?? a.position;
      if (a.position <= 0) {
        this.#reject(signal, 'nothing to sell: the position is flat (paper trades long only)', ts);
        return;
      }
      if (size > a.position * (1 + 1e-12)) {
        this.#reject(signal, `cannot sell ${fmt(size)}: the position is ${fmt(a.position)} (paper trades long only)`, ts);
        return;
      }
      size = Math.min(size, a.position);
    }
    this.booked(signal, side, price, size, price * size * feeRate, ts);
  }

  #reject(signal: SignalEvent, reason: string, ts: number): void {
    this.book.rejected++;
    this.sink.rejected({ strategy: signal.strategy, signalId: signal.id, reason, ts });
  }
}

function fmt(n: number): string {
  return Number.isFinite(n) ? String(Number(n.toPrecision(10))) : String(n);
}
