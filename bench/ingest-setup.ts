/**
 * What the ingest benchmarks (bench/ingest.ts, bench/ingest-parts.ts) share:
 * the symbols, timeframes and seed of their frames, and the shared memory of
 * one tickwire ingest worker as their main thread holds it (the runtime's
 * default tick ring, the bar-event ring, the dirty flags and the doorbell,
 * with a drain of them as the pump does).
 */
import { Doorbell } from '../src/buffers/doorbell.ts';
import { TickRing } from '../src/buffers/tick-ring.ts';
import { allocateBarEventRing, openBarEventRing } from '../src/feed/protocol.ts';
import { TICK_FIELDS } from '../src/model/records.ts';

/** Symbols the ingest frames spread over (one aggregator each). */
export const INGEST_SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT'];
/** Every timeframe aggregated per trade (the micro-benchmark's six). */
export const INGEST_TIMEFRAMES = ['1s', '1m', '5m', '15m', '1h', '1d'];
/** The seed the ingest frames are made from (bench/frames.ts). */
export const INGEST_SEED = 20240809;

/** The shared memory a tickwire ingest worker writes (`nSeries` bar series), as the main thread sees it. */
export interface IngestRings {
  /** What the worker is given (its workerData). */
  shared: { ticks: SharedArrayBuffer; barEvents: SharedArrayBuffer; dirty: SharedArrayBuffer; doorbell: SharedArrayBuffer };
  ticks: TickRing;
  /** Records drained so far. */
  drained: { ticks: number; barEvents: number };
  /** Take everything available, as the pump does: tick records, bar events, dirty flags. */
  drain(): void;
}

/** The rings of one ingest worker (the runtime's default tick ring) and the main thread's drain of them. */
export function ingestRings(nSeries: number): IngestRings {
  const shared = {
    ticks: TickRing.allocate(65_536, TICK_FIELDS), // the runtime's default ring
    barEvents: allocateBarEventRing(Math.max(8_192, 4 * nSeries)),
    dirty: new SharedArrayBuffer(4 * nSeries),
    doorbell: Doorbell.allocate(),
  };
  const ticks = new TickRing(shared.ticks);
  const barEvents = openBarEventRing(shared.barEvents);
  const dirty = new Int32Array(shared.dirty);
  const drained = { ticks: 0, barEvents: 0 };
  let sum = 0;
  const visitor = { onRecord: (buf: Float64Array, off: number) => void (sum += buf[off]!) };
  const drain = () => {
    let n: number;
    while ((n = ticks.read(visitor)) > 0) drained.ticks += n;
    while ((n = barEvents.read(visitor)) > 0) drained.barEvents += n;
    for (let i = 0; i < dirty.length; i++) if (dirty[i] !== 0) Atomics.exchange(dirty, i, 0);
  };
  return { shared, ticks, drained, drain };
}
