/**
 * Scale-out, item 7 (the feed's side of the hop): the outbox's publisher
 * (src/cluster/acked-publisher.ts) reads JetStream's answers on an inbox of
 * its own instead of a request per message: a stored message resolves, a
 * second copy of a message id resolves as a duplicate, a subject no stream
 * takes and a stream that refuses the message reject, and an answer that
 * never comes fails after the timeout. Real nats-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckedPublisher, PublisherClosedError } from '../../src/cluster/acked-publisher.ts';
import { startNats, stopAll } from '../support/nats.ts';

const data = (n: number): Uint8Array => new Uint8Array([n]);

describe('cluster: acknowledged publishing on an inbox of its own', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    const nats = await startNats();
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'acks', subjects: ['acks.>'], duplicate_window: nanos(60_000) });
    await jsm.streams.add({ name: 'small', subjects: ['small.>'], max_msg_size: 8 });
  }, 60_000);

  afterAll(async () => {
    await nc?.close();
    await stopAll();
  });

  it('resolves stored messages in order, a repeated message id as a duplicate, and stores it once', async () => {
    const p = new AckedPublisher(nc, 5_000);
    try {
      const acks = await Promise.all([1, 2, 3].map((n) => p.publish('acks.a', data(n), { headers: headers(), msgID: `a${n}` })));
      expect(acks.map((a) => a.duplicate)).toEqual([false, false, false]);
      expect(await p.publish('acks.a', data(2), { headers: headers(), msgID: 'a2' })).toEqual({ duplicate: true });
      expect((await jsm.streams.info('acks')).state.messages).toBe(3);
      expect(p.waiting).toBe(0);
    } finally {
      p.close();
    }
  });

  it('rejects a subject no stream takes and a message the stream refuses', async () => {
    const p = new AckedPublisher(nc, 5_000);
    try {
      await expect(p.publish('nowhere.a', data(1), { headers: headers(), msgID: 'n1' })).rejects.toThrow(/no stream took it \(503/);
      await expect(p.publish('small.a', new Uint8Array(64), { headers: headers(), msgID: 's1' })).rejects.toThrow(/JetStream refused it/);
      expect(p.waiting).toBe(0);
    } finally {
      p.close();
    }
  });

  it('fails a message whose answer never comes after the timeout', async () => {
    // A core subscriber that answers nothing stands in for a stream that never acknowledges.
    const silent = nc.subscribe('silent.>');
    const p = new AckedPublisher(nc, 300);
    try {
      const started = performance.now();
      await expect(p.publish('silent.a', data(1), { headers: headers(), msgID: 'q1' })).rejects.toThrow(/no acknowledgement within 300 ms/);
      expect(performance.now() - started).toBeGreaterThanOrEqual(300);
      expect(p.waiting).toBe(0);
    } finally {
      p.close();
      silent.unsubscribe();
    }
  });

  it('rejects a publish after close at once with PublisherClosedError', async () => {
    const p = new AckedPublisher(nc, 5_000);
    p.close();
    const started = performance.now();
    const settled = p.publish('acks.closed', data(1), { headers: headers(), msgID: 'c1' });
    await expect(Promise.race([settled, new Promise((r) => setTimeout(() => r('pending'), 1_000))])).rejects.toBeInstanceOf(PublisherClosedError);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(p.waiting).toBe(0);
  });
});
