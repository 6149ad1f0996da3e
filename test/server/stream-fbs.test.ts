/**
 * FlatBuffers on /v1/stream: a binary subscriber and a JSON subscriber on the
 * same channels receive the same values (decodeMessage of the binary frame
 * deep-equals JSON.parse of the text frame) for every message type, and each
 * message is encoded in binary once, only when that channel has binary
 * subscribers.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FbsEncoder } from '../../src/wire/fbs.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { Client, LiveFakeTickwire, startServer, waitFor, type Msg, type Running } from './helpers.ts';

const T0 = Date.UTC(2024, 7, 9, 0, 0);
const MIN = 60_000;
let r: Running;
let tw: LiveFakeTickwire;
let clients: Client[] = [];

beforeEach(async () => {
  tw = new LiveFakeTickwire();
  r = await startServer({}, tw);
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of clients) c.ws.terminate();
  clients = [];
  await r.server.close();
});

async function pair(): Promise<{ json: Client; bin: Client }> {
  const json = await Client.connect(r.wsUrl);
  const bin = await Client.connect(`${r.wsUrl}?format=fbs`);
  clients.push(json, bin);
  return { json, bin };
}

/** Send the same op on both and return both replies and everything up to a sync. */
async function both(p: { json: Client; bin: Client }, op: Record<string, unknown>): Promise<[Msg[], Msg[]]> {
  p.json.send(op);
  p.bin.send(op);
  return [await p.json.sync(), await p.bin.sync()];
}

