/**
 * A worker's aggregators, one per symbol, resumed from the bars already in
 * shared memory: a restarted worker continues the same bars.
 *
 * A cold start over restored bars (a new process, not a supervisor restart:
 * no forming bar anywhere yet) is different. The previous process's last
 * bars may end long ago: resuming from them would fill the downtime with flat
 * bars that claim nothing traded. So a timeframe resumes only when its newest
 * stored bar is the bucket just before the current one; otherwise it starts
 * afresh and the downtime stays without bars (unless backfill fetched them).
 * Either way the bars in progress when the feed comes up miss the trades
 * before it: gapped (the aggregators are blind from the start instant until
 * the first connection is up).
 */
import { BarAggregator } from '../bars/aggregator.ts';
import type { BarSeries } from '../buffers/bar-store.ts';
import type { AdapterCapabilities } from '../exchanges/adapter.ts';
import type { AdapterEntry } from '../exchanges/registry.ts';
import { nowMs } from '../model/clock.ts';
import type { Bar } from '../model/records.ts';
import { bucketStart, parseTimeframe, type TimeframeName } from '../model/timeframes.ts';
import type { BufferWriter } from './buffer-writer.ts';
import { seriesIndex, type FeedWorkerData } from './protocol.ts';

/**
 * Now, when this start is a cold start over restored bars (see the header);
 * NaN for a restart that continues its predecessor's bars, and for a fresh
 * start with no stored bars (decision: its first bars are not marked; see
 * docs/bars.md, "The first bars after a start").
 */
export function coldStartTime(restored: boolean, series: readonly BarSeries[]): number {
  return restored && series.every((s) => s.formingBar() === undefined) ? nowMs() : NaN;
}

/** One BarAggregator per symbol writing through `writer`, each timeframe resumed from its series. */
export function resumeAggregators(
  data: FeedWorkerData,
  entry: AdapterEntry,
  capabilities: AdapterCapabilities,
  writer: BufferWriter,
  coldStartAt: number,
): BarAggregator[] {
  return data.settings.symbols.map((_, i) => resumeAggregator(data, entry, capabilities, writer, i, coldStartAt));
}

/**
 * The aggregator of symbol `i`, resumed from its series. A symbol added live
 * passes `coldStartAt` = now: the bars restored for it resume only when they
 * reach the bucket before the current one, and its first bar is gapped.
 */
export function resumeAggregator(
  data: FeedWorkerData,
  entry: AdapterEntry,
  capabilities: AdapterCapabilities,
  writer: BufferWriter,
  i: number,
  coldStartAt: number,
): BarAggregator {
  const nTf = data.timeframes.length;
  const agg = new BarAggregator(data.timeframes, writer.sinkFor(i, nTf), {
    graceMs: data.bars.graceMs,
    fillEmpty: data.bars.fillEmpty,
    lateToleranceMs: data.bars.lateToleranceMs,
    tradeIdOrder: capabilities.tradeIdOrder,
    session: entry.session?.(data.settings),
    blindUntil: coldStartAt,
    batchForming: true, // published by the worker's TickHandler once per batch of frames
  });
  for (let tf = 0; tf < nTf; tf++) agg.resume(tf, resumable(writer.series[seriesIndex(i, tf, nTf)]!, data.timeframes[tf]!, coldStartAt));
  return agg;
}

/** The bars of `s` to resume from: the newest 64, or none after a cold start they do not reach. */
function resumable(s: BarSeries, tf: TimeframeName, coldStartAt: number): Bar[] {
  const bars = s.bars({ limit: 64 });
  if (coldStartAt !== coldStartAt) return bars;
  const { ms, origin } = parseTimeframe(tf);
  const newest = bars.at(-1);
  return newest !== undefined && newest.openTime + ms >= bucketStart(coldStartAt, ms, origin) ? bars : [];
}
