/**
 * What a strategy hands its signals to. Built in: `paper` (paper.ts: fills at
 * the next trade), `webhook` (webhook.ts: POSTs each signal elsewhere); and
 * `module` (module-executor.ts: the user's `execute`, run in the pool).
 *
 * Executors act on a bar's first judgment only: a re-judged (amended) bar's
 * signal is published like any, but an order already placed cannot be taken
 * back, so it places none.
 */
import type { Bar } from '../model/records.ts';
import type { FillEvent, RejectionEvent, SignalEvent } from '../model/strategy.ts';
import type { Account } from './account.ts';

/** Where executors report what happened to a signal. */
export interface ExecutionSink {
  fill(f: FillEvent): void;
  rejected(r: RejectionEvent): void;
}

export interface Executor {
  /** `paper`, `webhook` or `module`. */
  readonly kind: string;
  /** A buy or sell signal of a bar's first judgment. May return a promise the strategy waits for before its next call (module executors). */
  submit(signal: SignalEvent, bar: Bar): void | Promise<void>;
  /** A trade of the strategy's series (only while `wantsTrades`). */
  onTrade(price: number, ts: number): void;
  /** True while orders wait for the next trade. */
  readonly wantsTrades: boolean;
  /** A bar of the series closed (after its judgment was queued): marks the book. */
  barClosed(bar: Bar): void;
  /** Base units held, for `decide`; null when the executor keeps no book (webhook). */
  position(): number | null;
  /** The book, null when the executor keeps none. */
  account(): Account | null;
  /** Stop: drop what waits, let nothing retry. */
  close(): void;
}
