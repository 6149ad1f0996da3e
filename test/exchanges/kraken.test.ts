/**
 * The Kraken spot v2 adapter. The v2 evidence is documentation frames only
 * (../shared/fixtures/kraken/doc_frames_v2.jsonl, the v2 lines of
 * control.jsonl, doc examples quoted below); the corpus's real recorded frames
 * are WS v1, which the adapter does not speak, so they are not used here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { KrakenAdapter, isoToMs, krakenCapabilities } from '../../src/exchanges/kraken.ts';
import { FeedConnection } from '../../src/feed/connection.ts';
import { until } from '../support/until.ts';
import { FakeKraken } from '../support/fake-kraken.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';
import { recorder, type RecordedTrade as Trade } from '../support/recorder.ts';

const lines = (file: string) =>
  readFileSync(path.join(FIXTURES_DIR, 'kraken', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

interface ControlLine {
  dir: string;
  frame?: string;
  api?: string;
}

const DOC_FRAMES = lines('doc_frames_v2.jsonl');
const DOC_TRADE = DOC_FRAMES.find((l) => l.startsWith('{"channel":"trade"'))!;
const DOC_HEARTBEAT = DOC_FRAMES.find((l) => l.includes('"heartbeat"'))!;
const CONTROL_V2 = lines('control.jsonl')
  .map((l) => JSON.parse(l) as ControlLine)
  .filter((c) => c.api === 'v2');
const DOC_ACK = CONTROL_V2.find((c) => c.dir === 'recv')!.frame!;

/** Ticker example of docs.kraken.com/exchange/api-reference/spot-websocket-v2/ticker, minified (not among the fixtures). */
const DOC_TICKER =
  '{"channel":"ticker","type":"snapshot","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":740.0,"ask":0.10036,"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,"change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}]}';
/** The subscription failure example quoted from the v2 trade docs by rustrade-data (kraken/subscription.rs). */
const DOC_ERROR =
  '{"error":"Currency pair not supported XBT/USD","method":"subscribe","success":false,"symbol":"XBT/USD","time_in":"2018-11-12T21:14:59.545897Z","time_out":"2018-11-12T21:14:59.545901Z"}';


/** The two documented MATIC/USD trades, as the handler must receive them. */
const MATIC_TRADES: Trade[] = [
  { symbol: 0, ts: Date.UTC(2023, 8, 25, 7, 48, 36) + 925.533, price: 0.5147, size: 6423.46326, side: 1, id: 4665846 },
  { symbol: 0, ts: Date.UTC(2023, 8, 25, 7, 49, 36) + 925.603, price: 0.5147, size: 1136.19677815, side: 1, id: 4665847 },
];

