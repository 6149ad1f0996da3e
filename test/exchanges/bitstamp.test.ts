/**
 * The Bitstamp adapter: against the recorded frames in
 * ../shared/fixtures/bitstamp, then over a real loopback socket with
 * FeedConnection and the fake venue of test/support/fake-bitstamp.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callbackHandler, FrameKind, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { BITSTAMP_HEARTBEAT_TEXT, BitstampAdapter, bitstampCapabilities } from '../../src/exchanges/bitstamp.ts';
import { FeedConnection } from '../../src/feed/connection.ts';
import { until } from '../support/until.ts';
import { bitstampFrames, FakeBitstamp } from '../support/fake-bitstamp.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';

const lines = (file: string) =>
  readFileSync(path.join(FIXTURES_DIR, 'bitstamp', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

/** Every pair of frames.jsonl. */
const PAIRS = ['sgbeur', 'ethusd', 'xrpeur', 'bateur', 'usdteur', 'usdtusd', 'xlmgbp', 'adaeur', 'batbtc', 'galaeur', 'btcusd'];

interface Trade {
  symbol: number;
  ts: number;
  price: number;
  size: number;
  side: number;
  id: number;
}

function recorder(): FeedHandler & { trades: Trade[]; quotes: unknown[] } {
  const trades: Trade[] = [];
  const quotes: unknown[] = [];
  return {
    trades,
    quotes,
    ...callbackHandler({
      trade: (symbol, ts, price, size, side, id) => void trades.push({ symbol, ts, price, size, side, id }),
      quote: (...args) => void quotes.push(args),
    }),
  };
}

/** What a recorded trade must become, computed straight from its JSON. */
function expectedTrade(frame: string, pairs: readonly string[]): Trade {
  const m = JSON.parse(frame) as {
    channel: string;
    data: { id: number; price_str: string; amount_str: string; type: number; microtimestamp: string };
  };
  return {
    symbol: pairs.indexOf(m.channel.slice('live_trades_'.length)),
    ts: Math.floor(Number(m.data.microtimestamp) / 1000),
    price: Number(m.data.price_str),
    size: Number(m.data.amount_str),
    side: m.data.type === 0 ? 1 : -1, // type is the taker's side
    id: m.data.id,
  };
}

const isTrade = (f: string) => /"event": ?"trade"/.test(f);

/** Error replies as third-party sources report them: control.jsonl records none. */
const ERROR_REPLIES = [
  '{"event":"bts:error","channel":"","data":{"code":null,"message":"Incorrect JSON format."}}',
  '{"event": "bts:error", "channel": "", "data": {"code": null, "message": "Bad subscription string."}}',
  '{"event":"bts:error","channel":"","data":{"code":4009,"message":"Invalid channel provided."}}',
];

