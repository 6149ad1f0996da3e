/**
 * The ingest worker's path with one part taken out (bench/ingest-parts.ts
 * runs one worker per part). Each pass is what ingest-tickwire-worker.ts
 * times, from fresh aggregators and series; the part named by `part` is
 * replaced by nothing:
 *  - `whole`: nothing taken out (the ingest figure);
 *  - `no-wakeup`: the doorbell rung is one no thread listens to (the main
 *    thread drains every 1 ms instead): what waking a parked main thread
 *    costs the worker;
 *  - `no-ticks`: no tick records written;
 *  - `no-bars`: no aggregation (every trade taken, no bar touched, so no
 *    forming bar or close is written either);
 *  - `no-bar-writes`: the aggregation without its writes to shared memory
 *    (forming bars, closes into their series and the bar-event ring);
 *  - `clock-per-frame`: a clock read per frame instead of per socket read;
 *  - `parse-only`: `BinanceAdapter.parse` into a handler that keeps nothing;
 *  - `read-only`: a loop reading every character of every frame, no parse.
 * Posts the worker CPU time per frame of each timed pass, ns.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BarAggregator } from '../src/bars/aggregator.ts';
import { BarSeries } from '../src/buffers/bar-store.ts';
import { Doorbell } from '../src/buffers/doorbell.ts';
import { TickRing } from '../src/buffers/tick-ring.ts';
import { FEED_FIELDS } from '../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../src/exchanges/binance.ts';
import { BufferWriter } from '../src/feed/buffer-writer.ts';
import { ClockOffset } from '../src/feed/clock-offset.ts';
import { openBarEventRing } from '../src/feed/protocol.ts';
import { TickHandler } from '../src/feed/tick-handler.ts';
import { nowMs } from '../src/model/clock.ts';
import { ingestFrames, socketReadEnds } from './frames.ts';
import type { IngestPart, IngestPartsData } from './ingest-parts.ts';
import { threadCpuMs } from './threads.ts';

const data = workerData as IngestPartsData & { part: IngestPart };
const nTf = data.timeframes.length;
const nSymbols = data.symbols.length;
const ticks = new TickRing(data.shared.ticks);
const barEvents = openBarEventRing(data.shared.barEvents);
const dirty = new Int32Array(data.shared.dirty);
const { frames } = ingestFrames(data.frames, data.symbols, data.seed);
const readEnds = socketReadEnds(frames, 16_384);
const adapter = new BinanceAdapter(data.symbols, ['trades']);

class NoTicks extends BufferWriter {
  override trade(): void {}
}
class NoBarWrites extends BufferWriter {
  override write(): void {}
}
class NoBars extends BarAggregator {
  override takeTrade(): boolean {
    return true;
  }
}

function handler(part: IngestPart): TickHandler {
  const series = Array.from({ length: nSymbols * nTf }, () => new BarSeries(BarSeries.allocate(1000)));
  const bell = new Doorbell(part === 'no-wakeup' ? data.unheard : data.shared.doorbell);
  const Writer = part === 'no-ticks' ? NoTicks : part === 'no-bar-writes' ? NoBarWrites : BufferWriter;
  const writer = new Writer(nSymbols, ticks, series, dirty, barEvents, bell);
  const Aggregator = part === 'no-bars' ? NoBars : BarAggregator;
  const aggregators = data.symbols.map((_, i) => new Aggregator(data.timeframes, writer.sinkFor(i, nTf), { batchForming: true }));
  return new TickHandler(aggregators, writer, new ClockOffset());
}

/** The worker's per-frame path (ingest-tickwire-worker.ts), stamping per read or, with `perFrame`, per frame. */
function pipeline(h: TickHandler, perFrame: boolean): number {
  let ts = nowMs();
  for (let i = 0; i < frames.length; i++) {
    if (perFrame) ts = nowMs();
    h.beginFrame(ts);
    h.endFrame(adapter.parse(frames[i]!, h));
    if (readEnds[i] === 1) {
      h.endBatch();
      ts = nowMs();
    }
  }
  return h.trades;
}

const keepNothing = { fields: new Float64Array(FEED_FIELDS), trades: 0, trade(): void { this.trades++; }, quote(): void {} };

function parseOnly(): number {
  keepNothing.trades = 0;
  for (let i = 0; i < frames.length; i++) adapter.parse(frames[i]!, keepNothing);
  return keepNothing.trades;
}

function readOnly(): number {
  let x = 0;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    for (let j = 0; j < f.length; j++) x = (x + f.charCodeAt(j)) | 0;
  }
  return x >>> 0;
}

/** One pass of `part`; its set-up (fresh aggregators and series) is not timed. */
function pass(part: IngestPart): number {
  if (part === 'parse-only') return timed(parseOnly);
  if (part === 'read-only') return timed(readOnly);
  const h = handler(part);
  return timed(() => pipeline(h, part === 'clock-per-frame'));
}

/** Worker CPU time per frame of `run`, ns. */
function timed(run: () => number): number {
  const cpu0 = threadCpuMs();
  if (run() < 0) throw new Error('unreachable'); // (keeps the result live)
  return ((threadCpuMs() - cpu0) * 1e6) / frames.length;
}

for (let r = 0; r < data.warmupRounds; r++) pass(data.part);
const perFrameNs: number[] = [];
for (let r = 0; r < data.rounds; r++) perFrameNs.push(pass(data.part));
parentPort!.postMessage(perFrameNs);
