/**
 * BarSeries writer and reader paths on one thread (no contention: the seqlocks
 * never make a reader retry here).
 *  - setForming: what every trade costs per timeframe (1024 calls per timed call).
 *  - putClosed append: a bar close into a full ring (the steady state), 1024 per call.
 *  - visit: a reader walking 1000 closed bars in place; bars(): the same as objects.
 */
import { BAR_FIELDS, BarField as F, writeBar, type Bar } from '../src/model/records.ts';
import { BarSeries, type BarVisitor } from '../src/buffers/bar-store.ts';
import { runCases, type Row } from './harness.ts';

const BATCH = 1024;
const BARS = 1000;
const MINUTE = 60_000;

const SAMPLE: Bar = {
  openTime: 1723161240000, closeTime: 1723161299999, open: 61837.63, high: 61850, low: 61790.01, close: 61801.2,
  volume: 12.34567, quoteVolume: 763_000.12, buyVolume: 5.1, sellVolume: 7.24567, trades: 1682,
  firstTradeId: 3735683259, lastTradeId: 3735684940, vwap: 61803.3, spread: 0.01, closed: false, revision: 0,
};

/** Sums close × volume of every bar visited (a reader that touches each bar). */
class SumVisitor implements BarVisitor {
  sum = 0;
  begin(): void {
    this.sum = 0;
  }
  onBar(buf: Float64Array, off: number): void {
    this.sum += buf[off + F.CLOSE]! * buf[off + F.VOLUME]!;
  }
}

/** Measure BarSeries.setForming, putClosed (append), and reading 1000 bars, per call / per bar. */
export function barStoreBench(): Row[] {
  const src = new Float64Array(BAR_FIELDS);
  writeBar(SAMPLE, src, 0);

  const forming = new BarSeries(BarSeries.allocate(BARS));
  const setForming = () => {
    for (let i = 0; i < BATCH; i++) {
      src[F.CLOSE] = 61800 + (i & 15); // the bar changes on every trade
      forming.setForming(src, 0);
    }
  };

  const appended = new BarSeries(BarSeries.allocate(BATCH)); // full after the first timed call
  let openTime = SAMPLE.openTime;
  const putClosed = () => {
    for (let i = 0; i < BATCH; i++) {
      src[F.OPEN_TIME] = openTime += MINUTE;
      appended.putClosed(src, 0);
    }
  };

  const full = new BarSeries(BarSeries.allocate(BARS));
  for (let i = 0; i < BARS; i++) {
    src[F.OPEN_TIME] = SAMPLE.openTime + i * MINUTE;
    full.putClosed(src, 0);
  }
  const visitor = new SumVisitor();
  const visit = () => {
    if (full.visit(visitor) !== BARS) throw new Error('bar-store: expected every bar');
  };
  const asObjects = () => {
    if (full.bars().length !== BARS) throw new Error('bar-store: expected every bar');
  };

  return runCases('bar-store', [
    { id: 'bar_store.set_forming', name: 'bar-store setForming', unit: 'call', batch: BATCH, fn: setForming },
    { id: 'bar_store.put_closed', name: 'bar-store putClosed, append to a full ring', unit: 'call', batch: BATCH, fn: putClosed },
    { id: 'bar_store.visit', peer: 'bar_store.objects', name: `bar-store visit ${BARS} bars in place`, unit: 'bar', batch: BARS, fn: visit },
    { id: 'bar_store.objects', name: `bar-store bars(): ${BARS} bars as objects`, unit: 'bar', batch: BARS, fn: asObjects },
  ]);
}
