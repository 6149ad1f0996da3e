/**
 * The Bybit v5 adapter against the recorded frames in ../shared/fixtures/bybit,
 * then driven by FeedConnection over a real loopback socket to a fake Bybit.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callbackHandler, FrameKind, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { BybitAdapter, bybitCapabilities, bybitTradeId } from '../../src/exchanges/bybit.ts';
import { FeedConnection } from '../../src/feed/connection.ts';
import { FakeBybit } from '../support/fake-bybit.ts';
import { until } from '../support/until.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';
import { recorder } from '../support/recorder.ts';

const lines = (file: string) =>
  readFileSync(path.join(FIXTURES_DIR, 'bybit', file), 'utf8').split('\n').filter((l) => l.trim() !== '');

/** frames.jsonl: [0] spot publicTrade (6 trades, numeric-string ids), [1] linear publicTrade (49 trades, UUIDs). */
const REAL = lines('frames.jsonl');
const RESERIALIZED = lines('frames_reserialized.jsonl');
const DOC = lines('doc_frames.jsonl');
const CONTROL = lines('control.jsonl').map((l) => JSON.parse(l) as { dir: string; frame?: string; note?: string });
/** 2023 v5 spot BTCUSDT publicTrade: 4 taker sells. */
const SPOT_SELLS = RESERIALIZED.find((l) => l.includes('"2290000000050703789"'))!;


/** A level-1 book frame in the recorded linear shape. */
function book(type: 'snapshot' | 'delta', ts: number, u: number, b: [string, string][], a: [string, string][], extra = ''): string {
  return `{"topic":"orderbook.1.BTCUSDT","type":"${type}","ts":${ts},"data":{"s":"BTCUSDT","b":${JSON.stringify(b)},"a":${JSON.stringify(a)},"u":${u},"seq":1}${extra}}`;
}