describe('Bitstamp adapter: recorded frames', () => {
  const frames = bitstampFrames();

  it('parses every recorded trade; acks are ACKs by channel; order-book frames are ignored', () => {
    const adapter = new BitstampAdapter(PAIRS, ['trades']);
    let id = 1;
    const requests = adapter.subscribeRequests(() => id++);
    const seen = recorder();
    const kinds = new Map<FrameKind, number>();
    const acked: number[] = [];
    for (const f of frames) {
      const k = adapter.parse(f, seen);
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
      if (k === FrameKind.ACK && !Number.isNaN(adapter.ackId)) acked.push(adapter.ackId);
    }
    expect(Object.fromEntries(kinds)).toEqual({ [FrameKind.ACK]: 20, [FrameKind.DATA]: 11, [FrameKind.IGNORED]: 10 });
    // The ten live_trades acks answer the ten requests for those pairs (diff_order_book acks name none of ours).
    expect(acked).toEqual(requests.slice(0, 10).map((r) => r.id));
    expect(seen.trades).toEqual(frames.filter(isTrade).map((f) => expectedTrade(f, PAIRS)));
    expect(seen.quotes).toHaveLength(0);
  });

  it('normalizes recorded values exactly: decimal strings, µs → ms, type 0 = buy aggressor', () => {
    const adapter = new BitstampAdapter(PAIRS, ['trades']);
    const one = (needle: string) => {
      const seen = recorder();
      expect(adapter.parse(frames.find((f) => f.includes(needle))!, seen)).toBe(FrameKind.DATA);
      return seen.trades[0];
    };
    expect(one('"id":216000477,')).toEqual({ symbol: 1, ts: 1641343699596, price: 3805.44, size: 0.0792, side: 1, id: 216000477 });
    expect(one('"id":216000484,')).toEqual({ symbol: 1, ts: 1641343709599, price: 3802.93, size: 0.931, side: -1, id: 216000484 });
    expect(one('"id":216000506,')).toEqual({ symbol: 1, ts: 1641343721269, price: 3800.8, size: 2.73248242, side: -1, id: 216000506 });
    // crypto-msg-parser's literal: amount_str "1E-8".
    expect(one('"id": 158457579,')).toEqual({ symbol: 10, ts: 1616297318187, price: 57748.8, size: 1e-8, side: 1, id: 158457579 });
    // tardis recording (re-serialized): µs 1554076803243152 truncated to ms; price_str "3651.30", not the float.
    const seen = recorder();
    const btceur = new BitstampAdapter(['BTCEUR'], ['trades']);
    expect(btceur.parse(lines('frames_reserialized.jsonl').find((f) => f.includes('"id":84550458'))!, seen)).toBe(FrameKind.DATA);
    expect(seen.trades).toEqual([{ symbol: 0, ts: 1554076803243, price: 3651.3, size: 0.001643, side: 1, id: 84550458 }]);
  });

  it('trade ids increase per pair in the recording (tradeIdOrder increasing)', () => {
    const adapter = new BitstampAdapter(PAIRS, ['trades']);
    const seen = recorder();
    for (const f of frames) adapter.parse(f, seen);
    const last = new Map<number, number>();
    for (const t of seen.trades) {
      expect(t.id).toBeGreaterThan(last.get(t.symbol) ?? -1);
      last.set(t.symbol, t.id);
    }
    expect(bitstampCapabilities.tradeIdOrder).toBe('increasing');
  });

  it('builds one subscribe per pair, lower case, as recorded; offers no quotes', () => {
    const adapter = new BitstampAdapter(['ETHUSD', 'BtcUsd', 'ethusd'], ['trades', 'quotes']);
    expect(adapter.connectUrl('wss://ws.bitstamp.net')).toBe('wss://ws.bitstamp.net');
    let id = 5;
    const requests = adapter.subscribeRequests(() => id++);
    expect(requests).toEqual([
      { id: 5, text: '{"event":"bts:subscribe","data":{"channel":"live_trades_ethusd"}}' },
      { id: 6, text: '{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}' },
    ]);
    // The request text is byte for byte what cryptofeed sent in the recording.
    const sent = lines('control.jsonl')
      .map((l) => JSON.parse(l) as { dir: string; frame?: string })
      .filter((c) => c.dir === 'send')
      .map((c) => c.frame);
    expect(sent).toContain(requests[0]!.text);
    expect(adapter.parse('{"event":"bts:subscription_succeeded","channel":"live_trades_btcusd","data":{}}', recorder())).toBe(FrameKind.ACK);
    expect(adapter.ackId).toBe(6);
    expect(bitstampCapabilities.channels).toEqual(['trades']);
    expect(new BitstampAdapter(['btcusd'], ['quotes']).subscribeRequests(() => 1)).toEqual([]);
  });

  it('client heartbeat as sent in the recording’s source; the reply, unsubscribe acks and other pairs are ignored', () => {
    const adapter = new BitstampAdapter(['ethusd'], ['trades']);
    const heartbeat = lines('control.jsonl')
      .map((l) => JSON.parse(l) as { dir: string; frame?: string })
      .find((c) => c.dir === 'send' && c.frame?.includes('bts:heartbeat'))!.frame!;
    expect(JSON.parse(BITSTAMP_HEARTBEAT_TEXT)).toEqual(JSON.parse(heartbeat));
    expect(adapter.heartbeat).toEqual({ intervalMs: 10_000, text: BITSTAMP_HEARTBEAT_TEXT });
    const seen = recorder();
    for (const f of [
      '{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}',
      '{"event":"bts:unsubscription_succeeded","channel":"live_trades_ethusd","data":{}}',
      frames.find((f) => f.includes('"channel": "live_trades_btcusd"'))!, // a pair not subscribed
      ...frames.filter((f) => f.includes('diff_order_book') && f.includes('"event":"data"')),
      '{"data":{"id":1,"amount":1,"price":1,"order_type":0},"channel":"live_orders_ethusd","event":"order_created"}',
    ]) {
      expect(adapter.parse(f, seen), f).toBe(FrameKind.IGNORED);
    }
    expect(seen.trades).toHaveLength(0);
  });

  it('bts:request_reconnect is SHUTDOWN, whatever its data', () => {
    const adapter = new BitstampAdapter(['ethusd'], ['trades']);
    for (const data of ['""', '{}', 'null']) {
      expect(adapter.parse(`{"event":"bts:request_reconnect","channel":"","data":${data}}`, recorder())).toBe(FrameKind.SHUTDOWN);
    }
  });

  it('bts:error replies are ERRORs with the message; a channel, when named, gives the request', () => {
    const adapter = new BitstampAdapter(['ethusd'], ['trades']);
    expect(lines('control.jsonl').some((l) => l.includes('bts:error'))).toBe(false); // none recorded
    const [request] = adapter.subscribeRequests(() => 3);
    for (const e of ERROR_REPLIES) {
      expect(adapter.parse(e, recorder()), e).toBe(FrameKind.ERROR);
      expect(adapter.ackId).toBeNaN();
      expect(adapter.error).toContain(JSON.parse(e).data.message);
    }
    expect(adapter.error).toBe('bitstamp error 4009: Invalid channel provided.');
    expect(adapter.parse('{"event":"bts:error","channel":"live_trades_ethusd","data":{"code":null,"message":"x"}}', recorder())).toBe(FrameKind.ERROR);
    expect(adapter.ackId).toBe(request!.id);
    expect(adapter.error).toBe('bitstamp error: x');
  });

  it('malformed frames are MALFORMED and never throw', () => {
    const adapter = new BitstampAdapter(PAIRS, ['trades']);
    const seen = recorder();
    const trade = frames.find((f) => f.includes('"id":216000477,'))!;
    const bad = [
      '',
      'not json',
      '[]',
      'null',
      '7',
      '"trade"',
      '{}',
      '{"event":1}',
      trade.slice(0, 80),
      trade.slice(0, -1),
      trade.replace('"price_str":"3805.44"', '"price_str":"abc"'),
      trade.replace('"price_str":"3805.44"', '"price_str":"-3805.44"'),
      trade.replace('"price_str":"3805.44"', '"price_str":3805.44'),
      trade.replace('"price_str":"3805.44",', ''),
      trade.replace('"amount_str":"0.07920000"', '"amount_str":"0.00000000"'),
      trade.replace('"amount_str":"0.07920000"', '"amount_str":"0x10"'),
      trade.replace('"type":0', '"type":2'),
      trade.replace('"type":0', '"type":"0"'),
      trade.replace('"id":216000477', '"id":"216000477"'),
      trade.replace('"id":216000477', '"id":-1'),
      trade.replace('"microtimestamp":"1641343699596000"', '"microtimestamp":1641343699596000'),
      trade.replace('"microtimestamp":"1641343699596000"', '"microtimestamp":"1641343699.596"'),
      trade.replace('"microtimestamp":"1641343699596000"', '"microtimestamp":"16413436995960001234"'),
      trade.replace('"microtimestamp":"1641343699596000",', ''),
      trade.replace(/"data":\{.*\},"channel"/, '"data":null,"channel"'),
      trade.replace('"channel":"live_trades_ethusd"', '"channel":5'),
      '{"event":"bts:subscription_succeeded","data":{}}',
    ];
    for (const f of bad) {
      expect(adapter.parse(f, seen), f).toBe(FrameKind.MALFORMED);
      expect(adapter.error).toMatch(/^bitstamp: /);
    }
    expect(seen.trades).toHaveLength(0);
  });

  it('garbled recorded frames (seeded) never throw, and whatever they yield is valid', () => {
    const adapter = new BitstampAdapter(PAIRS, ['trades']);
    const rng = new Prng(20220105);
    const seen = recorder();
    const junk = ['"', '{', '}', ',', ':', '-', '.', 'E', '0', '1', ' ', '\\', 'null', '[', ']'];
    for (let n = 0; n < 3000; n++) {
      let f = rng.pick(frames);
      const edits = rng.int(1, 4);
      for (let e = 0; e < edits; e++) {
        const i = rng.int(0, f.length - 1);
        const op = rng.int(0, 2);
        if (op === 0) f = f.slice(0, i);
        else if (op === 1) f = f.slice(0, i) + rng.pick(junk) + f.slice(i + 1);
        else f = f.slice(0, i) + f.slice(i + rng.int(1, 20));
      }
      expect(() => adapter.parse(f, seen)).not.toThrow();
    }
    expect(seen.trades.length).toBeGreaterThan(0);
    for (const t of seen.trades) {
      expect(Number.isSafeInteger(t.ts) && t.ts > 0 && t.price > 0 && t.size > 0 && Number.isSafeInteger(t.id) && Math.abs(t.side) === 1).toBe(true);
      expect(t.symbol >= 0 && t.symbol < PAIRS.length).toBe(true);
    }
  });
});

