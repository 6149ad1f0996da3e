/**
 * Producer side of the doorbell's lost-wake-up test: publishes `count` items
 * one at a time (an Atomics counter), ringing after each, at an irregular
 * pace (bursts, short spins, sleeps) so rings land while the consumer drains,
 * yields and sleeps. Tells the parent `{type:'done'}` after the last ring.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Doorbell } from '../../src/buffers/doorbell.ts';
import { mulberry32 } from '../../src/sim/prng.ts';

const { doorbell, published, count, seed } = workerData as { doorbell: SharedArrayBuffer; published: SharedArrayBuffer; count: number; seed: number };
const bell = new Doorbell(doorbell);
const items = new Int32Array(published);
const pause = new Int32Array(new SharedArrayBuffer(4));
const random = mulberry32(seed);

for (let i = 0; i < count; i++) {
  Atomics.add(items, 0, 1);
  bell.ring();
  const r = random();
  if (r < 0.6) continue; // a burst: ring again at once
  if (r < 0.9) {
    const until = performance.now() + random() * 0.05; // a short spin, up to 50 µs
    while (performance.now() < until);
  } else {
    Atomics.wait(pause, 0, 0, random()); // a sleep, up to 1 ms: the consumer parks
  }
}
parentPort!.postMessage({ type: 'done' });
