/**
 * Writer side of the BarSeries torn-read test. Every bar it writes satisfies
 * `invariantHolds` (test/support/bar-invariant.ts): all fields derive from
 * (openTime, version). It updates the forming bar at least `updates` times,
 * and on until the reader has counted `minReads` reads (so the two overlap
 * however the threads are scheduled); it closes the bar every 10th update and
 * amends an older closed bar every 97th.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { BarSeries } from '../../src/buffers/bar-store.ts';
import { BAR_FIELDS } from '../../src/model/records.ts';
import { writeInvariantBar } from '../support/bar-invariant.ts';

const { series: buffer, updates, minReads, control } = workerData as {
  series: SharedArrayBuffer;
  updates: number;
  minReads: number;
  /** Int32 [0]: set to 1 when done; [1]: reads the reader has made. */
  control: SharedArrayBuffer;
};
const ctl = new Int32Array(control);
const series = new BarSeries(buffer);
const bar = new Float64Array(BAR_FIELDS);
let openTime = 1_000;
let closes = 0;
let amends = 0;
let u = 1;
for (; u <= updates || Atomics.load(ctl, 1) < minReads; u++) {
  writeInvariantBar(bar, openTime, u, false, 0);
  series.setForming(bar, 0);
  if (u % 10 === 0) {
    writeInvariantBar(bar, openTime, u, true, 0);
    series.putClosed(bar, 0);
    closes++;
    openTime += 1_000;
  }
  if (u % 97 === 0 && openTime > 4_000) {
    writeInvariantBar(bar, openTime - 3_000, u, true, u);
    series.putClosed(bar, 0);
    amends++;
  }
}
Atomics.store(ctl, 0, 1);
parentPort!.postMessage({ updates: u - 1, closes, amends });
