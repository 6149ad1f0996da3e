/**
 * TickRing producer and consumer paths on one thread (no cross-core traffic:
 * this is the cost of the code, not of cache-line transfer), 1024 records of
 * 9 float64 fields per timed call. The ring holds 4096, so it never fills;
 * the write-only and read-only cases refill/drain it outside the timed window.
 *
 * Peer of "write then read": what a hand-written hand-off does, an object
 * per trade pushed onto a JS array and read back field by field.
 */
import { TICK_FIELDS, TickField as T, TickKind } from '../src/model/records.ts';
import { TickRing, type RecordVisitor } from '../src/buffers/tick-ring.ts';
import { runCases, type Row } from './harness.ts';

const BATCH = 1024;
const CAPACITY = 4096;

/** Sums all 9 fields of every record (a consumer that reads the whole record). */
class SumVisitor implements RecordVisitor {
  sum = 0;
  onRecord(buf: Float64Array, off: number): void {
    let s = 0;
    for (let f = 0; f < TICK_FIELDS; f++) s += buf[off + f]!;
    this.sum += s;
  }
}

/** Producer: writes `count` trade records; publishes after each, or once at the end. */
function write(ring: TickRing, count: number, seq: number, publishEach: boolean): void {
  const d = ring.data;
  for (let i = 0; i < count; i++) {
    const off = ring.claim();
    if (off < 0) throw new Error('tick ring full'); // a real producer counts and drops
    const n = seq + i;
    d[off + T.KIND] = TickKind.TRADE;
    d[off + T.SERIES] = 7;
    d[off + T.EXCHANGE_TS] = 1723161255342 + n;
    d[off + T.RECV_TS] = 1723161255343000 + n;
    d[off + T.PRICE] = 61837.63;
    d[off + T.SIZE] = 0.02;
    d[off + T.SIDE] = -1;
    d[off + T.TRADE_ID] = 3735683259 + n;
    d[off + T.SEQ] = n;
    if (publishEach) ring.publish();
  }
  if (!publishEach) ring.publish();
}

/** Measure TickRing claim + write 9 fields + publish, read, and both, per record. */
export function tickRingBench(): Row[] {
  const ring = new TickRing(TickRing.allocate(CAPACITY));
  const visitor = new SumVisitor();
  let seq = 0;
  const produce = (publishEach: boolean) => {
    write(ring, BATCH, seq, publishEach);
    seq += BATCH;
  };
  const drain = () => void ring.read(visitor);
  const readBatch = () => {
    if (ring.read(visitor) !== BATCH) throw new Error('tick ring: expected a full batch');
  };
  const queue: TradeObject[] = [];
  let objectSum = 0;
  const objects = () => {
    for (let i = 0; i < BATCH; i++) {
      const n = seq + i;
      queue.push({ kind: TickKind.TRADE, series: 7, exchangeTs: 1723161255342 + n, recvTs: 1723161255343000 + n, price: 61837.63, size: 0.02, side: -1, tradeId: 3735683259 + n, seq: n });
    }
    seq += BATCH;
    for (const t of queue) objectSum += t.kind + t.series + t.exchangeTs + t.recvTs + t.price + t.size + t.side + t.tradeId + t.seq;
    queue.length = 0;
  };
  const rows = runCases('tick-ring', [
    { id: 'tick_ring.write', name: 'tick-ring write: claim + 9 fields + publish', unit: 'record', batch: BATCH, fn: () => produce(true), hooks: { afterEach: drain } },
    { id: 'tick_ring.write_batched', name: 'tick-ring write: claim + 9 fields, one publish per 1024', unit: 'record', batch: BATCH, fn: () => produce(false), hooks: { afterEach: drain } },
    { id: 'tick_ring.read', name: 'tick-ring read: 9 fields per record', unit: 'record', batch: BATCH, fn: readBatch, hooks: { beforeEach: () => produce(true) } },
    {
      id: 'tick_ring.write_read',
      peer: 'tick_ring.objects',
      name: 'tick-ring write then read (publish per record)',
      unit: 'record',
      batch: BATCH,
      fn: () => {
        produce(true);
        readBatch();
      },
    },
    { id: 'tick_ring.objects', name: 'an object per trade through a JS array, written then read', unit: 'record', batch: BATCH, fn: objects },
  ]);
  if (!(objectSum > 0 && visitor.sum > 0)) throw new Error('tick-ring bench: nothing was read');
  return rows;
}

/** The peer's record: one object per trade, the same 9 fields. */
interface TradeObject {
  kind: number;
  series: number;
  exchangeTs: number;
  recvTs: number;
  price: number;
  size: number;
  side: number;
  tradeId: number;
  seq: number;
}
