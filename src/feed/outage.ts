/**
 * OutageRecovery: what a worker does about its connections' outages. Each
 * outage is bounded in exchange time: from the connection's last sign of life
 * (local clock plus the measured offset, never before the newest trade it
 * delivered) to the reconnect.
 * After a reconnect, where the venue serves trades by id over REST, the
 * trades the outage missed are fetched and fed in before the live ones
 * (GapRecovery, gap-recovery.ts); where it does not, the group's bars over
 * the outage are marked gapped at once. A recovery that fails marks its
 * symbol's bars over the outage gapped too. Either way the reason becomes the
 * worker's last error and a status report goes out.
 */
import type { BarAggregator } from '../bars/aggregator.ts';
import type { LogSink } from '../log/record.ts';
import type { AdapterEntry } from '../exchanges/registry.ts';
import { restUrlOf } from '../exchanges/registry.ts';
import { handTrade } from '../exchanges/adapter.ts';
import { nowMs } from '../model/clock.ts';
import type { ClockOffset } from './clock-offset.ts';
import type { ConnectionGroups } from './connection-groups.ts';
import { GapRecovery } from './gap-recovery.ts';
import type { FeedWorkerData } from './protocol.ts';
import type { TickHandler } from './tick-handler.ts';

/** Where outcomes go: the worker's last error (null clears it), an immediate status report, the log. */
export interface OutageReports {
  error(message: string | null): void;
  report(): void;
  log: LogSink;
}

export class OutageRecovery {
  /** Trade recovery over REST after reconnects; undefined where the venue serves no trade history. */
  readonly recovery: GapRecovery | undefined;
  /** Outages whose trades could not be fetched (bars marked gapped), besides failed recoveries. */
  private gapsUnfilled = 0;
  /** Per connection: exchange-time bounds of its last outage. */
  private readonly outageStart: number[] = [];
  private readonly outageEnd: number[] = [];
  /** Per connection: how long its last outage lasted by the local clock, ms (for reports). */
  private readonly outageMs: number[] = [];
  /** Per connection: local time of its last sign of life before the outage. */
  private readonly downSince: number[] = [];
  private readonly exchange: string;
  private readonly aggregators: readonly BarAggregator[];
  private readonly handler: TickHandler;
  private readonly clock: ClockOffset;
  private readonly reports: OutageReports;

  constructor(
    data: FeedWorkerData,
    entry: AdapterEntry,
    groups: ConnectionGroups,
    handler: TickHandler,
    aggregators: readonly BarAggregator[],
    clock: ClockOffset,
    reports: OutageReports,
  ) {
    this.exchange = data.exchange;
    this.aggregators = aggregators;
    this.handler = handler;
    this.clock = clock;
    this.reports = reports;
    const symbols = data.settings.symbols;
    const restUrl = restUrlOf(entry, data.settings);
    const first = groups.adapters[0];
    if (restUrl === undefined || first?.tradesFrom === undefined) {
      this.recovery = undefined;
      return;
    }
    this.recovery = new GapRecovery(
      data.slots,
      {
        fetchPage: (symbol, fromId, fromTs) => groups.adapterOf(symbol)!.tradesFrom!(restUrl, symbols[symbol]!, fromId, fromTs),
        deliver(symbol, t) {
          handler.recvTs = nowMs();
          handTrade(handler, symbol, t.ts, t.price, t.size, t.side, t.id);
        },
        done: (symbol, recovered, error) => {
          handler.flush();
          const outageMs = this.outageMs[groups.slotOf(symbol)]!;
          if (error === undefined) {
            reports.log({ level: 'info', event: 'gap.recovered', msg: `${symbols[symbol]}: ${recovered} trades missed during a ${outageMs} ms outage fetched over REST`, fields: { symbol: symbols[symbol]!, recovered, outageMs } });
            if (recovered > 0) reports.error(null);
            return;
          }
          reports.log({ level: 'warn', event: 'gap.unrecovered', msg: `${symbols[symbol]}: recovering a ${outageMs} ms outage failed (bars over it marked gapped): ${error}`, fields: { symbol: symbols[symbol]!, recovered, outageMs, error } });
          reports.error(`${symbols[symbol]}: ${error}`);
          const slot = groups.slotOf(symbol);
          if (slot >= 0) aggregators[symbol]!.markGap(this.outageStart[slot]!, this.outageEnd[slot]!);
          handler.flush();
          reports.report();
        },
      },
      { pageSize: first.restPageSize ?? 1000 },
    );
    handler.recovery = this.recovery;
  }

