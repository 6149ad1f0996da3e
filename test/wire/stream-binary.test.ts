/**
 * The binary format end to end: over a real uWebSockets.js server on
 * loopback, a JSON subscriber, a `?format=fbs` subscriber and a
 * `tickwire.fbs`-subprotocol subscriber of the same channels receive the
 * same messages: every binary frame decodes (decodeMessage, in the test
 * client) to exactly the object the JSON subscriber parsed at the same position.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBar } from '../support/fake-tickwire.ts';
import { Client, startServer, type Msg, type Running } from '../server/helpers.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);

let r: Running;

beforeAll(async () => {
  r = await startServer();
  r.tw.seed('binance', 'BTCUSDT', '1m', 20, T0, 100);
});

afterAll(async () => {
  await r.server.close();
});

/** Everything a client received up to its pong for `id` (the helper client decodes binary frames with decodeMessage). */
async function until(c: Client, id: string): Promise<Msg[]> {
  c.send({ op: 'ping', id });
  const out: Msg[] = [];
  for (;;) {
    const m = await c.next();
    out.push(m);
    if (m.type === 'pong' && m.id === id) return out;
  }
}

describe('JSON and binary subscribers of the same channels', () => {
  it('receive equal messages: replies, snapshot, trades, quotes, bars, errors, unsubscribe', async () => {
    const json = await Client.connect(r.wsUrl);
    const fbs = await Client.connect(r.wsUrl + '?format=fbs');
    const proto = await Client.connect(r.wsUrl, ['tickwire.fbs']);
    try {
      expect(proto.ws.protocol).toBe('tickwire.fbs');
      const clients = [json, fbs, proto];
      const channels = ['trades:binance:BTCUSDT', 'quotes:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m'];
      for (const c of clients) c.send({ op: 'subscribe', id: 'sub-1', channels, snapshot: 5 });
      const seen = await Promise.all(clients.map((c) => until(c, 'ready')));

      // A burst of live events, with edge values: no trade id, no spread, gapped, backfilled, forming.
      for (let i = 0; i < 200; i++) {
        r.tw.trade('binance', 'BTCUSDT', { price: 100 + i / 7, size: i / 3, side: i % 3 === 0 ? 'sell' : 'buy', ...(i % 10 === 0 ? { tradeId: null } : {}) });
        if (i % 4 === 0) r.tw.quote('binance', 'BTCUSDT', { bidPrice: 99 + i / 11 });
        if (i % 25 === 0) {
          r.tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0 + 20 * MIN, MIN, 120 + i, false, {
            spread: i % 50 === 0 ? null : 0.25, ...(i === 50 ? { gapped: true as const } : {}), ...(i === 75 ? { source: 'backfill' as const } : {}),
          }));
        }
      }
      for (const c of clients) {
        c.send({ op: 'subscribe', id: 7, channels: ['trades:binance:NOPE'] }); // an error reply
        c.send({ op: 'unsubscribe', id: null, channels });
      }
      const rest = await Promise.all(clients.map((c) => until(c, 'done')));

      const [j, f, p] = seen.map((s, i) => [...s, ...rest[i]!]);
      expect(f).toStrictEqual(j);
      expect(p).toStrictEqual(j);

      // What the comparison covered.
      const types = new Set(j!.map((m) => m.type));
      for (const t of ['subscribed', 'snapshot', 'trade', 'quote', 'bar', 'error', 'unsubscribed', 'pong']) expect(types, t).toContain(t);
      expect(j!.filter((m) => m.type === 'trade')).toHaveLength(200);
      expect(j!.find((m) => m.type === 'snapshot').bars).toHaveLength(5);
      expect(j!.find((m) => m.type === 'subscribed').epoch).toEqual(expect.any(String));
      expect(j!.some((m) => m.type === 'trade' && m.tradeId === null)).toBe(true);
      // The binary clients got every message as a binary frame, the JSON one none.
      expect([json.binaryFrames, fbs.binaryFrames, proto.binaryFrames]).toEqual([0, j!.length, j!.length]);
    } finally {
      await Promise.all([json.close(), fbs.close(), proto.close()]);
    }
  });

  it('rooms: an alert reaches both formats with equal values', async () => {
    const json = await Client.connect(r.wsUrl);
    const fbs = await Client.connect(r.wsUrl + '?format=fbs');
    try {
      for (const c of [json, fbs]) c.send({ op: 'subscribe', id: 1, channels: ['alerts'] });
      await Promise.all([until(json, 'a'), until(fbs, 'a')]);
      r.server.publishAlert({ level: 'critical', source: 'test/wire', message: 'BTC ≥ 70 000 🚀' });
      const [j, f] = await Promise.all([until(json, 'b'), until(fbs, 'b')]);
      expect(f).toStrictEqual(j);
      expect(j.find((m: Msg) => m.type === 'alert')).toMatchObject({ channel: 'alerts', level: 'critical', message: 'BTC ≥ 70 000 🚀' });
    } finally {
      await Promise.all([json.close(), fbs.close()]);
    }
  });
});
