/**
 * The publisher's reply subscription refused (src/cluster/acked-publisher.ts,
 * "Inbox lost"): a real nats-server whose only user may not subscribe to
 * inboxes. The refusal is logged once and counted, what waits fails at once
 * with InboxLostError (not after the timeout), publishes while the inbox is
 * down fail at once, and the subscription is tried again (refused again:
 * counted, not logged again).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckedPublisher, InboxLostError } from '../../src/cluster/acked-publisher.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';

const CONFIG = `authorization {
  users = [ { user: feed, password: feed, permissions: { publish: ">", subscribe: { allow: ">", deny: "_INBOX.>" } } } ]
}
`;

describe('cluster: acknowledged publishing when the inbox subscription is refused', () => {
  let nc: NatsConnection;

  beforeAll(async () => {
    const nats = await startNats(CONFIG);
    nc = await connect({ servers: nats.url, user: 'feed', pass: 'feed' });
  }, 60_000);

  afterAll(async () => {
    await nc?.close();
    await stopAll();
  });

  it('logs once, counts, fails what waits at once with InboxLostError, and subscribes again', async () => {
    const logged: string[] = [];
    const p = new AckedPublisher(nc, 5_000, (line) => logged.push(line));
    try {
      const started = performance.now();
      const first = p.publish('acks.a', new Uint8Array([1]), { term: 1, seq: 0, msgID: 'i1' });
      await expect(first).rejects.toBeInstanceOf(InboxLostError);
      expect(performance.now() - started).toBeLessThan(2_000); // not the 5 s timeout
      expect(p.waiting).toBe(0);
      expect(p.inboxFailures).toBeGreaterThanOrEqual(1);
      await expect(p.publish('acks.a', new Uint8Array([2]), { term: 1, seq: 0, msgID: 'i2' })).rejects.toBeInstanceOf(InboxLostError);
      // Tried again (and refused again): counted again, logged once.
      const before = p.inboxFailures;
      await until(() => p.inboxFailures > before, 5_000, 'a second subscription attempt');
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatch(/Permissions Violation/i);
    } finally {
      p.close();
    }
  }, 20_000);
});