describe('Bitstamp over a real socket (fake venue + FeedConnection)', () => {
  let fake: FakeBitstamp | undefined;
  let conn: FeedConnection | undefined;
  afterEach(async () => {
    conn?.stop();
    conn = undefined;
    await fake?.close();
    fake = undefined;
  });

  const subscribes = (venue: FakeBitstamp) => venue.received.filter((m) => m.includes('bts:subscribe'));

  /** Start `adapter` against `venue` and wait until its `n` subscribes are acked. */
  async function connect(venue: FakeBitstamp, adapter: BitstampAdapter, handler: FeedHandler, n = 1) {
    conn = new FeedConnection(adapter, venue.url, handler, {}, { backoffBaseMs: 10, random: () => 0.5 });
    conn.start();
    await until(() => subscribes(venue).length === n && conn!.pendingAcks.size === 0, 3_000, 'the subscriptions');
    return conn;
  }

  it('subscribes (paced), is acked, answers pings, and delivers the recorded trades with their values', async () => {
    fake = await new FakeBitstamp({ pingIntervalMs: 50 }).start();
    const pairs = ['ETHUSD', 'btcusd'];
    const seen = recorder();
    const c = await connect(fake, new BitstampAdapter(pairs, ['trades']), seen, 2);
    expect(subscribes(fake)).toEqual([
      '{"event":"bts:subscribe","data":{"channel":"live_trades_ethusd"}}',
      '{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}',
    ]);
    for (const f of bitstampFrames()) fake.publish(f);
    const ours = bitstampFrames().filter((f) => isTrade(f));
    await until(() => seen.trades.length === ours.length, 3_000, 'the recorded trades');
    expect(seen.trades).toEqual(ours.map((f) => expectedTrade(f, ['ethusd', 'btcusd'])));
    expect(seen.trades[0]).toEqual({ symbol: 0, ts: 1641343699596, price: 3805.44, size: 0.0792, side: 1, id: 216000477 });
    expect(seen.trades.at(-1)).toEqual({ symbol: 1, ts: 1616297318187, price: 57748.8, size: 1e-8, side: 1, id: 158457579 });
    await until(() => fake!.pongs >= 2, 3_000, 'pongs');
    expect(c.reconnects).toBe(0);
    expect(c.parseErrors).toBe(0);
  });

  it('reports the venue’s error reply; the venue names no request, so it stays pending', async () => {
    fake = await new FakeBitstamp().start();
    const errors: string[] = [];
    const adapter = new BitstampAdapter(['BTC/USD'], ['trades']);
    conn = new FeedConnection(adapter, fake.url, recorder(), { onError: (m) => errors.push(m) }, { backoffBaseMs: 10 });
    conn.start();
    await until(() => errors.length > 0, 3_000, 'the error reply');
    expect(errors).toEqual(['bitstamp error: Invalid channel provided.']);
    expect(adapter.ackId).toBeNaN();
    expect([...conn.pendingAcks]).toEqual([1]);
    expect(conn.reconnects).toBe(0);
  });

  it('the client heartbeat is sent and answered, keeping a quiet connection from being judged stale', async () => {
    fake = await new FakeBitstamp().start(); // no WebSocket pings
    const kinds: FrameKind[] = [];
    const errors: string[] = [];
    conn = new FeedConnection(new BitstampAdapter(['galaeur'], ['trades'], { heartbeatIntervalMs: 30 }), fake.url, recorder(), {
      onFrame: (k) => kinds.push(k),
      onError: (m) => errors.push(m),
    }, { staleAfterMs: 400 });
    conn.start();
    await until(() => fake!.subscribers('live_trades_galaeur') === 1, 3_000, 'the subscription');
    await new Promise((r) => setTimeout(r, 1_000)); // 2.5 times the staleness limit, no trade at all
    expect(fake.heartbeats).toBeGreaterThanOrEqual(8);
    expect(kinds.filter((k) => k === FrameKind.IGNORED).length).toBeGreaterThanOrEqual(8);
    expect(conn.reconnects).toBe(0);
    expect(fake.connections).toBe(1);
    expect(errors).toEqual([]);
  });

  it('a close from the venue: reconnects and subscribes again', async () => {
    fake = await new FakeBitstamp().start();
    const seen = recorder();
    const c = await connect(fake, new BitstampAdapter(['ethusd'], ['trades']), seen);
    const trades = bitstampFrames().filter((f) => f.includes('"channel":"live_trades_ethusd","event":"trade"'));
    fake.publish(trades[0]!);
    await until(() => seen.trades.length === 1, 3_000, 'a trade');
    fake.closeAll(1001, 'going away');
    await until(() => fake!.connections === 2 && fake!.subscribers('live_trades_ethusd') === 1 && c.pendingAcks.size === 0, 3_000, 'the new subscription');
    expect(c.reconnects).toBe(1);
    expect(subscribes(fake)).toEqual(Array(2).fill('{"event":"bts:subscribe","data":{"channel":"live_trades_ethusd"}}'));
    fake.publish(trades[1]!);
    await until(() => seen.trades.length === 2, 3_000, 'a trade after the reconnect');
    expect(seen.trades[1]).toEqual(expectedTrade(trades[1]!, ['ethusd']));
  });

  it('bts:request_reconnect: a new connection is made and subscribed before the old one goes', async () => {
    fake = await new FakeBitstamp().start();
    const seen = recorder();
    const kinds: FrameKind[] = [];
    conn = new FeedConnection(new BitstampAdapter(['ethusd'], ['trades']), fake.url, seen, { onFrame: (k) => kinds.push(k) }, { backoffBaseMs: 10 });
    conn.start();
    await until(() => fake!.subscribers('live_trades_ethusd') === 1 && conn!.pendingAcks.size === 0, 3_000, 'the subscription');
    fake.requestReconnect();
    // Make: both connections open and subscribed at once.
    await until(() => fake!.connections === 2 && fake!.subscribers('live_trades_ethusd') === 2 && conn!.pendingAcks.size === 0, 3_000, 'the second connection');
    expect(kinds).toContain(FrameKind.SHUTDOWN);
    expect(conn.reconnects).toBe(1);
    // Break: the new connection delivers, the old one is closed. The trade may come through both (same id: dropped downstream).
    const trade = bitstampFrames().find((f) => f.includes('"id":216000477,'))!;
    fake.publish(trade);
    await until(() => fake!.clients.size === 1, 3_000, 'the old connection to close');
    expect(seen.trades.length).toBeGreaterThanOrEqual(1);
    for (const t of seen.trades) expect(t).toEqual(expectedTrade(trade, ['ethusd']));
    expect(fake.subscribers('live_trades_ethusd')).toBe(1);
  });

  it('a malformed frame is counted in parseErrors and the connection carries on', async () => {
    fake = await new FakeBitstamp().start();
    const seen = recorder();
    const c = await connect(fake, new BitstampAdapter(['ethusd'], ['trades']), seen);
    fake.sendRaw('{"data":{"id":216000478,"timestamp":"16413');
    fake.sendRaw('{"data":{"id":1,"price_str":"1","amount_str":"1","type":7,"microtimestamp":"1"},"channel":"live_trades_ethusd","event":"trade"}');
    const trade = bitstampFrames().find((f) => f.includes('"id":216000484,'))!;
    fake.publish(trade);
    await until(() => seen.trades.length === 1, 3_000, 'the trade after the garbage');
    expect(c.parseErrors).toBe(2);
    expect(c.reconnects).toBe(0);
    expect(fake.connections).toBe(1);
    expect(seen.trades[0]).toEqual(expectedTrade(trade, ['ethusd']));
  });
});