describe('Bybit adapter: trades', () => {
  it('reads the recorded 2025 spot frame: six taker buys, numeric-string ids hashed', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['trades', 'quotes']);
    const seen = recorder();
    expect(adapter.parse(REAL[0]!, seen)).toBe(FrameKind.DATA);
    expect(seen.trades).toHaveLength(6);
    expect(seen.trades[0]).toEqual({ symbol: 0, ts: 1735689653898, price: 93611.04, size: 0.000725, side: 1, id: bybitTradeId('2290000000587387108') });
    expect(seen.trades[4]).toEqual({ symbol: 0, ts: 1735689653898, price: 93612.51, size: 0.03205, side: 1, id: bybitTradeId('2290000000587387112') });
    expect(seen.trades[5]).toMatchObject({ price: 93612.93, size: 0.0001, side: 1 });
  });

  it('reads the recorded 2025 linear frame: a 49-trade taker sweep with UUID ids', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['trades']);
    const seen = recorder();
    expect(adapter.parse(REAL[1]!, seen)).toBe(FrameKind.DATA);
    expect(seen.trades).toHaveLength(49);
    expect(seen.trades[0]).toEqual({ symbol: 0, ts: 1735689654137, price: 93580, size: 0.001, side: 1, id: bybitTradeId('079fa26c-36af-5007-b4be-23079b78761f') });
    expect(seen.trades[16]).toMatchObject({ price: 93582.8, size: 0.187 });
    expect(seen.trades[48]).toEqual({ symbol: 0, ts: 1735689654137, price: 93590.8, size: 0.003, side: 1, id: bybitTradeId('e4d6fd71-45ca-51c3-929d-2cc870aab152') });
    expect(seen.trades.every((t) => t.side === 1 && t.ts === 1735689654137)).toBe(true);
    const volume = seen.trades.reduce((v, t) => v + t.size, 0);
    expect(volume).toBeCloseTo(1.053, 9);
  });

  it('takes the aggressor side from S: the recorded 2023 spot frame is four taker sells', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['trades']);
    const seen = recorder();
    expect(adapter.parse(SPOT_SELLS, seen)).toBe(FrameKind.DATA);
    expect(seen.trades.map((t) => [t.side, t.price, t.size, t.ts])).toEqual([
      [-1, 28165.38, 0.041732, 1680652847524],
      [-1, 28165.38, 0.008513, 1680652847524],
      [-1, 28165.38, 0.042384, 1680652847524],
      [-1, 28165.38, 0.055371, 1680652847524],
    ]);
  });

  it('reads every other recorded and documented v5 trade frame (inverse, USDC spot, with seq)', () => {
    const adapter = new BybitAdapter(['BTCUSD', 'LTCUSDT', 'BTCUSDC', 'BTCUSDT'], ['trades']);
    const seen = recorder();
    const frames = [...RESERIALIZED, ...DOC].filter((l) => l.includes('"topic":"publicTrade.'));
    expect(frames).toHaveLength(5);
    for (const f of frames) expect(adapter.parse(f, seen), f).toBe(FrameKind.DATA);
    expect(seen.trades).toHaveLength(3 + 1 + 4 + 1 + 1);
    expect(seen.trades[0]).toEqual({ symbol: 0, ts: 1680673823564, price: 28560.5, size: 5823, side: 1, id: bybitTradeId('0cbf2330-952d-5d03-a462-4bf826c867af') });
    expect(seen.trades[3]).toMatchObject({ symbol: 1, ts: 1680688979983, price: 94.53, size: 0.4, side: 1 });
    expect(seen.trades[8]).toMatchObject({ symbol: 2, price: 28528.98, size: 0.00433, side: 1 });
    expect(seen.trades[9]).toMatchObject({ symbol: 3, ts: 1672304486865, price: 16578.5, size: 0.001, side: 1 });
  });

  it('hashes trade ids to distinct integers below 2^53, the same on every run', () => {
    const ids = new Set<number>();
    const adapter = new BybitAdapter(['BTCUSDT'], ['trades']);
    const seen = recorder();
    for (const f of [...REAL, SPOT_SELLS]) adapter.parse(f, seen);
    for (const t of seen.trades) {
      expect(Number.isSafeInteger(t.id) && t.id >= 0).toBe(true);
      ids.add(t.id);
    }
    expect(ids.size).toBe(59);
    // Pinned: bar history and de-duplication outlive a restart, so the hash must never change.
    expect(bybitTradeId('079fa26c-36af-5007-b4be-23079b78761f')).toBe(4314675820085980);
    expect(bybitTradeId('2290000000587387108')).toBe(1456423119728620);
    expect(bybitTradeId('a')).toBe(7929297801672961); // cyrb53's published value for "a"
    expect(bybitTradeId('2290000000587387109')).not.toBe(bybitTradeId('2290000000587387108'));
  });
});

