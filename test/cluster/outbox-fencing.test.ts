/**
 * Scale-out, item 4 (fencing): a feed whose lease ran out publishes none of
 * what still waits in its outbox — a standby publishes the same trades under
 * its own term and the same message ids, so a late copy of the old leader's
 * would be stored, fenced off by edges, and the new leader's deduplicated.
 * The outbox hands such messages back, oldest first. Pure: a fake publisher
 * whose acknowledgements the test settles.
 */
import { describe, expect, it } from 'vitest';
import type { AckedSend } from '../../src/cluster/acked-publisher.ts';
import { Outbox, type FencedMessage } from '../../src/cluster/outbox.ts';

interface Sent {
  subject: string;
  msgID: string;
  resolve: () => void;
  reject: (e: Error) => void;
}

function fakeJs(): { js: AckedSend; sent: Sent[] } {
  const sent: Sent[] = [];
  const js: AckedSend = {
    send(subject, _data, stamp, receiver, item, tag) {
      sent.push({ subject, msgID: stamp.msgID, resolve: () => receiver.acked(item, tag, false), reject: (e) => receiver.failed(item, tag, e) });
    },
  };
  return { js, sent };
}

const noConnectionEvents = (): (() => void) => () => undefined;
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const bytes = (n: number): Uint8Array => new Uint8Array([n]);

function outboxWith(valid: Set<string>): { outbox: Outbox; sent: Sent[]; fenced: FencedMessage[] } {
  const { js, sent } = fakeJs();
  const fenced: FencedMessage[] = [];
  const outbox = new Outbox(js, noConnectionEvents, { valid: (owner) => valid.has(owner), onFenced: (m) => fenced.push(m) });
  return { outbox, sent, fenced };
}

describe('outbox fencing by lease', () => {
  it('publishes nothing of an owner whose lease ran out, gives it back oldest first, and still publishes the others', () => {
    const valid = new Set(['binance', 'kraken']);
    const { outbox, sent, fenced } = outboxWith(valid);
    outbox.send('binance', 'b.1', bytes(1), { term: 1, seq: 0, msgID: 'b1' });
    valid.delete('binance');
    outbox.send('binance', 'b.1', bytes(2), { term: 1, seq: 0, msgID: 'b2' });
    outbox.send('kraken', 'k.1', bytes(3), { term: 1, seq: 0, msgID: 'k1' });
    outbox.send('binance', 'b.1', bytes(4), { term: 1, seq: 0, msgID: 'b3' });
    expect(sent.map((s) => s.msgID)).toEqual(['b1', 'k1']);
    expect(fenced.map((m) => m.data[0])).toEqual([2, 4]);
    expect(outbox.counters.fenced).toBe(2);
    expect(outbox.unacked).toBe(2); // b1 and k1 wait for their acknowledgements
  });

  it('fence(owner) gives back what waits unsent (here behind a failure) and leaves what is in flight', async () => {
    const valid = new Set(['binance', 'kraken']);
    const { outbox, sent, fenced } = outboxWith(valid);
    outbox.send('binance', 'b.1', bytes(1), { term: 1, seq: 0, msgID: 'b1' });
    outbox.send('binance', 'b.1', bytes(2), { term: 1, seq: 0, msgID: 'b2' });
    sent[0]!.reject(new Error('timeout')); // recovery: b1 is unsent again, nothing new goes out
    await flush();
    outbox.send('binance', 'b.1', bytes(3), { term: 1, seq: 0, msgID: 'b3' });
    outbox.send('kraken', 'k.1', bytes(4), { term: 1, seq: 0, msgID: 'k1' });
    expect(outbox.recovering).toBe(true);
    valid.delete('binance');
    outbox.fence('binance');
    // b2 is still in flight: only its acknowledgement or failure settles it.
    expect(fenced.map((m) => m.data[0])).toEqual([1, 3]);
    expect(outbox.unacked).toBe(2);
    sent[1]!.resolve();
    await flush();
    await new Promise((r) => setTimeout(r, 300)); // the pause after a failure
    // The probe is the oldest left that may go out: kraken's, not binance's.
    expect(sent.at(-1)!.msgID).toBe('k1');
    sent.at(-1)!.resolve();
    await flush();
    expect(outbox.recovering).toBe(false);
    expect(outbox.unacked).toBe(0);
    expect(outbox.counters.fenced).toBe(2);
  });

  it('a failed publish of an owner that has since lost its lease is given back, not resent', async () => {
    const valid = new Set(['binance']);
    const { outbox, sent, fenced } = outboxWith(valid);
    outbox.send('binance', 'b.1', bytes(1), { term: 1, seq: 0, msgID: 'b1' });
    valid.delete('binance');
    sent[0]!.reject(new Error('no responders'));
    await new Promise((r) => setTimeout(r, 300));
    expect(sent).toHaveLength(1);
    expect(fenced.map((m) => m.data[0])).toEqual([1]);
    expect(outbox.unacked).toBe(0);
  });
});
