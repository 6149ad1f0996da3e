/**
 * Each exchange's status as an edge knows it: what its leading feed last
 * reported (`<name>.status.<exchange>`, with each state change and once a
 * second), and `stopped` once no report has come for `silentMs` (the
 * leading feed died and no standby took over: nothing feeds the exchange,
 * so its price-feed sources fail over and `stale` exchange rules count, as
 * for a venue that disconnected in one process). The next report replaces
 * it. An exchange never reported has no status.
 *
 * Pure: the owner passes the time and reads back what changed.
 */
import type { ExchangeStatus } from '../model/status.ts';

/** What became of a report. */
export type ReportOutcome = ExchangeStatus | 'undecodable' | 'fenced';

export class FeedReports {
  readonly #exchanges: ReadonlySet<string>;
  readonly #silentMs: number;
  readonly #statuses = new Map<string, ExchangeStatus>();
  /** exchange → local time of its last report, ms. */
  readonly #reportedAt = new Map<string, number>();

  /** Reports of `exchanges` only; an exchange silent for `silentMs` is `stopped`. */
  constructor(exchanges: Iterable<string>, silentMs: number) {
    this.#exchanges = new Set(exchanges);
    this.#silentMs = silentMs;
  }

  /**
   * A report (JSON of an ExchangeStatus) under feed term `term`, when the
   * newest term seen for the exchange is `newestTerm`: the status it sets,
   * or why it was not taken (an older term's is a fenced feed's).
   */
  take(data: Uint8Array, term: number, newestTerm: (exchange: string) => number, now: number): ReportOutcome {
    let s: ExchangeStatus;
    try {
      s = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString()) as ExchangeStatus;
    } catch {
      return 'undecodable';
    }
    if (typeof s !== 'object' || s === null || typeof s.exchange !== 'string' || !this.#exchanges.has(s.exchange)) return 'undecodable';
    if (term < newestTerm(s.exchange)) return 'fenced';
    this.#statuses.set(s.exchange, s);
    this.#reportedAt.set(s.exchange, now);
    return s;
  }

  /** The exchanges that fell silent by `now` since the last call, each now `stopped` (returned once). */
  silent(now: number): ExchangeStatus[] {
    const out: ExchangeStatus[] = [];
    for (const [exchange, at] of this.#reportedAt) {
      const s = this.#statuses.get(exchange)!;
      if (s.state === 'stopped' || now - at < this.#silentMs) continue;
      const stopped: ExchangeStatus = { ...s, state: 'stopped', lastError: `no feed has reported ${exchange} for ${Math.round((now - at) / 1000)} s: its leading feed stopped and no standby took over` };
      this.#statuses.set(exchange, stopped);
      out.push(stopped);
    }
    return out;
  }

  /**
   * Count every exchange's silence from `now` again: this process could not
   * hear reports for a while (NATS lost, or its own event loop stalled), so
   * their absence says nothing about the feeds.
   */
  restartSilence(now: number): void {
    for (const exchange of this.#reportedAt.keys()) this.#reportedAt.set(exchange, now);
  }

  /** Every exchange's status, by name. */
  all(): Record<string, ExchangeStatus> {
    return Object.fromEntries(this.#statuses);
  }
}