describe('Bybit adapter: quotes from orderbook.1', () => {
  it('applies the recorded linear snapshot and delta', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['quotes']);
    const seen = recorder();
    const frames = RESERIALIZED.filter((l) => l.startsWith('{"topic":"orderbook.1.BTCUSDT","type"'));
    expect(adapter.parse(frames[0]!, seen)).toBe(FrameKind.DATA); // snapshot
    expect(adapter.parse(frames[1]!, seen)).toBe(FrameKind.DATA); // delta: bid size only
    expect(seen.quotes).toEqual([
      { symbol: 0, ts: 1680673820717, bid: 28552, bidSize: 0.047, ask: 28552.1, askSize: 25.433 },
      { symbol: 0, ts: 1680673821137, bid: 28552, bidSize: 0.012, ask: 28552.1, askSize: 25.433 },
    ]);
  });

  it('applies the recorded spot snapshot and delta', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['quotes']);
    const seen = recorder();
    for (const f of RESERIALIZED.filter((l) => l.startsWith('{"topic":"orderbook.1.BTCUSDT","ts"'))) expect(adapter.parse(f, seen)).toBe(FrameKind.DATA);
    expect(seen.quotes).toEqual([
      { symbol: 0, ts: 1680652806504, bid: 28165.07, bidSize: 0.175231, ask: 28165.08, askSize: 0.996816 },
      { symbol: 0, ts: 1680652806615, bid: 28165.07, bidSize: 0.166754, ask: 28165.08, askSize: 0.996816 },
    ]);
  });

  it('a delta level of size 0 removes the best; a side with no best hands on no quote', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['quotes']);
    const seen = recorder();
    const removal = RESERIALIZED.find((l) => l.includes('"u":1188472'))!; // b: 27994.60→0, 27991.70; a: 27994.40, 27994.80→0
    expect(adapter.parse(book('snapshot', 1682092584400, 1188471, [['27994.60', '1.5']], [['27994.80', '0.2']]), seen)).toBe(FrameKind.DATA);
    expect(adapter.parse(removal, seen)).toBe(FrameKind.DATA);
    expect(seen.quotes.at(-1)).toEqual({ symbol: 0, ts: 1682092584425, bid: 27991.7, bidSize: 0.777, ask: 27994.4, askSize: 0.058 });

    expect(adapter.parse(book('delta', 1682092584500, 1188473, [['27991.70', '0']], []), seen)).toBe(FrameKind.DATA);
    expect(seen.quotes).toHaveLength(2); // the bid side is empty now
    expect(adapter.parse(book('delta', 1682092584600, 1188474, [['27990.00', '2']], []), seen)).toBe(FrameKind.DATA);
    expect(seen.quotes.at(-1)).toEqual({ symbol: 0, ts: 1682092584600, bid: 27990, bidSize: 2, ask: 27994.4, askSize: 0.058 });
    // A size-0 level that is not the best changes nothing.
    expect(adapter.parse(book('delta', 1682092584700, 1188475, [], [['27999.00', '0']]), seen)).toBe(FrameKind.DATA);
    expect(seen.quotes.at(-1)).toMatchObject({ ts: 1682092584700, bid: 27990, ask: 27994.4 });
  });

  it('does not repeat the unchanged 3-second re-send, and forgets the book on a new connection', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['quotes']);
    const seen = recorder();
    const t0 = 1682092584000;
    const snap = book('snapshot', t0 + 1000, 42, [['100.5', '1']], [['100.6', '2']]);
    adapter.parse(snap, seen);
    adapter.parse(book('snapshot', t0 + 4000, 42, [['100.5', '1']], [['100.6', '2']]), seen);
    expect(seen.quotes).toHaveLength(1);
    adapter.parse(book('snapshot', t0 + 7000, 1, [['100.5', '1']], [['100.6', '2']]), seen); // u = 1: a service restart
    expect(seen.quotes).toHaveLength(2);

    adapter.subscribeRequests(() => 1); // reconnected
    expect(adapter.parse(book('delta', t0 + 8000, 2, [['100.4', '3']], []), seen)).toBe(FrameKind.DATA);
    expect(seen.quotes).toHaveLength(2); // the ask is unknown until the next snapshot
    adapter.parse(snap, seen);
    expect(seen.quotes).toHaveLength(3);
  });

  it('stamps quotes with the matching-engine time cts when the frame has one', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['quotes']);
    const seen = recorder();
    adapter.parse(book('snapshot', 1687940967466, 9, [['30247.20', '30.028']], [['30248.70', '1']], ',"cts":1687940967464'), seen);
    expect(seen.quotes[0]!.ts).toBe(1687940967464);
  });
});

