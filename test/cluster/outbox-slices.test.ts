/**
 * Scale-out, the NATS hop: the outbox publishes at most FLUSH_SLICE messages
 * a turn of the event loop, the rest on the next turns, in order, so the I/O
 * that waited meanwhile (acknowledgements, the lease's renewals) is read
 * between slices. Pure: a fake publisher whose acknowledgements the test
 * settles.
 */
import { describe, expect, it } from 'vitest';
import { FLUSH_SLICE, Outbox } from '../../src/cluster/outbox.ts';
import type { AckedSend } from '../../src/cluster/acked-publisher.ts';

function fakePublisher(): { js: AckedSend; sent: { msgID: string; ack: () => void }[] } {
  const sent: { msgID: string; ack: () => void }[] = [];
  const js: AckedSend = {
    send: (_subject, _data, stamp, receiver, item, tag) => void sent.push({ msgID: stamp.msgID, ack: () => receiver.acked(item, tag, false) }),
  };
  return { js, sent };
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
const noConnectionEvents = (): (() => void) => () => undefined;

describe('outbox slices', () => {
  it('publishes FLUSH_SLICE messages in one turn and the rest on the next turns, in order', async () => {
    const { js, sent } = fakePublisher();
    const outbox = new Outbox(js, noConnectionEvents);
    const n = 2 * FLUSH_SLICE + 10;
    for (let i = 0; i < n; i++) outbox.send('x', 'x.1', new Uint8Array([i & 255]), { term: 1, seq: 0, msgID: `m${i}` });
    expect(sent.length).toBe(FLUSH_SLICE);
    await nextTurn();
    expect(sent.length).toBe(2 * FLUSH_SLICE);
    await nextTurn();
    expect(sent.map((s) => s.msgID)).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
    for (const s of sent) s.ack();
    await nextTurn();
    expect(outbox.unacked).toBe(0);
    expect(outbox.counters.acked).toBe(n);
    outbox.close();
  });

  it('a message sent after a slice was used waits behind the ones queued before it', async () => {
    const { js, sent } = fakePublisher();
    const outbox = new Outbox(js, noConnectionEvents);
    for (let i = 0; i < FLUSH_SLICE + 1; i++) outbox.send('x', 'x.1', new Uint8Array([1]), { term: 1, seq: 0, msgID: `a${i}` });
    await Promise.resolve(); // a microtask is still the same turn
    outbox.send('x', 'x.1', new Uint8Array([2]), { term: 1, seq: 0, msgID: 'late' });
    expect(sent.length).toBe(FLUSH_SLICE);
    await nextTurn();
    expect(sent.slice(-2).map((s) => s.msgID)).toEqual([`a${FLUSH_SLICE}`, 'late']);
    outbox.close();
  });
});
