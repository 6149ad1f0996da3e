/**
 * Ingest benchmark, tickwire side: one exchange worker's per-frame path on
 * frames held in memory (no socket), in a worker thread of its own.
 *
 * Per frame it does what the feed worker (src/feed/worker.ts) does through
 * FeedConnection.onMessage, with the worker's own parts: stamp the receive
 * time (one clock read per socket read, as the connection's ReadClock),
 * count the frame, `BinanceAdapter.parse` into the worker's
 * TickHandler (src/feed/tick-handler.ts: for each trade the clock-offset
 * sample, `BarAggregator.addTrade` over every timeframe with bars written to
 * their shared-memory BarSeries through the worker's BufferWriter, closes
 * also to the bar-event ring, forming bars flag their series dirty, and a
 * tick record in the TickRing); then its `endFrame`: the parse-time histogram
 * and publishing both rings; and at the end of each socket read's frames its
 * `endBatch`: the changed forming bars, then one ring of the doorbell. The
 * main thread drains the rings meanwhile, as the pump would.
 *
 * Each round starts from fresh aggregators and fresh BarSeries (the frames
 * are the same every round, so a kept aggregator would drop them all as
 * duplicates), after untimed warm-up rounds. Posts one `IngestRound` per
 * timed round, then `done`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BarAggregator } from '../src/bars/aggregator.ts';
import { BarSeries } from '../src/buffers/bar-store.ts';
import { Doorbell } from '../src/buffers/doorbell.ts';
import { TickRing } from '../src/buffers/tick-ring.ts';
import { FrameKind } from '../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../src/exchanges/binance.ts';
import { ClockOffset } from '../src/feed/clock-offset.ts';
import { nowMs } from '../src/model/clock.ts';
import { BufferWriter } from '../src/feed/buffer-writer.ts';
import { openBarEventRing } from '../src/feed/protocol.ts';
import { TickHandler } from '../src/feed/tick-handler.ts';
import { ingestFrames, socketReadEnds } from './frames.ts';
import { postRounds, type TimedRound } from './ingest-rounds.ts';
import { threadCpuMs } from './threads.ts';
import type { IngestWorkerData } from './ingest.ts';

const data = workerData as IngestWorkerData & { ticks: SharedArrayBuffer; barEvents: SharedArrayBuffer; dirty: SharedArrayBuffer; doorbell: SharedArrayBuffer };
const port = parentPort!;
const nTf = data.timeframes.length;
const nSymbols = data.symbols.length;

const ticks = new TickRing(data.ticks);
const barEvents = openBarEventRing(data.barEvents);
const dirty = new Int32Array(data.dirty);
const doorbell = new Doorbell(data.doorbell);

const { frames } = ingestFrames(data.frames, data.symbols, data.seed);
/**
 * Where the feed worker's batches end: a wss connection decrypts TLS records
 * of at most 16 KiB, and the frames of one record are parsed in one
 * event-loop turn, after which the worker publishes its forming bars
 * (TickHandler.endBatch). 1 marks a frame that ends such a read.
 */
const readEnds = socketReadEnds(frames, 16_384);
const adapter = new BinanceAdapter(data.symbols, ['trades']);

// Per-round state (the feed worker's).
let handler: TickHandler;
/** FeedConnection's per-frame bookkeeping (kept so the work per frame matches). */
let lastFrameAt = 0;

function freshState(): void {
  const series = Array.from({ length: nSymbols * nTf }, () => new BarSeries(BarSeries.allocate(data.history)));
  const writer = new BufferWriter(nSymbols, ticks, series, dirty, barEvents, doorbell);
  const aggregators = data.symbols.map((_, i) => new BarAggregator(data.timeframes, writer.sinkFor(i, nTf), { batchForming: true }));
  handler = new TickHandler(aggregators, writer, new ClockOffset());
}

/** One pass over every frame, timed; the per-frame work of FeedConnection.onMessage + the feed worker. */
function round(): TimedRound {
  freshState();
  const overflowBefore = ticks.overflow() + barEvents.overflow();
  let count = 0;
  let malformed = 0;
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  let ts = nowMs(); // the socket read's time: one clock read per read, as FeedConnection's ReadClock does
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    count++;
    lastFrameAt = ts;
    handler.beginFrame(ts);
    const kind = adapter.parse(frame, handler);
    if (kind !== FrameKind.DATA) malformed++;
    handler.endFrame(kind);
    if (readEnds[i] === 1) {
      handler.endBatch(); // the event-loop turn of one socket read ends
      ts = nowMs(); // the next read's time
    }
  }
  const t1 = performance.now();
  const cpuMs = threadCpuMs() - cpu0;
  return {
    ms: t1 - t0,
    t0,
    cpuMs,
    frames: count,
    trades: handler.trades,
    malformed,
    overflow: ticks.overflow() + barEvents.overflow() - overflowBefore,
    parseP50Us: handler.parseHistogram.getValueAtPercentile(50),
    parseP99Us: handler.parseHistogram.getValueAtPercentile(99),
  };
}

await postRounds(port, data.warmupRounds, data.rounds, round);
