/**
 * Scale-out, item 7 (the feed's side of the hop): the outbox's publisher
 * (src/cluster/acked-publisher.ts) reads JetStream's answers on an inbox of
 * its own instead of a request per message: a stored message resolves, a
 * second copy of a message id resolves as a duplicate, a subject no stream
 * takes and a stream that refuses the message reject, and an answer that
 * never comes fails after the timeout. The headers written from a stamp
 * (src/cluster/stamp-headers.ts, in one step, not the client's headers
 * object) are what the client reads back from the stream. Real nats-server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckedPublisher, PublisherClosedError, type AckReceiver } from '../../src/cluster/acked-publisher.ts';
import { MSG_ID } from '../../src/cluster/stamp-headers.ts';
import { Header } from '../../src/cluster/subjects.ts';
import { startNats, stopAll } from '../support/nats.ts';
import { until } from '../support/until.ts';

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
      const acks = await Promise.all([1, 2, 3].map((n) => p.publish('acks.a', data(n), { term: 1, seq: 0, msgID: `a${n}` })));
      expect(acks.map((a) => a.duplicate)).toEqual([false, false, false]);
      expect(await p.publish('acks.a', data(2), { term: 1, seq: 0, msgID: 'a2' })).toEqual({ duplicate: true });
      expect((await jsm.streams.info('acks')).state.messages).toBe(3);
      expect(p.waiting).toBe(0);
    } finally {
      p.close();
    }
  });

  it('writes the stamp as headers the client reads back: term, seq (none for seq 0) and the message id', async () => {
    const p = new AckedPublisher(nc, 5_000);
    try {
      await p.publish('acks.stamped', data(1), { term: 12, seq: 345, msgID: 'trades:binance:BTCUSDT:678' });
      await p.publish('acks.unseq', data(2), { term: 12, seq: 0, msgID: 'bars:binance:BTCUSDT:1m:60000:0' });
      const stamped = (await jsm.streams.getMessage('acks', { last_by_subj: 'acks.stamped' }))!.header;
      expect([stamped.get(Header.TERM), stamped.get(Header.SEQ), stamped.get(MSG_ID)]).toEqual(['12', '345', 'trades:binance:BTCUSDT:678']);
      const unseq = (await jsm.streams.getMessage('acks', { last_by_subj: 'acks.unseq' }))!.header;
      expect([unseq.get(Header.TERM), unseq.has(Header.SEQ), unseq.get(MSG_ID)]).toEqual(['12', false, 'bars:binance:BTCUSDT:1m:60000:0']);
      // A line break would end the header block: refused before anything is written.
      await expect(p.publish('acks.bad', data(3), { term: 1, seq: 1, msgID: 'a\r\nb' })).rejects.toThrow(/line break/);
      expect(p.waiting).toBe(0);
    } finally {
      p.close();
    }
  });

  it('rejects a subject no stream takes and a message the stream refuses', async () => {
    const p = new AckedPublisher(nc, 5_000);
    try {
      await expect(p.publish('nowhere.a', data(1), { term: 1, seq: 0, msgID: 'n1' })).rejects.toThrow(/no stream took it \(503/);
      await expect(p.publish('small.a', new Uint8Array(64), { term: 1, seq: 0, msgID: 's1' })).rejects.toThrow(/JetStream refused it/);
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
      await expect(p.publish('silent.a', data(1), { term: 1, seq: 0, msgID: 'q1' })).rejects.toThrow(/no acknowledgement within 300 ms/);
      expect(performance.now() - started).toBeGreaterThanOrEqual(300);
      expect(p.waiting).toBe(0);
    } finally {
      p.close();
      silent.unsubscribe();
    }
  });

  it('tells a receiver with the item and tag it was sent with; a failure found inside send only after the call returned', async () => {
    const told: string[] = [];
    const receiver: AckReceiver<string> = {
      acked: (item, tag, duplicate) => void told.push(`${item}/${tag} acked${duplicate ? ' (duplicate)' : ''}`),
      failed: (item, tag, err) => void told.push(`${item}/${tag} failed: ${err.name}`),
    };
    const p = new AckedPublisher(nc, 5_000);
    p.send('acks.r', data(1), { term: 1, seq: 1, msgID: 'r1' }, receiver, 'first', 7);
    p.send('acks.r', data(1), { term: 1, seq: 1, msgID: 'r1' }, receiver, 'again', 8);
    await until(() => told.length === 2, 10_000, 'both acknowledgements');
    expect(told).toEqual(['first/7 acked', 'again/8 acked (duplicate)']);
    p.close();
    p.send('acks.r', data(2), { term: 1, seq: 2, msgID: 'r2' }, receiver, 'closed', 9);
    expect(told).toHaveLength(2); // not during the call: a sender's loop is never re-entered
    await Promise.resolve();
    expect(told.at(-1)).toBe('closed/9 failed: PublisherClosedError');
  });

  it('rejects a publish after close at once with PublisherClosedError', async () => {
    const p = new AckedPublisher(nc, 5_000);
    p.close();
    const started = performance.now();
    const settled = p.publish('acks.closed', data(1), { term: 1, seq: 0, msgID: 'c1' });
    await expect(Promise.race([settled, new Promise((r) => setTimeout(() => r('pending'), 1_000))])).rejects.toBeInstanceOf(PublisherClosedError);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(p.waiting).toBe(0);
  });
});
