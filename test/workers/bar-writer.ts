/**
 * Writer side of the BarSeries torn-read test. Every bar it writes satisfies
 * `invariantHolds` (test/support/bar-invariant.ts): all fields derive from
 * (openTime, version). It updates the forming bar `updates` times, closes it
 * every 10th update and amends an older closed bar every 97th.
 */
import { workerData, parentPort } from 'node:worker_threads';
import { BarSeries } from '../../src/buffers/bar-store.ts';
import { BAR_FIELDS } from '../../src/model/records.ts';
import { writeInvariantBar } from '../support/bar-invariant.ts';

const { series: buffer, updates, done } = workerData as { series: SharedArrayBuffer; updates: number; done: SharedArrayBuffer };
const series = new BarSeries(buffer);
const bar = new Float64Array(BAR_FIELDS);
let openTime = 1_000;
let closes = 0;
let amends = 0;
for (let u = 1; u <= updates; u++) {
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
Atomics.store(new Int32Array(done), 0, 1);
parentPort!.postMessage({ closes, amends });