describe('Bybit adapter: everything else', () => {
  it('ignores other topics and unknown symbols, and finds nothing malformed in the v5 corpus', () => {
    const adapter = new BybitAdapter(['BTCUSDT', 'BTCUSD', 'BTCUSDU23', 'BTC-6JAN23-17500-C'], ['trades', 'quotes']);
    const other = [...RESERIALIZED, ...DOC].filter((l) => !/"topic":"(publicTrade|orderbook\.1)\./.test(l));
    expect(other.length).toBe(18); // orderbook.50, tickers (linear, inverse, futures, option, spot), kline, liquidations
    for (const f of other) expect(adapter.parse(f, recorder()), f).toBe(FrameKind.IGNORED);

    const stranger = new BybitAdapter(['ETHUSDT'], ['trades', 'quotes']);
    const seen = recorder();
    for (const f of [...REAL, ...RESERIALIZED, ...DOC]) expect(stranger.parse(f, seen), f).toBe(FrameKind.IGNORED);
    expect(seen.trades.length + seen.quotes.length).toBe(0);
  });

  it('ignores every recorded pong shape and acknowledges by req_id', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['trades']);
    const recv = CONTROL.filter((c) => c.dir === 'recv' && c.note === undefined).map((c) => c.frame!);
    const pongs = recv.filter((f) => f.includes('pong'));
    expect(pongs).toHaveLength(4);
    for (const f of pongs) expect(adapter.parse(f, recorder()), f).toBe(FrameKind.IGNORED);

    const acks = recv.filter((f) => !f.includes('pong'));
    expect(acks).toHaveLength(4);
    const ids = acks.map((f) => [adapter.parse(f, recorder()), adapter.ackId]);
    expect(ids).toEqual([
      [FrameKind.ACK, NaN], // linear ack without req_id
      [FrameKind.ACK, 10001], // spot ack
      [FrameKind.ACK, NaN], // req_id ""
      [FrameKind.ACK, NaN], // option COMMAND_RESP
    ]);
    expect(adapter.parse('{"success":true,"ret_msg":"subscribe","conn_id":"x","req_id":"7","op":"subscribe"}', recorder())).toBe(FrameKind.ACK);
    expect(adapter.ackId).toBe(7);
  });

  it("turns Bybit's refusals into ERROR, with the request id when they name one", () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['trades']);
    const refusals: [string, number, string][] = [
      // recorded (yufuquant/rust-bybit#24): a spot request of more than 10 args
      ['{"success":false,"ret_msg":"args size \\u003e10","conn_id":"0a555e6f-199c-49bb-9bb8-6f8adcd8b057","op":"subscribe"}', NaN, 'args size >10'],
      // nautilus_trader test data ws_subscription_failure.json
      ['{"success":false,"ret_msg":"Invalid topic: invalid.topic.BTCUSDT","conn_id":"cejreaspqfm9se7usbrg-2xh","op":"subscribe"}', NaN, 'Invalid topic'],
      // sieblyio/bybit-api#561: a req_id that is not ours
      ['{"success":false,"ret_msg":"error:handler not found,topic:dcp.future","conn_id":"d9jhogatbetvf6evjmc0-8eoj","req_id":"dcp.future","op":"subscribe"}', NaN, 'handler not found'],
      ['{"success":false,"ret_msg":"Invalid topic: publicTrade.NOPE","conn_id":"c","req_id":"12","op":"subscribe"}', 12, 'publicTrade.NOPE'],
      ['{"success":true,"conn_id":"c","data":{"failTopics":["orderbook.1.NOPE"],"successTopics":[]},"type":"COMMAND_RESP"}', NaN, 'orderbook.1.NOPE'],
    ];
    for (const [frame, id, text] of refusals) {
      expect(adapter.parse(frame, recorder()), frame).toBe(FrameKind.ERROR);
      expect(adapter.ackId).toBe(id);
      expect(adapter.error).toContain(text);
    }
  });

  it('builds subscribe requests of at most 10 topics, with numeric req_ids', () => {
    const symbols = Array.from({ length: 25 }, (_, i) => `S${i}USDT`);
    let id = 1;
    const requests = new BybitAdapter(symbols, ['trades']).subscribeRequests(() => id++);
    expect(requests.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(requests.map((r) => JSON.parse(r.text).args.length)).toEqual([10, 10, 5]);
    expect(requests[2]!.text).toBe(
      '{"op":"subscribe","args":["publicTrade.S20USDT","publicTrade.S21USDT","publicTrade.S22USDT","publicTrade.S23USDT","publicTrade.S24USDT"],"req_id":"3"}',
    );
    const both = new BybitAdapter(['btcusdt'], ['trades', 'quotes']).subscribeRequests(() => 9);
    expect(both).toEqual([{ id: 9, text: '{"op":"subscribe","args":["publicTrade.BTCUSDT","orderbook.1.BTCUSDT"],"req_id":"9"}' }]);
  });

  it('connects to the spot path unless the URL names a category, and pings every 20 s', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['trades']);
    expect(adapter.connectUrl(bybitCapabilities.defaultUrl)).toBe('wss://stream.bybit.com/v5/public/spot');
    expect(adapter.connectUrl('wss://stream.bybit.com/v5/public/linear/')).toBe('wss://stream.bybit.com/v5/public/linear');
    expect(adapter.connectUrl('wss://stream-testnet.bybit.com')).toBe('wss://stream-testnet.bybit.com/v5/public/spot');
    expect(adapter.connectUrl('ws://127.0.0.1:9000/')).toBe('ws://127.0.0.1:9000/v5/public/spot');
    expect(adapter.heartbeat).toEqual({ intervalMs: 20_000, text: '{"op":"ping"}' });
  });

  it('declares its capabilities', () => {
    expect(bybitCapabilities).toEqual({
      name: 'bybit',
      defaultUrl: 'wss://stream.bybit.com/v5/public/spot',
      channels: ['trades', 'quotes'],
      tradeIdOrder: 'any',
      maxStreamsPerConnection: 500,
      maxMessagesPerSecond: 5,
      maxConnectionAgeMs: 86_400_000,
    });
  });

  it('counts malformed frames as MALFORMED, hands nothing on, never throws', () => {
    const adapter = new BybitAdapter(['BTCUSDT'], ['trades', 'quotes']);
    const seen = recorder();
    const trade = (t: string) => `{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[${t}]}`;
    const good = '{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","p":"2","i":"a"}';
    const bad = [
      '',
      'not json',
      '[1,2,3]',
      'null',
      '"pong"',
      '{}',
      '{"topic":5}',
      '{"success":"yes","op":"subscribe"}',
      '{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":{}}',
      '{"topic":"publicTrade.BTCUSDT","type":"delta","ts":1,"data":[]}',
      '{"topic":"publicTrade.BTCUSDT","type":"snapshot","data":[]}',
      trade(good.replace('"Buy"', '"buy"')),
      trade(good.replace('"2"', '"abc"')),
      trade(good.replace('"2"', '"-2"')),
      trade(good.replace('"2"', '2')),
      trade(good.replace('"2"', '"1e3"')),
      trade(good.replace('"v":"1"', '"v":"0"')),
      trade(good.replace('"T":1', '"T":"1"')),
      trade(good.replace('"i":"a"', '"i":""')),
      trade(good.replace('"i":"a"', '"i":7')),
      trade(good.replace('"s":"BTCUSDT"', '"s":"ETHUSDT"')),
      trade(`${good},null`), // one bad trade spoils the frame: the good one is not handed on
      trade(`${good},${good.replace('"S":"Buy"', '"S":"Sell","BT":"no"')}`),
      book('snapshot', 1, 1, [['1', '1']], [['2', '1']]).replace('"type":"snapshot"', '"type":"partial"'),
      book('snapshot', 1, 1, [['x', '1']], [['2', '1']]),
      book('snapshot', 1, 1, [['1', '-1']], [['2', '1']]),
      book('snapshot', 1, 1, [['1', '1']], [['2', '1']]).replace('"u":1', '"u":"1"'),
      book('snapshot', 1, 1, [['1', '1']], [['2', '1']]).replace('"s":"BTCUSDT"', '"s":"ETH"'),
      book('snapshot', 1, 1, [['1', '1']], [['2', '1']], ',"cts":"soon"'),
      '{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["1"]],"a":[],"u":1}}',
      '{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":{},"a":[],"u":1}}',
      '{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1,"data":null}',
    ];
    for (const f of bad) expect(adapter.parse(f, seen), f).toBe(FrameKind.MALFORMED);
    expect(seen.trades).toHaveLength(0);
    expect(seen.quotes).toHaveLength(0);
    expect(adapter.error).toMatch(/^bybit: /);
  });

  it('never throws over 20,000 mutated frames, and whatever it hands on is well-formed', () => {
    const adapter = new BybitAdapter(['BTCUSDT', 'BTCUSD', 'LTCUSDT'], ['trades', 'quotes']);
    const corpus = [...REAL, ...RESERIALIZED, ...DOC, ...CONTROL.filter((c) => c.frame !== undefined).map((c) => c.frame!)];
    const rng = new Prng(0xb7b1);
    const check = callbackHandler({
      trade(symbol, ts, price, size, side, id) {
        if (!(symbol >= 0 && ts > 0 && price > 0 && size > 0 && (side === 1 || side === -1) && Number.isSafeInteger(id) && id >= 0)) throw new Error('bad trade');
      },
      quote(symbol, ts, bid, bidSize, ask, askSize) {
        if (!(symbol >= 0 && ts > 0 && bid > 0 && bidSize > 0 && ask > 0 && askSize > 0)) throw new Error('bad quote');
      },
    });
    const kinds = new Set<number>();
    for (let n = 0; n < 20_000; n++) {
      const frame = rng.pick(corpus);
      const i = rng.int(0, frame.length - 1);
      const mutated =
        rng.int(0, 2) === 0
          ? frame.slice(0, i)
          : frame.slice(0, i) + rng.pick(['"', '0', '.', '-', ',', '}', ']', '[', 'x', ' ']) + frame.slice(i + rng.int(0, 1));
      kinds.add(adapter.parse(mutated, check));
    }
    expect([...kinds].every((k) => k >= FrameKind.DATA && k <= FrameKind.MALFORMED)).toBe(true);
    expect(kinds.has(FrameKind.DATA) && kinds.has(FrameKind.MALFORMED)).toBe(true);
  });
});

