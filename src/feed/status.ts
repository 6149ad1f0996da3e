/**
 * StatusReporter: the worker's status reports to the main thread (on a timer,
 * on every connection state change, and at once after an unrecovered gap).
 * Each report carries counters since the worker started (the supervisor
 * folds them into totals that survive restarts) and the parse-time histogram
 * since the previous report, which it then resets.
 */
import * as hdr from 'hdr-histogram-js';
import type { BarAggregator } from '../bars/aggregator.ts';
import type { ClockOffset } from './clock-offset.ts';
import type { ConnectionGroups } from './connection-groups.ts';
import type { ConnectionState } from './protocol.ts';
import type { OutageRecovery } from './outage.ts';
import type { WorkerStatus } from './protocol.ts';
import type { TickHandler } from './tick-handler.ts';

/** What a report is read from. */
export interface StatusSources {
  handler: TickHandler;
  aggregators: readonly BarAggregator[];
  groups: ConnectionGroups;
  outage: OutageRecovery;
  clock: ClockOffset;
}

export class StatusReporter {
  /** The latest problem worth showing (a connection error, an unrecovered gap); null when cleared. */
  lastError: string | null = null;
  /** The worker's state as of the last connection state change. */
  state: ConnectionState = 'connecting';
  private readonly post: (status: WorkerStatus) => void;
  private readonly sources: StatusSources;

  constructor(post: (status: WorkerStatus) => void, sources: StatusSources) {
    this.post = post;
    this.sources = sources;
  }

  /** Send a status report now and reset the parse-time histogram. */
  report(): void {
    const { handler, aggregators, groups, outage, clock } = this.sources;
    let late = 0;
    let dupes = 0;
    for (const agg of aggregators) {
      late += agg.lateDropped;
      dupes += agg.duplicatesDropped;
    }
    const status: WorkerStatus = {
      type: 'status',
      state: this.state,
      reconnects: groups.sum((c) => c.reconnects),
      frames: groups.sum((c) => c.frames),
      trades: handler.trades,
      quotes: handler.quotes,
      parseErrors: groups.sum((c) => c.parseErrors) + handler.futureTrades,
      lateTradesDropped: late,
      duplicateTradesDropped: dupes,
      recoveredTrades: outage.recoveredTrades,
      unrecoveredGaps: outage.unrecoveredGaps,
      clockOffsetMs: clock.offsetMs,
      lastFrameAt: groups.lastFrameAt(),
      lastError: this.lastError,
      parseHistogram: hdr.encodeIntoCompressedBase64(handler.parseHistogram),
    };
    handler.parseHistogram.reset();
    this.post(status);
  }
}
