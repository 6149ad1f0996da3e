/** A BarSink that keeps the latest version of every bar, for assertions. */
import { BarEvent, type BarSink } from '../../src/bars/aggregator.ts';
import { readBar, type Bar } from '../../src/model/records.ts';

export interface SinkEvent {
  tf: number;
  event: BarEvent;
  bar: Bar;
}

/** Collects every event and the latest closed and forming bar per timeframe. */
export class CollectingSink implements BarSink {
  readonly events: SinkEvent[] = [];
  /** Per timeframe: closed bars by open time (latest revision). */
  readonly closed: Map<number, Bar>[] = [];
  readonly formingBars: (Bar | undefined)[] = [];

  onBar(tf: number, event: BarEvent, buf: Float64Array, offset: number): void {
    const bar = readBar(buf, offset);
    this.events.push({ tf, event, bar });
    if (event === BarEvent.FORMING) {
      this.formingBars[tf] = bar;
      return;
    }
    (this.closed[tf] ??= new Map()).set(bar.openTime, bar);
  }

  /** Closed bars of `tf`, oldest first. */
  closedBars(tf: number): Bar[] {
    return [...(this.closed[tf]?.values() ?? [])].sort((a, b) => a.openTime - b.openTime);
  }

  eventsOf(event: BarEvent, tf?: number): SinkEvent[] {
    return this.events.filter((e) => e.event === event && (tf === undefined || e.tf === tf));
  }
}