// ── over a real socket ──────────────────────────────────────────────────────

/** The same adapter with a 40 ms client ping, so heartbeats can be watched. */
class FastPingBybit extends BybitAdapter {
  override readonly heartbeat = { intervalMs: 40, text: '{"op":"ping"}' };
}
/** The same adapter without its client ping. */
class SilentBybit extends BybitAdapter {
  override readonly heartbeat = undefined;
}

describe('Bybit adapter over a real socket (FeedConnection ↔ fake Bybit)', () => {
  let fake: FakeBybit | undefined;
  let conn: FeedConnection | undefined;
  afterEach(async () => {
    conn?.stop();
    await fake?.stop();
    conn = undefined;
    fake = undefined;
  });

  async function connect(adapter: BybitAdapter, options: ConstructorParameters<typeof FakeBybit>[0] = {}) {
    fake = new FakeBybit(options);
    const url = await fake.start();
    const seen = recorder();
    const errors: string[] = [];
    conn = new FeedConnection(adapter, url, seen, { onError: (m) => errors.push(m) }, { backoffBaseMs: 10, random: () => 0.5 });
    conn.start();
    return { fake, conn, seen, errors };
  }

  it('subscribes 25 topics in requests of at most 10, each acknowledged', async () => {
    const symbols = Array.from({ length: 25 }, (_, i) => `S${i}USDT`);
    const { fake, conn, errors } = await connect(new BybitAdapter(symbols, ['trades']));
    await until(() => fake.requests('subscribe').length === 3 && conn.pendingAcks.size === 0, 3_000, 'three acknowledged requests');
    expect(fake.requests('subscribe').map((r) => r.msg.args!.length)).toEqual([10, 10, 5]);
    expect(fake.requests('subscribe').map((r) => r.msg.req_id)).toEqual(['1', '2', '3']);
    expect(fake.subscriptions()).toEqual([symbols.map((s) => `publicTrade.${s}`)]);
    expect(errors).toEqual([]);
  });

  it('reports a refused subscription and keeps the connection and the other subscriptions', async () => {
    const symbols = Array.from({ length: 12 }, (_, i) => (i === 3 ? 'BADUSDT' : `S${i}USDT`));
    const { fake, conn, errors } = await connect(new BybitAdapter(symbols, ['trades']), { rejectTopic: (t) => t.includes('BADUSDT') });
    await until(() => fake.requests('subscribe').length === 2 && conn.pendingAcks.size === 0, 3_000, 'both requests answered');
    expect(errors).toEqual(['bybit refused subscribe: Invalid topic: publicTrade.BADUSDT']);
    expect(fake.subscriptions()).toEqual([['publicTrade.S10USDT', 'publicTrade.S11USDT']]);
    expect(fake.connectionCount).toBe(1);
    expect(conn.reconnects).toBe(0);
  });

  it('pings on its own and ignores the pongs; without pings the idle cut-off closes it', async () => {
    const { fake, conn, errors } = await connect(new FastPingBybit(['BTCUSDT'], ['trades']), { idleTimeoutMs: 300 });
    await until(() => fake.pongs >= 12, 3_000, 'a dozen pongs');
    expect(fake.connectionCount).toBe(1); // 12 × 40 ms > the 300 ms idle limit: the pings kept it open
    expect(conn.parseErrors).toBe(0);
    expect(conn.reconnects).toBe(0);
    expect(errors).toEqual([]);
    conn.stop();
    await fake.stop();

    const silent = await connect(new SilentBybit(['BTCUSDT'], ['trades']), { idleTimeoutMs: 300 });
    await until(() => silent.fake.connectionCount >= 2, 3_000, 'the idle cut-off and a reconnect');
    expect(silent.fake.requests('ping')).toHaveLength(0);
    expect(silent.errors.some((e) => e.startsWith('connection closed (1000'))).toBe(true);
  });

  it('reconnects after the server closes the connection and subscribes again', async () => {
    const { fake, conn, seen } = await connect(new BybitAdapter(['BTCUSDT'], ['trades', 'quotes']));
    await until(() => fake.subscriptions()[0]?.length === 2 && conn.pendingAcks.size === 0, 3_000, 'the first subscription');
    fake.publish('publicTrade.BTCUSDT', REAL[0]!);
    await until(() => seen.trades.length === 6, 3_000, 'trades on the first connection');

    expect(fake.dropConnections(1001)).toBe(1);
    await until(() => fake.requests('subscribe').length === 2 && conn.pendingAcks.size === 0 && fake.connections === 1, 3_000, 're-subscription');
    expect(conn.reconnects).toBe(1);
    expect(fake.requests('subscribe').map((r) => [r.client, r.msg.args])).toEqual([
      [1, ['publicTrade.BTCUSDT', 'orderbook.1.BTCUSDT']],
      [2, ['publicTrade.BTCUSDT', 'orderbook.1.BTCUSDT']],
    ]);
    fake.publish('publicTrade.BTCUSDT', SPOT_SELLS);
    await until(() => seen.trades.length === 10, 3_000, 'trades on the second connection');
    expect(seen.trades.slice(6).every((t) => t.side === -1)).toBe(true);
  });

  it('counts malformed frames without dropping the connection', async () => {
    const { fake, conn, seen, errors } = await connect(new BybitAdapter(['BTCUSDT'], ['trades']));
    await until(() => conn.pendingAcks.size === 0 && fake.subscriptions()[0]?.length === 1, 3_000, 'the subscription');
    fake.sendRaw('garbage');
    fake.sendRaw('{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1735689653900,"data":[{"T":"x"}]}');
    fake.publish('publicTrade.BTCUSDT', REAL[0]!);
    await until(() => seen.trades.length === 6, 3_000, 'the trades after the garbage');
    expect(conn.parseErrors).toBe(2);
    expect(errors).toEqual(['bybit: not JSON', 'bybit: bad trade fields']);
    expect(fake.connectionCount).toBe(1);
    expect(conn.reconnects).toBe(0);
  });

  it('delivers the recorded trades and quotes through the handler with their values', async () => {
    const { fake, conn, seen } = await connect(new BybitAdapter(['BTCUSDT'], ['trades', 'quotes']));
    await until(() => conn.pendingAcks.size === 0 && fake.subscriptions()[0]?.length === 2, 3_000, 'the subscription');
    for (const f of [...REAL, SPOT_SELLS]) fake.publish('publicTrade.BTCUSDT', f);
    for (const f of RESERIALIZED.filter((l) => l.startsWith('{"topic":"orderbook.1.BTCUSDT","ts"'))) fake.publish('orderbook.1.BTCUSDT', f);
    await until(() => seen.trades.length === 59 && seen.quotes.length === 2, 3_000, 'every trade and quote');
    expect(seen.trades[0]).toEqual({ symbol: 0, ts: 1735689653898, price: 93611.04, size: 0.000725, side: 1, id: bybitTradeId('2290000000587387108') });
    expect(seen.trades[54]).toEqual({ symbol: 0, ts: 1735689654137, price: 93590.8, size: 0.003, side: 1, id: bybitTradeId('e4d6fd71-45ca-51c3-929d-2cc870aab152') });
    expect(seen.trades[55]).toMatchObject({ ts: 1680652847524, price: 28165.38, size: 0.041732, side: -1 });
    expect(seen.quotes[1]).toEqual({ symbol: 0, ts: 1680652806615, bid: 28165.07, bidSize: 0.166754, ask: 28165.08, askSize: 0.996816 });
    expect(conn.parseErrors).toBe(0);
  });
});
