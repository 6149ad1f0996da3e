/**
 * Producer side of the TickRing concurrency test: writes `total` records whose
 * every field derives from the record's sequence number, publishing and
 * ringing the doorbell once per `batch`. Posts how many it saw dropped.
 * With `waitWhenFull` it waits for room instead (a paced producer).
 */
import { workerData, parentPort } from 'node:worker_threads';
import { TickRing } from '../../src/buffers/tick-ring.ts';
import { Doorbell } from '../../src/buffers/doorbell.ts';

const { ring: ringBuffer, bell: bellBuffer, total, batch, waitWhenFull } = workerData as {
  ring: SharedArrayBuffer;
  bell: SharedArrayBuffer;
  total: number;
  batch: number;
  /** Wait for room instead of dropping (a paced producer), so every record must arrive. */
  waitWhenFull: boolean;
};
const pause = new Int32Array(new SharedArrayBuffer(4));
const ring = new TickRing(ringBuffer);
const bell = new Doorbell(bellBuffer);
const data = ring.data;
const stride = ring.stride;
let dropped = 0;
for (let seq = 0; seq < total; ) {
  const end = Math.min(total, seq + batch);
  for (; seq < end; seq++) {
    while (waitWhenFull && !ring.hasRoom()) {
      ring.publish();
      bell.ring();
      Atomics.wait(pause, 0, 0, 0.02);
    }
    const off = ring.claim();
    if (off < 0) {
      dropped++;
      continue;
    }
    for (let k = 0; k < stride; k++) data[off + k] = seq * 16 + k;
  }
  ring.publish();
  bell.ring();
}
parentPort!.postMessage({ dropped });
