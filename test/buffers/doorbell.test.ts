import { describe, expect, it } from 'vitest';
import { Doorbell } from '../../src/buffers/doorbell.ts';
import { nowMs } from '../../src/model/clock.ts';
import { firstMessage, startWorker } from '../support/worker.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until `predicate` holds (polling), failing after `ms`. */
async function eventually(predicate: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await sleep(5);
  }
}

describe('Doorbell', () => {
  it('drains once at start, then once per ring, and stays asleep when idle', async () => {
    const sab = Doorbell.allocate();
    let drains = 0;
    const listener = new Doorbell(sab).listen(() => drains++);
    await sleep(50);
    expect(drains).toBe(1);
    new Doorbell(sab).ring();
    await eventually(() => drains === 2);
    await sleep(100); // idle: no polling
    expect(drains).toBe(2);
    await listener.stop();
    const after = drains;
    new Doorbell(sab).ring();
    await sleep(20);
    expect(drains).toBe(after);
  });

  it('never misses a ring that comes during a drain', async () => {
    const sab = Doorbell.allocate();
    const bell = new Doorbell(sab);
    let pending = 0;
    let taken = 0;
    const listener = bell.listen(() => {
      taken += pending;
      pending = 0;
      if (taken > 0 && taken < 5) {
        pending++; // new work arrives while draining, and rings
        bell.ring();
      }
    });
    pending++;
    bell.ring();
    await eventually(() => taken === 5);
    await sleep(20);
    expect(taken).toBe(5);
    await listener.stop();
  });

  it('lets the event loop run while rings keep coming', async () => {
    const sab = Doorbell.allocate();
    const bell = new Doorbell(sab);
    let drains = 0;
    const listener = bell.listen(() => {
      drains++;
      bell.ring(); // always more work
    });
    await sleep(30); // this timer fires only if the listener yields
    await listener.stop();
    expect(drains).toBeGreaterThan(10);
  });
  it('reports, per drain after rings, the wait from the first of them to the drain', async () => {
    const sab = Doorbell.allocate();
    const bell = new Doorbell(sab);
    const waits: number[] = [];
    let drains = 0;
    const listener = bell.listen(() => drains++, (us) => waits.push(us));
    await eventually(() => drains === 1);
    expect(waits).toEqual([]); // the first drain follows no ring
    const busy = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    bell.ring();
    busy(20); // this thread is the consumer: it cannot drain before this returns
    bell.ring(); // a second ring before the drain: the wait still counts from the first
    busy(10);
    await eventually(() => drains === 2);
    expect(waits.length).toBe(1);
    expect(waits[0]!).toBeGreaterThanOrEqual(30_000);
    expect(waits[0]!).toBeLessThan(60_000_000);
    bell.ring();
    await eventually(() => drains === 3);
    expect(waits.length).toBe(2); // a new first ring after the drain took the last
    await listener.stop();
  });
  it('counts the wait from the time a ring gives (a batch’s first receipt), and wake-ups apart from drains', async () => {
    const sab = Doorbell.allocate();
    const bell = new Doorbell(sab);
    const waits: number[] = [];
    const listener = bell.listen(() => {}, (us) => waits.push(us));
    await eventually(() => listener.drains === 1);
    await sleep(20); // parked by now (a ring before it parks is a yield, not a wake-up)
    bell.ring(nowMs() - 40); // the batch's first record arrived 40 ms ago
    await eventually(() => listener.drains === 2);
    expect(waits[0]!).toBeGreaterThanOrEqual(40_000);
    expect(waits[0]!).toBeLessThan(60_000_000);
    expect(listener.wakeups).toBe(1);
    await listener.stop();
    expect(listener.wakeups).toBe(1); // the stop's notify is not a ring
  });
  it('loses no wake-up from a producer thread that notifies only a parked consumer', async () => {
    // Rings land while the consumer drains, yields and sleeps: a lost wake-up leaves the last
    // items unread (no later ring comes to rescue them), and the wait below times out.
    for (const seed of [1, 2, 3]) {
      const sab = Doorbell.allocate();
      const published = new SharedArrayBuffer(4);
      const items = new Int32Array(published);
      const count = 5_000;
      let taken = 0;
      let drains = 0;
      const listener = new Doorbell(sab).listen(() => {
        drains++;
        taken = Atomics.load(items, 0);
      });
      const worker = startWorker(new URL('../workers/doorbell-ringer.ts', import.meta.url), { doorbell: sab, published, count, seed });
      try {
        await firstMessage<{ type: 'done' }>(worker);
        await eventually(() => taken === count, 20_000);
        expect(drains).toBeGreaterThan(1);
      } finally {
        await listener.stop();
        await worker.terminate();
      }
    }
  });
});
