/**
 * A user executor: the module's `execute({ signal, bar, params, state })`,
 * run in the strategy pool like `predict` (same deadline, same failure
 * counting: the strategy waits for it before its next judgment, so orders
 * stay in signal order). It returns what filled, `{ price, size, fee? }`, or
 * nothing; fills are booked on an account that starts at 0 cash (the venue
 * keeps the real one: this book only tracks PnL and drawdown).
 */
import type { ModuleExecutorConfig } from '../config/types.ts';
import type { Bar } from '../model/records.ts';
import type { SignalEvent } from '../model/strategy.ts';
import { BookedExecutor } from './booked.ts';
import type { ExecutionSink, Executor } from './executor.ts';
import type { TaskResult } from './task.ts';

/** Runs one `execute` call in the pool under the strategy's deadline and failure counting; undefined when it failed. */
export type ExecuteCall = (signal: SignalEvent, bar: Bar, state: Record<string, unknown>) => Promise<Extract<TaskResult, { op: 'execute' }> | undefined>;

export class ModuleExecutor extends BookedExecutor implements Executor {
  readonly kind = 'module';
  readonly wantsTrades = false;
  readonly #call: ExecuteCall;
  #state: Record<string, unknown> = {};
  #closed = false;

  constructor(_cfg: ModuleExecutorConfig, sink: ExecutionSink, call: ExecuteCall) {
    super(0, sink);
    this.#call = call;
  }

  async submit(signal: SignalEvent, bar: Bar): Promise<void> {
    if (this.#closed) return;
    const r = await this.#call(signal, bar, this.#state);
    if (r === undefined) return;
    this.#state = r.state;
    const x = r.execution;
    if (x === null) return;
    this.booked(signal, signal.action === 'buy' ? 'buy' : 'sell', x.price, x.size, x.fee, signal.ts);
  }

  onTrade(): void {}

  close(): void {
    this.#closed = true;
  }
}
