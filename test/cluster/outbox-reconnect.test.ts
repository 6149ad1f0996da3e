/**
 * The outbox after a dropped connection (src/cluster/outbox.ts, "Recovering"):
 * what was in flight is abandoned, and the oldest unacknowledged message goes
 * out alone as soon as the connection is back, without RETRY_MS's pause (the
 * pause follows a failed publish, not a drop). Pure: a fake publisher.
 */
import { describe, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import { Outbox } from '../../src/cluster/outbox.ts';
import type { Ack, AckedPublish } from '../../src/cluster/acked-publisher.ts';

describe('outbox after a dropped connection', () => {
  it('publishes the probe as soon as it reconnects, then streams the rest in order', async () => {
    const sent: { msgID: string; resolve: (a: Ack) => void }[] = [];
    const js: AckedPublish = {
      publish: (_s, _d, opts) => new Promise<Ack>((resolve) => sent.push({ msgID: opts.msgID, resolve })),
    };
    let connection: (up: boolean) => void = () => undefined;
    const outbox = new Outbox(js, (cb) => {
      connection = cb;
      return () => undefined;
    });
    try {
      outbox.send('x', 's.1', new Uint8Array([1]), headers(), 'm1');
      outbox.send('x', 's.1', new Uint8Array([2]), headers(), 'm2');
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
