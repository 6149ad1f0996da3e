/** Connects an aggregator to shared memory: each timeframe's bars go to its BarSeries. */
import type { BarSeries } from '../buffers/bar-store.ts';
import { BarEvent, type BarSink } from './aggregator.ts';

/** Writes forming bars and closed (or amended) bars into one BarSeries per timeframe index. */
export class SeriesSink implements BarSink {
  private readonly series: readonly BarSeries[];

  constructor(series: readonly BarSeries[]) {
    this.series = series;
  }

  onBar(tf: number, event: BarEvent, bar: Float64Array, offset: number): void {
    if (event === BarEvent.FORMING) this.series[tf]!.setForming(bar, offset);
    else this.series[tf]!.putClosed(bar, offset);
  }
}
