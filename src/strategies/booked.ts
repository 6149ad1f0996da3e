/**
 * What the executors that keep a book share (paper, module): the account,
 * marked on each closed bar, and turning a fill into the account's entry and
 * a published FillEvent.
 */
import type { Bar } from '../model/records.ts';
import type { SignalEvent } from '../model/strategy.ts';
import { Account } from './account.ts';
import type { ExecutionSink } from './executor.ts';

export abstract class BookedExecutor {
  protected readonly book: Account;
  protected readonly sink: ExecutionSink;

  constructor(cash: number, sink: ExecutionSink) {
    this.book = new Account(cash);
    this.sink = sink;
  }

  barClosed(bar: Bar): void {
    this.book.barClosed(bar.close);
  }

  position(): number {
    return this.book.position;
  }

  account(): Account {
    return this.book;
  }

  /** Book a fill of `signal` and publish it. */
  protected booked(signal: SignalEvent, side: 'buy' | 'sell', price: number, size: number, fee: number, ts: number): void {
    const a = this.book;
    a.fill(side, price, size, fee);
    this.sink.fill({
      strategy: signal.strategy, exchange: signal.exchange, symbol: signal.symbol, timeframe: signal.timeframe,
      signalId: signal.id, side, price, size, fee, position: a.position, cash: a.cash, equity: a.equity(), ts,
    });
  }
}
