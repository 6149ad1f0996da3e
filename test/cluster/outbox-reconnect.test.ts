/**
 * The outbox after a dropped connection (src/cluster/outbox.ts, "Recovering"):
 * what was in flight is abandoned, and the oldest unacknowledged message goes
 * out alone as soon as the connection is back, without RETRY_MS's pause (the
 * pause follows a failed publish, not a drop). Pure: a fake publisher.
 */
import { describe, expect, it } from 'vitest';
import { Outbox } from '../../src/cluster/outbox.ts';
import type { Ack, AckedSend } from '../../src/cluster/acked-publisher.ts';

describe('outbox after a dropped connection', () => {
  it('publishes the probe as soon as it reconnects, then streams the rest in order', async () => {
    const sent: { msgID: string; resolve: (a: Ack) => void }[] = [];
    const js: AckedSend = {
      send: (_s, _d, stamp, receiver, item, tag) => void sent.push({ msgID: stamp.msgID, resolve: (a) => receiver.acked(item, tag, a.duplicate) }),
    };
    let connection: (up: boolean) => void = () => undefined;
    const outbox = new Outbox(js, (cb) => {
      connection = cb;
      return () => undefined;
    });
    try {
      outbox.send('x', 's.1', new Uint8Array([1]), { term: 1, seq: 0, msgID: 'm1' });
      outbox.send('x', 's.1', new Uint8Array([2]), { term: 1, seq: 0, msgID: 'm2' });
      connection(false);
      expect(outbox.recovering).toBe(true);
      connection(true);
      // At once, not RETRY_MS later: the oldest alone.
      expect(sent.map((s) => s.msgID)).toEqual(['m1', 'm2', 'm1']);
      sent[2]!.resolve({ duplicate: false });
      await new Promise((r) => setImmediate(r));
      expect(sent.map((s) => s.msgID)).toEqual(['m1', 'm2', 'm1', 'm2']);
      expect(outbox.recovering).toBe(false);
    } finally {
      outbox.close();
    }
  });
});