describe('Kraken v2 adapter: parse', () => {
  it('reads the documented trade frame: JSON numbers, taker side, integer id, RFC 3339 time kept to the µs', () => {
    const adapter = new KrakenAdapter(['MATIC/USD'], ['trades', 'quotes']);
    const seen = recorder();
    expect(adapter.parse(DOC_TRADE, seen)).toBe(FrameKind.DATA);
    expect(seen.trades).toEqual(MATIC_TRADES);
    // The µs survive: a float64 near 1.7e12 ms resolves 2^-12 ms (0.24 µs).
    expect(Math.abs(seen.trades[0]!.ts - Date.UTC(2023, 8, 25, 7, 48, 36) - 925.533)).toBeLessThan(0.00025);
  });

  it('side "sell" is an aggressor sell (the doc frame with its sides flipped)', () => {
    const adapter = new KrakenAdapter(['MATIC/USD'], ['trades']);
    const seen = recorder();
    expect(adapter.parse(DOC_TRADE.replaceAll('"side":"buy"', '"side":"sell"'), seen)).toBe(FrameKind.DATA);
    expect(seen.trades.map((t) => t.side)).toEqual([-1, -1]);
  });

  it('reads the documented ticker as the best bid/offer; without a timestamp the feed stamps it (NaN)', () => {
    const adapter = new KrakenAdapter(['BTC/USD', 'ALGO/USD'], ['trades', 'quotes']);
    const seen = recorder();
    expect(adapter.parse(DOC_TICKER, seen)).toBe(FrameKind.DATA);
    expect(seen.quotes).toEqual([{ symbol: 1, ts: Date.UTC(2023, 8, 25, 9, 4, 31) + 742.648, bid: 0.10025, bidSize: 740, ask: 0.10036, askSize: 1361.44813783 }]);
    expect(adapter.parse(DOC_TICKER.replace(',"timestamp":"2023-09-25T09:04:31.742648Z"', ''), seen)).toBe(FrameKind.DATA);
    expect(Number.isNaN(seen.quotes[1]!.ts)).toBe(true);
    expect(seen.quotes[1]!.bid).toBe(0.10025);
  });

  it('hands over only the trades of its own pairs; a frame with none of them is IGNORED', () => {
    const seen = recorder();
    expect(new KrakenAdapter(['BTC/USD'], ['trades']).parse(DOC_TRADE, seen)).toBe(FrameKind.IGNORED);
    const mixed = DOC_TRADE.replace('"symbol":"MATIC/USD"', '"symbol":"DOT/USD"');
    expect(new KrakenAdapter(['ETH/USD', 'MATIC/USD'], ['trades']).parse(mixed, seen)).toBe(FrameKind.DATA);
    expect(seen.trades).toEqual([{ ...MATIC_TRADES[1]!, symbol: 1 }]);
  });

  it('acks: each per-symbol response is an ACK of the req_id it echoes (the documented ack carries none: NaN)', () => {
    const adapter = new KrakenAdapter(['BTC/USD'], ['trades']);
    expect(adapter.parse(DOC_ACK, recorder())).toBe(FrameKind.ACK);
    expect(Number.isNaN(adapter.ackId)).toBe(true);
    const withId = DOC_ACK.replace('"success":true', '"success":true,"req_id":7');
    expect(adapter.parse(withId, recorder())).toBe(FrameKind.ACK);
    expect(adapter.ackId).toBe(7);
    expect(adapter.parse('{"method":"unsubscribe","result":{"channel":"trade","symbol":"BTC/USD"},"success":true,"req_id":8}', recorder())).toBe(FrameKind.ACK);
    expect(adapter.ackId).toBe(8);
  });

  it('errors: success:false is an ERROR of its req_id with the venue text (control.jsonl holds no v2 error: the doc example)', () => {
    expect(CONTROL_V2.some((c) => c.frame?.includes('"success":false'))).toBe(false);
    const adapter = new KrakenAdapter(['BTC/USD'], ['trades']);
    expect(adapter.parse(DOC_ERROR, recorder())).toBe(FrameKind.ERROR);
    expect(Number.isNaN(adapter.ackId)).toBe(true);
    expect(adapter.error).toBe('kraken error: Currency pair not supported XBT/USD (XBT/USD)');
    expect(adapter.parse(DOC_ERROR.replace('"success":false', '"success":false,"req_id":3'), recorder())).toBe(FrameKind.ERROR);
    expect(adapter.ackId).toBe(3);
    expect(adapter.parse('{"error":"Malformed request","method":"error","success":false,"req_id":4}', recorder())).toBe(FrameKind.ERROR);
    expect(adapter.ackId).toBe(4);
    expect(adapter.error).toContain('Malformed request');
  });

  it('heartbeats, status, pong and channels it does not read are IGNORED', () => {
    const adapter = new KrakenAdapter(['BTC/USD'], ['trades', 'quotes']);
    const seen = recorder();
    for (const f of [
      DOC_HEARTBEAT,
      '{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":1,"system":"online","version":"2.0.0"}]}',
      '{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}',
      '{"method":"pong"}',
      '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[],"asks":[]}]}',
    ]) {
      expect(adapter.parse(f, seen), f).toBe(FrameKind.IGNORED);
    }
    // A channel the config did not ask for.
    expect(new KrakenAdapter(['ALGO/USD'], ['trades']).parse(DOC_TICKER, seen)).toBe(FrameKind.IGNORED);
    expect(new KrakenAdapter(['MATIC/USD'], ['quotes']).parse(DOC_TRADE, seen)).toBe(FrameKind.IGNORED);
    expect(seen.trades).toHaveLength(0);
    expect(seen.quotes).toHaveLength(0);
  });

  it('malformed frames are MALFORMED, hand nothing over, and never throw', () => {
    const adapter = new KrakenAdapter(['MATIC/USD', 'ALGO/USD'], ['trades', 'quotes']);
    const seen = recorder();
    const trade = (fields: string) => `{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD",${fields}}]}`;
    const good = '"side":"buy","price":0.5147,"qty":1,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"';
    expect(adapter.parse(trade(good), seen)).toBe(FrameKind.DATA);
    seen.trades.length = 0;
    const bad = [
      '',
      'not json',
      'null',
      '42',
      '"text"',
      '[1,[["0.5","1","1618678142.557535","b","l",""]],"trade","XBT/USD"]', // a v1 trade array
      '{"event":"heartbeat"}', // a v1 heartbeat
      '{"weird":true}',
      '{"method":"subscribe","req_id":1}', // no success
      '{"channel":"trade","data":[]}', // no type
      '{"channel":"trade","type":"update","data":{}}',
      '{"channel":"trade","type":"update","data":[null]}',
      '{"channel":"trade","type":"update","data":[{"side":"buy"}]}', // no symbol
      trade(good.replace('"price":0.5147', '"price":"0.5147"')), // a string, as v1 sent
      trade(good.replace('"price":0.5147', '"price":-1')),
      trade(good.replace('"price":0.5147', '"price":0')),
      trade(good.replace('"qty":1', '"qty":0')),
      trade(good.replace('"side":"buy"', '"side":"b"')),
      trade(good.replace('"trade_id":4665846', '"trade_id":"4665846"')),
      trade(good.replace('"trade_id":4665846', '"trade_id":1.5')),
      trade(good.replace('"trade_id":4665846', '"trade_id":-1')),
      trade(good.replace('2023-09-25T07:48:36.925533Z', '1618678142.557535')), // v1 time
      trade(good.replace('2023-09-25T07:48:36.925533Z', '2023-09-25T07:48:36.925533+00:00')),
      trade(good.replace('2023-09-25T07:48:36.925533Z', '2023-02-30T07:48:36Z')),
      trade(good.replace(',"timestamp":"2023-09-25T07:48:36.925533Z"', '')),
      // One bad trade spoils the frame: the good one before it is not handed over either.
      `{"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD",${good}},{"symbol":"MATIC/USD",${good.replace('"qty":1', '"qty":null')}}]}`,
      DOC_TICKER.replace('"bid":0.10025', '"bid":"0.10025"'),
      DOC_TICKER.replace('"ask":0.10036', '"ask":0'),
      DOC_TICKER.replace('"bid_qty":740.0', '"bid_qty":-1'),
      DOC_TICKER.replace('2023-09-25T09:04:31.742648Z', 'yesterday'),
      DOC_TICKER.replace('"type":"snapshot"', '"type":"delta"'),
    ];
    for (const f of bad) {
      expect(adapter.parse(f, seen), f).toBe(FrameKind.MALFORMED);
      expect(adapter.error, f).toMatch(/^kraken: /);
    }
    expect(seen.trades).toHaveLength(0);
    expect(seen.quotes).toHaveLength(0);
  });

  it('seeded mutations of the documented frames never throw, and whatever is handed over is well-formed', () => {
    const rng = new Prng(20260502);
    const adapter = new KrakenAdapter(['MATIC/USD', 'ALGO/USD', 'XBT/USD'], ['trades', 'quotes']);
    const seen = recorder();
    const sources = [DOC_TRADE, DOC_TICKER, DOC_ACK, DOC_ERROR, DOC_HEARTBEAT];
    const alphabet = '{}[]":,.-0123456789eEtrufalsn \\Z';
    const kinds = new Set<number>(Object.values(FrameKind));
    let unknownKinds = 0;
    for (let i = 0; i < 20_000; i++) {
      let f = rng.pick(sources);
      for (let k = rng.int(1, 3); k > 0; k--) {
        const at = rng.int(0, f.length);
        const op = rng.int(0, 2);
        const c = alphabet[rng.int(0, alphabet.length - 1)]!;
        f = op === 0 ? f.slice(0, at) + f.slice(at + 1) : op === 1 ? f.slice(0, at) + c + f.slice(at) : f.slice(0, at) + c + f.slice(at + 1);
      }
      if (!kinds.has(adapter.parse(f, seen))) unknownKinds++;
    }
    expect(unknownKinds).toBe(0);
    expect(seen.trades.length + seen.quotes.length).toBeGreaterThan(0);
    expect(seen.trades.filter((t) => !(t.price > 0 && t.size > 0 && Number.isFinite(t.ts) && Number.isSafeInteger(t.id) && Math.abs(t.side) === 1))).toEqual([]);
    expect(seen.quotes.filter((q) => !(q.bid > 0 && q.ask > 0 && q.bidSize >= 0 && q.askSize >= 0))).toEqual([]);
  });

  it('builds one subscribe request per channel with req_id, 100 pairs each; the URL gains /v2 once', () => {
    const adapter = new KrakenAdapter(['BTC/USD', 'eth/usd'], ['trades', 'quotes']);
    let id = 5;
    expect(adapter.subscribeRequests(() => id++)).toEqual([
      { id: 5, text: '{"method":"subscribe","params":{"channel":"trade","symbol":["BTC/USD","ETH/USD"],"snapshot":false},"req_id":5}' },
      { id: 6, text: '{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD","ETH/USD"],"event_trigger":"bbo","snapshot":true},"req_id":6}' },
    ]);
    const many = new KrakenAdapter(
      Array.from({ length: 250 }, (_, i) => `S${i}/USD`),
      ['trades'],
    ).subscribeRequests(() => 1);
    expect(many.map((r) => JSON.parse(r.text).params.symbol.length)).toEqual([100, 100, 50]);
    expect(adapter.connectUrl('wss://ws.kraken.com')).toBe('wss://ws.kraken.com/v2');
    expect(adapter.connectUrl('wss://ws.kraken.com/v2/')).toBe('wss://ws.kraken.com/v2');
    expect(adapter.connectUrl(krakenCapabilities.defaultUrl)).toBe('wss://ws.kraken.com/v2');
    expect(adapter.heartbeat).toBeUndefined();
  });

  it('isoToMs reads RFC 3339 UTC with 0–9 fraction digits and refuses everything else', () => {
    expect(isoToMs('2023-09-25T07:48:36Z')).toBe(Date.UTC(2023, 8, 25, 7, 48, 36));
    expect(isoToMs('2023-09-25T07:48:36.9Z')).toBe(Date.UTC(2023, 8, 25, 7, 48, 36) + 900);
    expect(isoToMs('2023-09-25T07:48:36.123456789Z')).toBeCloseTo(Date.UTC(2023, 8, 25, 7, 48, 36) + 123.456789, 3);
    expect(isoToMs('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29));
    for (const s of ['2023-02-29T00:00:00Z', '2023-13-01T00:00:00Z', '2023-09-25 07:48:36Z', '2023-09-25T24:00:00Z', '2023-09-25T07:48:36.Z', '2023-09-25T07:48:36', '2023-09-25T07:48:3xZ', '']) {
      expect(Number.isNaN(isoToMs(s)), s).toBe(true);
    }
  });
});

/** The adapter with a generous request rate, so tests do not wait on pacing (pacing has its own test). */
const FAST = { ...krakenCapabilities, maxMessagesPerSecond: 50 };

/** Records every frame it parses, and what it made of it. */
class RecordingKraken extends KrakenAdapter {
  readonly frames: { frame: string; kind: FrameKind }[] = [];
  override parse(frame: string, handler: FeedHandler): FrameKind {
    const kind = super.parse(frame, handler);
    this.frames.push({ frame, kind });
    return kind;
  }
}

/** With the optional client ping turned on (K4), every 40 ms. */
class PingingKraken extends RecordingKraken {
  override readonly heartbeat = { intervalMs: 40, text: '{"method":"ping"}' };
}

describe('Kraken v2 adapter over a loopback socket (FeedConnection)', () => {
  let fake: FakeKraken | undefined;
  let conn: FeedConnection | undefined;
  afterEach(async () => {
    conn?.stop();
    conn = undefined;
    await fake?.close();
    fake = undefined;
  });

  function connect(adapter: KrakenAdapter, options: ConstructorParameters<typeof FeedConnection>[4] = {}) {
    const seen = recorder();
    const errors: string[] = [];
    conn = new FeedConnection(adapter, fake!.url, seen, { onError: (e) => errors.push(e) }, { backoffBaseMs: 10, random: () => 0.5, ...options });
    conn.start();
    return { seen, errors, conn };
  }

  it('subscribes on /v2, every per-symbol ack settles its request, and the documented frames arrive through the handler', async () => {
    fake = await FakeKraken.start({ heartbeatMs: 0 });
    const { seen, errors, conn } = connect(new KrakenAdapter(['MATIC/USD', 'ALGO/USD'], ['trades', 'quotes'], FAST));
    await until(() => fake!.requests().length === 2, 3_000, 'two subscribe requests');
    await until(() => conn.pendingAcks.size === 0, 3_000, 'the acks');
    expect(fake.paths).toEqual(['/v2']);
    expect(fake.received).toEqual([
      '{"method":"subscribe","params":{"channel":"trade","symbol":["MATIC/USD","ALGO/USD"],"snapshot":false},"req_id":1}',
      '{"method":"subscribe","params":{"channel":"ticker","symbol":["MATIC/USD","ALGO/USD"],"event_trigger":"bbo","snapshot":true},"req_id":2}',
    ]);
    fake.send(DOC_TRADE);
    fake.send(DOC_TICKER);
    await until(() => seen.trades.length === 2 && seen.quotes.length === 1, 3_000, 'the trades and the quote');
    expect(seen.trades).toEqual(MATIC_TRADES);
    expect(seen.quotes[0]).toMatchObject({ symbol: 1, bid: 0.10025, bidSize: 740, ask: 0.10036, askSize: 1361.44813783 });
    expect(errors).toEqual([]);
    expect(conn.parseErrors).toBe(0);
  });

  it('a pair the venue refuses: its error reaches onError and settles the request; the other pair streams on', async () => {
    fake = await FakeKraken.start({ heartbeatMs: 0 });
    const { seen, errors, conn } = connect(new KrakenAdapter(['BTC/USD', 'XBT/USD'], ['trades'], FAST));
    await until(() => errors.length === 1, 3_000, 'the refusal');
    expect(errors).toEqual(['kraken error: Currency pair not supported XBT/USD (XBT/USD)']);
    await until(() => conn.pendingAcks.size === 0, 3_000, 'the request settled');
    fake.send(DOC_TRADE.replaceAll('MATIC/USD', 'BTC/USD'));
    await until(() => seen.trades.length === 2, 3_000, 'BTC/USD trades');
    expect(seen.trades.map((t) => [t.symbol, t.id])).toEqual([
      [0, 4665846],
      [0, 4665847],
    ]);
    expect(conn.reconnects).toBe(0);
  });

  it('server heartbeats keep a quiet connection fresh; the optional client ping is answered by pong; both IGNORED', async () => {
    fake = await FakeKraken.start({ heartbeatMs: 30 });
    const adapter = new PingingKraken(['BTC/USD'], ['trades'], FAST);
    const { conn } = connect(adapter, { staleAfterMs: 200 });
    await until(() => conn.pendingAcks.size === 0 && fake!.requests().length === 1, 3_000, 'the subscription');
    await new Promise((r) => setTimeout(r, 700));
    const heartbeats = adapter.frames.filter((f) => f.frame === DOC_HEARTBEAT);
    const pongs = adapter.frames.filter((f) => f.frame.startsWith('{"method":"pong"'));
    expect(heartbeats.length).toBeGreaterThanOrEqual(10);
    expect(pongs.length).toBeGreaterThanOrEqual(5);
    expect([...heartbeats, ...pongs].every((f) => f.kind === FrameKind.IGNORED)).toBe(true);
    expect(fake.requests('ping').length).toBeGreaterThanOrEqual(5);
    expect(conn.reconnects).toBe(0);
    expect(conn.parseErrors).toBe(0);
  });

  it('without heartbeats the same quiet connection goes stale and is replaced (the control for the test above)', async () => {
    fake = await FakeKraken.start({ heartbeatMs: 0 });
    const { conn } = connect(new KrakenAdapter(['BTC/USD'], ['trades'], FAST), { staleAfterMs: 150 });
    await until(() => conn.reconnects >= 1 && fake!.connections >= 2, 3_000, 'a stale reconnect');
  });

  it('after the venue closes the connection it reconnects and subscribes again', async () => {
    fake = await FakeKraken.start({ heartbeatMs: 0 });
    const { seen, conn } = connect(new KrakenAdapter(['MATIC/USD'], ['trades', 'quotes'], FAST));
    await until(() => fake!.requests().length === 2 && conn.pendingAcks.size === 0, 3_000, 'the first subscription');
    fake.drop();
    await until(() => fake!.connections === 2 && fake!.requests().length === 4, 3_000, 'the second subscription');
    await until(() => conn.pendingAcks.size === 0, 3_000, 'the second acks');
    expect(conn.reconnects).toBe(1);
    expect(fake.paths).toEqual(['/v2', '/v2']);
    const [a, b, c, d] = fake.requests();
    expect([c!.params, d!.params]).toEqual([a!.params, b!.params]);
    expect([c!.req_id, d!.req_id]).toEqual([3, 4]);
    fake.send(DOC_TRADE);
    await until(() => seen.trades.length === 2, 3_000, 'trades on the new connection');
    expect(seen.trades).toEqual(MATIC_TRADES);
  });

  it('a malformed frame is counted in parseErrors and the connection stays', async () => {
    fake = await FakeKraken.start({ heartbeatMs: 0 });
    const { seen, errors, conn } = connect(new KrakenAdapter(['MATIC/USD'], ['trades'], FAST));
    await until(() => fake!.requests().length === 1 && conn.pendingAcks.size === 0, 3_000, 'the subscription');
    fake.send('garbage');
    fake.send(DOC_TRADE.replace('"price":0.5147', '"price":"0.5147"'));
    fake.send(DOC_TRADE);
    await until(() => seen.trades.length === 2, 3_000, 'the good frame');
    expect(conn.parseErrors).toBe(2);
    expect(errors).toEqual(['kraken: not JSON', 'kraken: bad trade fields']);
    expect(conn.reconnects).toBe(0);
    expect(fake.connections).toBe(1);
  });

  it('with the real capabilities, subscribe requests go out one per second', async () => {
    fake = await FakeKraken.start({ heartbeatMs: 0 });
    connect(new KrakenAdapter(['MATIC/USD'], ['trades', 'quotes']));
    await until(() => fake!.requests().length === 2, 3_000, 'both requests');
    expect(fake.receivedAt[1]! - fake.receivedAt[0]!).toBeGreaterThanOrEqual(800); // paced at 1000 ms; immediate would be ~0
  });
});
