/**
 * Ingest benchmark, tickwire side: one exchange worker's per-frame path on
 * frames held in memory (no socket), in a worker thread of its own.
 *
 * Per frame it does what workers/feed-worker.ts does through
 * FeedConnection.onMessage: stamp the receive time, count the frame,
 * `BinanceAdapter.parse` → for each trade the clock-offset sample,
 * `BarAggregator.addTrade` over every timeframe (bars written to their
 * shared-memory BarSeries through the worker's own BufferWriter; closes also to
 * the bar-event ring, forming bars flag their series dirty) and a tick record in the TickRing; then the
 * parse-time histogram and the flush (publish both rings, ring the doorbell).
 * The main thread drains the rings meanwhile, as the pump would.
 *
 * Each round starts from fresh aggregators and fresh BarSeries (the frames
 * are the same every round, so a kept aggregator would drop them all as
 * duplicates), after untimed warm-up rounds. Posts one `IngestRound` per
 * timed round, then `done`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { BarAggregator } from '../src/bars/aggregator.ts';
import { BarSeries } from '../src/buffers/bar-store.ts';
import { Doorbell } from '../src/buffers/doorbell.ts';
import { TickRing } from '../src/buffers/tick-ring.ts';
import { FrameKind, type FeedHandler } from '../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../src/exchanges/binance.ts';
import { ClockOffset } from '../src/feed/clock-offset.ts';
import { nowMs } from '../src/model/clock.ts';
import { BufferWriter } from '../src/feed/buffer-writer.ts';
import { openBarEventRing } from '../src/feed/protocol.ts';
import { ingestFrames } from './frames.ts';
import { threadCpuMs } from './threads.ts';
import type { IngestRound, IngestWorkerData } from './ingest.ts';

const data = workerData as IngestWorkerData & { ticks: SharedArrayBuffer; barEvents: SharedArrayBuffer; dirty: SharedArrayBuffer; doorbell: SharedArrayBuffer };
const port = parentPort!;
const nTf = data.timeframes.length;
const nSymbols = data.symbols.length;

const ticks = new TickRing(data.ticks);
const barEvents = openBarEventRing(data.barEvents);
const dirty = new Int32Array(data.dirty);
const doorbell = new Doorbell(data.doorbell);

const { frames } = ingestFrames(data.frames, data.symbols, data.seed);
const adapter = new BinanceAdapter(data.symbols, ['trades']);

// Per-round state (the feed worker's module state).
let series: BarSeries[] = [];
let writer: BufferWriter;
let aggregators: BarAggregator[] = [];
let clock = new ClockOffset();
let parseHistogram = newHistogram();
let trades = 0;
let recvTs = 0;
let parseStart = 0;
/** FeedConnection's per-frame bookkeeping (kept so the work per frame matches). */
let lastFrameAt = 0;

function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

/** As the feed worker's handler for trades (no gap recovery on this path). */
const handler: FeedHandler = {
  trade(symbol, ts, price, size, side, tradeId) {
    clock.sample(ts, recvTs);
    if (!aggregators[symbol]!.addTrade(ts, price, size, side, tradeId)) return;
    trades++;
    writer.trade(symbol, ts, recvTs, price, size, side, tradeId);
  },
  quote() {
    throw new Error('ingest bench: no quotes expected');
  },
};

function freshState(): void {
  series = Array.from({ length: nSymbols * nTf }, () => new BarSeries(BarSeries.allocate(data.history)));
  writer = new BufferWriter(nSymbols, ticks, series, dirty, barEvents, doorbell);
  aggregators = data.symbols.map((_, i) => new BarAggregator(data.timeframes, writer.sinkFor(i, nTf)));
  clock = new ClockOffset();
  parseHistogram = newHistogram();
  trades = 0;
}

/** One pass over every frame, timed; the per-frame work of FeedConnection.onMessage + the feed worker. */
function round(): IngestRound {
  freshState();
  const overflowBefore = ticks.overflow() + barEvents.overflow();
  let count = 0;
  let malformed = 0;
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    const ts = nowMs();
    count++;
    lastFrameAt = ts;
    recvTs = ts;
    parseStart = performance.now();
    const kind = adapter.parse(frame, handler);
    if (kind === FrameKind.DATA) parseHistogram.recordValue(Math.max(1, Math.round((performance.now() - parseStart) * 1000)));
    else malformed++;
    writer.flush();
  }
  const ms = performance.now() - t0;
  const cpuMs = threadCpuMs() - cpu0;
  return {
    ms,
    cpuMs,
    frames: count,
    trades,
    malformed,
    overflow: ticks.overflow() + barEvents.overflow() - overflowBefore,
    parseP50Us: parseHistogram.getValueAtPercentile(50),
    parseP99Us: parseHistogram.getValueAtPercentile(99),
  };
}

for (let r = 0; r < data.warmupRounds; r++) round();
for (let r = 0; r < data.rounds; r++) port.postMessage({ type: 'round', round: round() });
port.postMessage({ type: 'done' });