describe('same values in both formats', () => {
  it('trades, quotes and bars (nulls, sides, flags) and the subscribe reply', async () => {
    const p = await pair();
    const channels = ['trades:binance:BTCUSDT', 'trades:kraken:XBT/USD', 'quotes:binance:BTCUSDT', 'bars:binance:BTCUSDT:1m'];
    const [jsonAck, binAck] = await both(p, { op: 'subscribe', id: 'sub-1', channels });
    expect(binAck).toEqual(jsonAck);
    expect(jsonAck[0]).toEqual({ type: 'subscribed', id: 'sub-1', channels, epoch: r.server.epoch });

    tw.trade('binance', 'BTCUSDT', { price: 61837.63, size: 0.02, side: 'sell', ts: 1723161255342, recvTs: 1723161255343.12 });
    tw.trade('binance', 'BTCUSDT', { price: 1e-8, size: 123456789.12345678, side: 'buy' });
    tw.trade('kraken', 'XBT/USD', { tradeId: null, side: 'unknown' });
    tw.quote('binance', 'BTCUSDT', { bidPrice: 61837.62, bidSize: 1.5, askPrice: 61837.63, askSize: 0.001 });
    tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0, MIN, 100, false, { vwap: null, spread: null }));
    tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0, MIN, 100, true, { spread: 0.25, gapped: true, revision: 2 }));
    tw.bar('binance', 'BTCUSDT', '1m', makeBar(T0 + MIN, MIN, 101, true, { source: 'backfill' }));
    const json = await p.json.take(7);
    const bin = await p.bin.take(7);
    expect(bin).toEqual(json);
    expect(json.map((m: Msg) => m.type)).toEqual(['trade', 'trade', 'trade', 'quote', 'bar', 'bar', 'bar']);
    expect(json[2].tradeId).toBeNull();
    expect(json[5]).toMatchObject({ gapped: true, revision: 2 });
    expect(json[6]).toMatchObject({ source: 'backfill' });
    expect(p.json.binaryFrames).toBe(0);
    expect(p.bin.textFrames).toBe(0);
  });

  it('snapshots, gaps, pongs, errors and unsubscribe replies', async () => {
    tw.seed('binance', 'BTCUSDT', '5m', 6, T0);
    for (let i = 0; i < 5; i++) tw.trade('binance', 'ETHUSDT'); // unseen: seq 1..5
    const p = await pair();
    const [j1, b1] = await both(p, {
      op: 'subscribe', id: 1, channels: ['bars:binance:BTCUSDT:5m', 'trades:binance:ETHUSDT'], snapshot: 4, since: { 'trades:binance:ETHUSDT': 2 },
    });
    expect(b1).toEqual(j1);
    expect(j1.map((m: Msg) => m.type)).toEqual(['subscribed', 'snapshot', 'gap']);
    expect(j1[1].bars).toHaveLength(4);
    expect(j1[2]).toEqual({ type: 'gap', channel: 'trades:binance:ETHUSDT', fromSeq: 3, toSeq: 5, reason: 'history' });

    const [j2, b2] = await both(p, { op: 'ping', id: 42 });
    expect(b2).toEqual(j2);
    const [j3, b3] = await both(p, { op: 'subscribe', id: 'bad', channels: ['trades:nope:X'] });
    expect(b3).toEqual(j3);
    expect(j3[0]).toMatchObject({ type: 'error', id: 'bad', code: 'EXCHANGE_NOT_FOUND' });
    const [j4, b4] = await both(p, { op: 'unsubscribe', id: 7, channels: ['trades:binance:ETHUSDT'] });
    expect(b4).toEqual(j4);
    expect(j4[0]).toEqual({ type: 'unsubscribed', id: 7, channels: ['trades:binance:ETHUSDT'] });
  });

  it('rooms: system states and alerts', async () => {
    const p = await pair();
    const [j1, b1] = await both(p, { op: 'subscribe', id: 1, channels: ['system', 'alerts'] });
    expect(b1).toEqual(j1);
    expect(j1.filter((m: Msg) => m.type === 'system')).toHaveLength(3);
    tw.emitStatus('kraken', { state: 'reconnecting', lastError: 'read ECONNRESET' });
    r.server.publishAlert({ level: 'critical', source: 'rule:stale', message: 'kraken silent for 30 s — ünïcode ok' });
    const json = await p.json.take(2);
    const bin = await p.bin.take(2);
    expect(bin).toEqual(json);
    expect(json[1]).toMatchObject({ type: 'alert', level: 'critical', message: 'kraken silent for 30 s — ünïcode ok' });
  });

  it('a binary client resumes from binary history: the same values a JSON client got live', async () => {
    const observer = await Client.connect(r.wsUrl);
    const first = await Client.connect(`${r.wsUrl}?format=fbs`);
    clients.push(observer, first);
    await observer.subscribe(['trades:binance:BTCUSDT']);
    await first.subscribe(['trades:binance:BTCUSDT']);
    for (let i = 0; i < 10; i++) tw.trade('binance', 'BTCUSDT', { price: 100 + i });
    await first.take(10);
    first.ws.terminate();
    await waitFor(() => r.server.connections === 1);
    for (let i = 10; i < 25; i++) tw.trade('binance', 'BTCUSDT', { price: 100 + i });
    const again = await Client.connect(r.wsUrl, ['tickwire.fbs']);
    clients.push(again);
    await again.subscribe(['trades:binance:BTCUSDT'], undefined, { since: { 'trades:binance:BTCUSDT': 10 } });
    const replayed = await again.take(15);
    const seen = await observer.take(25);
    expect(replayed).toEqual(seen.slice(10));
    expect(again.textFrames).toBe(0);
  });
});

describe('encoding', () => {
  it('binary is encoded once per message, only while the channel has binary subscribers', async () => {
    const spy = vi.spyOn(FbsEncoder.prototype, 'trade');
    const json1 = await Client.connect(r.wsUrl);
    const json2 = await Client.connect(r.wsUrl);
    clients.push(json1, json2);
    await json1.subscribe(['trades:binance:BTCUSDT']);
    await json2.subscribe(['trades:binance:BTCUSDT']);
    for (let i = 0; i < 10; i++) tw.trade('binance', 'BTCUSDT');
    await json1.take(10);
    expect(spy).toHaveBeenCalledTimes(0);

    const bin1 = await Client.connect(`${r.wsUrl}?format=fbs`);
    const bin2 = await Client.connect(`${r.wsUrl}?format=fbs`);
    clients.push(bin1, bin2);
    await bin1.subscribe(['trades:binance:BTCUSDT']);
    await bin2.subscribe(['trades:binance:BTCUSDT']);
    for (let i = 0; i < 10; i++) tw.trade('binance', 'BTCUSDT');
    for (let i = 0; i < 7; i++) tw.trade('binance', 'ETHUSDT'); // nobody: no encoding at all
    await bin1.take(10);
    await bin2.take(10);
    expect(spy).toHaveBeenCalledTimes(10); // two binary recipients, one encode each
  });
});