  /** Trades fetched over REST to fill reconnect gaps, since start. */
  get recoveredTrades(): number {
    return this.recovery?.recovered ?? 0;
  }

  /** Reconnect gaps that could not be filled completely: failed recoveries and outages that could not be fetched. */
  get unrecoveredGaps(): number {
    return (this.recovery?.failures ?? 0) + this.gapsUnfilled;
  }

  /** A connection carrying `symbols` is up for the first time: until now nothing was seen (a cold start's blind time ends). */
  connected(symbols: readonly number[]): void {
    const now = this.exchangeNow();
    for (const i of symbols) this.aggregators[i]!.watchingFrom(now);
  }

  /**
   * Connection `slot` (carrying `symbols`) went down. The outage starts at its
   * last sign of life (local `lastAliveAt`), not now: a connection found dead
   * by its stale timer may have missed trades for up to `staleAfterMs` before.
   */
  disconnected(slot: number, symbols: readonly number[], lastAliveAt: number): void {
    const now = nowMs();
    this.downSince[slot] = lastAliveAt > 0 && lastAliveAt < now ? lastAliveAt : now;
    const alive = this.downSince[slot]! + this.clock.offsetMs;
    // Never before a trade the connection delivered: where the data's clock runs ahead of the estimate
    // (a replay sent faster than it happened), the trades seen place the outage, not the local clock.
    let seen = -Infinity;
    for (const i of symbols) seen = Math.max(seen, this.aggregators[i]!.newestTradeTs);
    this.outageStart[slot] = Math.max(alive, seen);
    this.recovery?.disconnected(symbols);
  }

  /** It is back: recover the outage's trades, or mark the group's bars over it gapped. */
  reconnected(slot: number, symbols: readonly number[]): void {
    this.outageEnd[slot] = Math.max(this.exchangeNow(), this.outageStart[slot]!);
    const outageMs = (this.outageMs[slot] = Math.round(nowMs() - this.downSince[slot]!));
    if (this.recovery !== undefined) {
      this.reports.log({ level: 'info', event: 'gap.recovering', msg: `fetching the trades of ${symbols.length} symbols missed during a ${outageMs} ms outage over REST`, fields: { symbols: symbols.length, outageMs } });
      this.recovery.reconnected(symbols);
    } else this.markGapped(symbols, slot, `${this.exchange} serves no trade history: bars over the outage are marked gapped`);
  }

  /** Drop pending recoveries (worker stopping). */
  stop(): void {
    this.recovery?.stop();
  }

  /** Exchange time now, as estimated from the local clock and the measured offset. */
  private exchangeNow(): number {
    return nowMs() + this.clock.offsetMs;
  }

  /** Bars of `symbols` over connection `slot`'s last outage may miss trades: mark them. */
  private markGapped(symbols: readonly number[], slot: number, why: string): void {
    for (const i of symbols) this.aggregators[i]!.markGap(this.outageStart[slot]!, this.outageEnd[slot]!);
    this.gapsUnfilled++;
    const outageMs = this.outageMs[slot]!;
    this.reports.log({ level: 'warn', event: 'gap.marked', msg: `${why} (${symbols.length} symbols, ${outageMs} ms)`, fields: { symbols: symbols.length, outageMs } });
    this.reports.error(why);
    this.handler.flush();
    this.reports.report(); // a status event right away
  }
}
