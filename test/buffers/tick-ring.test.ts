import { describe, expect, it } from 'vitest';
import { Doorbell } from '../../src/buffers/doorbell.ts';
import { TickRing, type RecordVisitor } from '../../src/buffers/tick-ring.ts';
import { TICK_FIELDS } from '../../src/model/records.ts';
import { firstMessage, startWorker } from '../support/worker.ts';

const PRODUCER = new URL('../workers/ring-producer.ts', import.meta.url);

/** Collects the first field of each record. */
function collector(): RecordVisitor & { values: number[] } {
  const values: number[] = [];
  return { values, onRecord: (buf, off) => values.push(buf[off]!) };
}

describe('TickRing', () => {
  it('rounds capacity up to a power of two and reports its memory', () => {
    const sab = TickRing.allocate(1000);
    const ring = new TickRing(sab);
    expect(ring.capacity).toBe(1024);
    expect(ring.stride).toBe(TICK_FIELDS);
    expect(sab.byteLength).toBe(TickRing.byteLength(1000));
    expect(sab.byteLength).toBe(192 + 1024 * TICK_FIELDS * 8);
    expect(() => TickRing.allocate(1)).toThrow(RangeError);
  });

  it('delivers published records in order, not claimed-but-unpublished ones', () => {
    const sab = TickRing.allocate(8, 2);
    const producer = new TickRing(sab);
    const consumer = new TickRing(sab);
    for (let i = 0; i < 3; i++) producer.data[producer.claim()] = i;
    const c = collector();
    expect(consumer.read(c)).toBe(0);
    producer.publish();
    expect(consumer.read(c)).toBe(3);
    expect(c.values).toEqual([0, 1, 2]);
  });

  it('when full, drops the newest record and counts it; never overwrites unread data', () => {
    const sab = TickRing.allocate(4, 1);
    const producer = new TickRing(sab);
    const consumer = new TickRing(sab);
    for (let i = 0; i < 6; i++) {
      const off = producer.claim();
      if (off >= 0) producer.data[off] = i;
    }
    producer.publish();
    expect(producer.overflow()).toBe(2);
    const c = collector();
    consumer.read(c);
    expect(c.values).toEqual([0, 1, 2, 3]);
    producer.data[producer.claim()] = 6;
    producer.publish();
    consumer.read(c);
    expect(c.values).toEqual([0, 1, 2, 3, 6]);
  });

  it('tells the producer when it holds at least n records, seeing what the consumer read since', () => {
    const sab = TickRing.allocate(8, 1);
    const producer = new TickRing(sab);
    const consumer = new TickRing(sab);
    for (let i = 0; i < 4; i++) producer.data[producer.claim()] = i;
    expect([producer.claimedAtLeast(4), producer.claimedAtLeast(5)]).toEqual([true, false]);
    producer.publish();
    expect(consumer.read(collector(), 3)).toBe(3);
    // The producer last saw nothing read; the consumer has taken 3 since: 1 held.
    expect([producer.claimedAtLeast(4), producer.claimedAtLeast(1), producer.claimedAtLeast(2)]).toEqual([false, true, false]);
    expect(producer.claimedSize()).toBe(1);
    // Filling up from there: 7 more fit (8 held), the 8th is dropped as overflow only then.
    for (let i = 0; i < 7; i++) expect(producer.claim()).toBeGreaterThanOrEqual(0);
    expect(producer.claim()).toBe(-1);
    expect(producer.overflow()).toBe(1);
  });

  it('reads at most `max` records per call, and wraps around the end', () => {
    const sab = TickRing.allocate(4, 1);
    const producer = new TickRing(sab);
    const consumer = new TickRing(sab);
    const c = collector();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3; i++) producer.data[producer.claim()] = round * 10 + i;
      producer.publish();
      expect(consumer.read(c, 2)).toBe(2);
      expect(consumer.read(c, 2)).toBe(1);
    }
    expect(c.values).toEqual([0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42]);
  });

  it('a new producer view (a restarted worker) resumes where the old one stopped', () => {
    const sab = TickRing.allocate(8, 1);
    const first = new TickRing(sab);
    first.data[first.claim()] = 1;
    first.publish();
    const restarted = new TickRing(sab);
    restarted.data[restarted.claim()] = 2;
    restarted.publish();
    const c = collector();
    new TickRing(sab).read(c);
    expect(c.values).toEqual([1, 2]);
  });
});

/**
 * A real producer thread writes `total` records; this thread drains on the
 * doorbell and checks that every record arrives once, whole and in order, and
 * that what is missing equals the overflow count exactly.
 */
async function runProducer(total: number, capacity: number, batch: number, slowConsumer: boolean, waitWhenFull: boolean) {
  const ringBuffer = TickRing.allocate(capacity);
  const bellBuffer = Doorbell.allocate();
  const ring = new TickRing(ringBuffer);
  let received = 0;
  let missing = 0;
  let torn = 0;
  let last = -1;
  const visitor: RecordVisitor = {
    onRecord(buf, off) {
      const seq = (buf[off]! - 0) / 16;
      if (seq <= last || !Number.isInteger(seq)) torn++;
      for (let k = 1; k < TICK_FIELDS; k++) if (buf[off + k] !== seq * 16 + k) torn++;
      missing += seq - last - 1;
      last = seq;
      received++;
    },
  };
  const drain = () => {
    if (slowConsumer) {
      ring.read(visitor, 64);
      const until = performance.now() + 0.2;
      while (performance.now() < until);
    } else {
      while (ring.read(visitor) > 0);
    }
  };
  const listener = new Doorbell(bellBuffer).listen(drain);
  const worker = startWorker(PRODUCER, { ring: ringBuffer, bell: bellBuffer, total, batch, waitWhenFull });
  const { dropped } = await firstMessage<{ dropped: number }>(worker);
  await worker.terminate();
  await listener.stop();
  while (ring.read(visitor) > 0);
  missing += total - 1 - last;
  return { received, missing, torn, dropped, overflow: ring.overflow(), drains: listener.drains };
}

describe('TickRing across threads', () => {
  it('5 million records from a paced worker: every one arrives once, whole and in order', async () => {
    const total = 5_000_000;
    const r = await runProducer(total, 1 << 14, 256, false, true);
    expect(r.torn).toBe(0);
    expect(r.overflow).toBe(0);
    expect(r.received).toBe(total);
    expect(r.missing).toBe(0);
    expect(r.drains).toBeGreaterThan(1);
  });

  it('5 million records from a worker that never waits: what is lost is exactly the counted overflow', async () => {
    const total = 5_000_000;
    const r = await runProducer(total, 1 << 16, 256, false, false);
    expect(r.torn).toBe(0);
    expect(r.received + r.overflow).toBe(total);
    expect(r.missing).toBe(r.overflow);
    expect(r.dropped).toBe(r.overflow);
  });

  it('a consumer too slow for a small ring: overflow happens and is counted exactly', async () => {
    const total = 1_000_000;
    const r = await runProducer(total, 256, 64, true, false);
    expect(r.overflow).toBeGreaterThan(0);
    expect(r.torn).toBe(0);
    expect(r.received + r.overflow).toBe(total);
    expect(r.missing).toBe(r.overflow);
    expect(r.dropped).toBe(r.overflow);
  });
});
