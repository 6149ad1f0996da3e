/**
 * The Coinbase Exchange adapter: against the recorded frames in
 * ../shared/fixtures/coinbase, then over a real loopback socket with
 * FeedConnection and the fake venue of test/support/fake-coinbase.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameKind, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { CoinbaseAdapter, coinbaseCapabilities } from '../../src/exchanges/coinbase.ts';
import { FeedConnection } from '../../src/feed/connection.ts';
import { until } from '../support/until.ts';
import { coinbaseFrames, FakeCoinbase } from '../support/fake-coinbase.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';
import { recorder, type RecordedTrade as Trade } from '../support/recorder.ts';

const lines = (file: string) =>
  readFileSync(path.join(FIXTURES_DIR, 'coinbase', file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');

/** Every product of frames.jsonl. */
const PRODUCTS = ['SKL-USD', 'SKL-BTC', 'BAND-GBP', 'NMR-EUR', 'BAND-BTC', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR', 'SKL-GBP', 'BTC-USD'];
const at = (product: string) => PRODUCTS.indexOf(product);


interface RawTrade {
  type: string;
  trade_id: number;
  side: string;
  size: string;
  price: string;
  product_id: string;
  time: string;
}

/** What a recorded match must become, computed straight from its JSON. */
function expectedTrade(frame: string, symbols: readonly string[]): Trade {
  const d = JSON.parse(frame) as RawTrade;
  return {
    symbol: symbols.indexOf(d.product_id),
    ts: Date.parse(d.time),
    price: Number(d.price),
    size: Number(d.size),
    side: d.side === 'sell' ? 1 : -1, // the maker sold: a buyer took it
    id: d.trade_id,
  };
}

const isTrade = (f: string) => f.startsWith('{"type":"match"') || f.startsWith('{"type":"last_match"');

describe('Coinbase adapter: recorded frames', () => {
  const frames = coinbaseFrames();

  it('parses every recorded match, last_match and ticker; the acks are ACKs; nothing else', () => {
    const adapter = new CoinbaseAdapter(PRODUCTS, ['trades', 'quotes']);
    const seen = recorder();
    const kinds = new Map<FrameKind, number>();
    for (const f of frames) {
      const k = adapter.parse(f, seen);
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    expect(Object.fromEntries(kinds)).toEqual({ [FrameKind.DATA]: 216, [FrameKind.ACK]: 3 });
    expect(seen.trades).toHaveLength(108);
    expect(seen.quotes).toHaveLength(108);
    expect(seen.trades).toEqual(frames.filter(isTrade).map((f) => expectedTrade(f, PRODUCTS)));
    expect(new Set(seen.trades.map((t) => t.symbol)).size).toBe(PRODUCTS.length);
  });

  it('normalizes recorded values exactly, aggressor = opposite of the maker side', () => {
    const adapter = new CoinbaseAdapter(PRODUCTS, ['trades', 'quotes']);
    const one = (f: string) => {
      const seen = recorder();
      expect(adapter.parse(f, seen), f).toBe(FrameKind.DATA);
      return seen.trades[0] ?? seen.quotes[0];
    };
    const find = (needle: string) => frames.find((f) => f.includes(needle))!;
    // last_match on subscribe, maker side "sell" → aggressor buy.
    expect(one(find('"type":"last_match","trade_id":881613,'))).toEqual({
      symbol: at('BAND-GBP'), ts: Date.UTC(2021, 3, 17, 16, 43, 30, 244), price: 14.7775, size: 0.04, side: 1, id: 881613,
    });
    // A live match, maker "sell" → +1; microseconds 494392 truncated to 494 ms.
    expect(one(find('"trade_id":923575,"maker_order_id"'))).toEqual({
      symbol: at('DASH-BTC'), ts: Date.UTC(2021, 3, 17, 16, 44, 6, 494), price: 0.00619947, size: 0.017, side: 1, id: 923575,
    });
    // Maker "buy" → the seller was the aggressor.
    expect(one(find('"trade_id":1568317,"maker_order_id"'))).toEqual({
      symbol: at('SKL-USD'), ts: Date.UTC(2021, 3, 17, 16, 44, 6, 642), price: 0.7902, size: 355, side: -1, id: 1568317,
    });
    // crypto-msg-parser's literal (line 218).
    expect(one(find('"trade_id":147587438'))).toEqual({
      symbol: at('BTC-USD'), ts: Date.UTC(2021, 2, 21, 3, 47, 27, 112), price: 57786.82, size: 0.00031874, side: 1, id: 147587438,
    });
    // Quotes: best bid/ask with the trade's time; no sizes in 2021 → NaN.
    expect(one(find('"type":"ticker","sequence":333938798,'))).toEqual({
      symbol: at('BAND-GBP'), ts: Date.UTC(2021, 3, 17, 16, 43, 30, 244), bid: 14.755, bidSize: NaN, ask: 14.806, askSize: NaN,
    });
    expect(one(find('"sequence":38332655422'))).toEqual({
      symbol: at('BTC-USD'), ts: Date.UTC(2022, 5, 2, 9, 20, 54, 127), bid: 29940.9, bidSize: NaN, ask: 29940.91, askSize: NaN,
    });
    // Sizes when present (tardis recording, re-serialized: 2022-12 ticker).
    const withSizes = lines('frames_reserialized.jsonl').find((f) => f.includes('best_bid_size'))!;
    expect(one(withSizes)).toEqual({
      symbol: at('BTC-USD'), ts: Date.UTC(2022, 11, 1, 0, 0, 0, 122), bid: 17165.15, bidSize: 0.6154089, ask: 17167.76, askSize: 0.18528568,
    });
  });

  it('the maker-side reading agrees with the ticker (taker side) of the same trade, on every recorded pair', () => {
    const adapter = new CoinbaseAdapter(PRODUCTS, ['trades', 'quotes']);
    const takerSide = new Map<string, string>();
    for (const f of frames) {
      const d = JSON.parse(f) as { type: string; product_id: string; trade_id: number; side: string };
      if (d.type === 'ticker') takerSide.set(`${d.product_id}/${d.trade_id}`, d.side);
    }
    let checked = 0;
    for (const f of frames.filter(isTrade)) {
      const d = JSON.parse(f) as RawTrade;
      const taker = takerSide.get(`${d.product_id}/${d.trade_id}`);
      if (taker === undefined) continue;
      const seen = recorder();
      adapter.parse(f, seen);
      expect(seen.trades[0]!.side, f).toBe(taker === 'buy' ? 1 : -1);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('reads times like Date.parse does for every recorded frame, and trade ids increase per product', () => {
    const adapter = new CoinbaseAdapter(PRODUCTS, ['trades', 'quotes']);
    const lastId = new Map<number, number>();
    for (const f of frames) {
      const d = JSON.parse(f) as { time?: string };
      const seen = recorder();
      adapter.parse(f, seen);
      const got = seen.trades[0] ?? seen.quotes[0];
      if (got === undefined) continue;
      expect(got.ts, f).toBe(Date.parse(d.time!));
      const t = seen.trades[0];
      if (t !== undefined) {
        expect(t.id).toBeGreaterThan(lastId.get(t.symbol) ?? -1);
        lastId.set(t.symbol, t.id);
      }
    }
    expect(coinbaseCapabilities.tradeIdOrder).toBe('increasing');
  });

  it('ignores other products, heartbeats and other channels', () => {
    const adapter = new CoinbaseAdapter(['skl-usd'], ['trades', 'quotes']); // any case in, native out
    const seen = recorder();
    for (const f of frames) {
      const k = adapter.parse(f, seen);
      if (f.includes('"product_id":"SKL-USD"')) expect(k).toBe(FrameKind.DATA);
      else expect(k, f).toBe(f.startsWith('{"type":"subscriptions"') ? FrameKind.ACK : FrameKind.IGNORED);
    }
    const skl = frames.filter((f) => f.includes('"product_id":"SKL-USD"')).length;
    expect(skl).toBe(53 + 52 + 1); // tickers, matches, the last_match
    expect(seen.trades.length + seen.quotes.length).toBe(skl);
    expect(new Set(seen.trades.map((t) => t.symbol))).toEqual(new Set([0]));
    const heartbeat = lines('control.jsonl')
      .map((l) => JSON.parse(l) as { dir: string; frame?: string })
      .find((c) => c.dir === 'recv' && c.frame?.includes('"type":"heartbeat"'))!.frame!;
    expect(new CoinbaseAdapter(['BTC-USD'], ['trades']).parse(heartbeat, seen)).toBe(FrameKind.IGNORED);
    // level2 snapshots and updates (tardis recording), and channels tickwire does not use.
    for (const f of lines('frames_reserialized.jsonl').filter((l) => /"type":"(snapshot|l2update)"/.test(l))) {
      expect(new CoinbaseAdapter(['BTC-USD', 'BTC-EUR', 'ETH-USD', 'YFI-USD', 'BAT-USDC'], ['trades', 'quotes']).parse(f, seen), f).toBe(FrameKind.IGNORED);
    }
    for (const f of ['{"type":"status","products":[],"currencies":[]}', '{"type":"received","product_id":"BTC-USD"}', '{"type":"done","product_id":"BTC-USD"}']) {
      expect(adapter.parse(f, seen), f).toBe(FrameKind.IGNORED);
    }
    expect(seen.trades.length + seen.quotes.length).toBe(skl);
  });

  it('builds one subscribe in the documented object form, with one heartbeat product; acks answer it in order', () => {
    const adapter = new CoinbaseAdapter(['btc-usd', 'ETH-usd'], ['trades', 'quotes']);
    expect(adapter.connectUrl('wss://ws-feed.exchange.coinbase.com')).toBe('wss://ws-feed.exchange.coinbase.com');
    let id = 7;
    expect(adapter.subscribeRequests(() => id++)).toEqual([
      {
        id: 7,
        text:
          '{"type":"subscribe","channels":[{"name":"matches","product_ids":["BTC-USD","ETH-USD"]},' +
          '{"name":"ticker","product_ids":["BTC-USD","ETH-USD"]},{"name":"heartbeat","product_ids":["BTC-USD"]}]}',
      },
    ]);
    const acks = frames.filter((f) => f.startsWith('{"type":"subscriptions"'));
    expect(adapter.parse(acks[0]!, recorder())).toBe(FrameKind.ACK);
    expect(adapter.ackId).toBe(7);
    expect(adapter.parse(acks[1]!, recorder())).toBe(FrameKind.ACK); // nothing left waiting
    expect(adapter.ackId).toBeNaN();
    const tradesOnly = JSON.parse(new CoinbaseAdapter(['BTC-USD'], ['trades']).subscribeRequests(() => 1)[0]!.text);
    expect(tradesOnly.channels.map((c: { name: string }) => c.name)).toEqual(['matches', 'heartbeat']);
    expect(new CoinbaseAdapter([], ['trades']).subscribeRequests(() => 1)).toEqual([]);
  });

  it('the recorded error replies are ERRORs answering the waiting request, with the reason', () => {
    const errors = lines('control.jsonl')
      .map((l) => JSON.parse(l) as { dir: string; frame?: string })
      .filter((c) => c.dir === 'recv' && c.frame?.includes('"type":"error"'))
      .map((c) => c.frame!);
    expect(errors).toHaveLength(2);
    const adapter = new CoinbaseAdapter(['GIBBERISH-USD'], ['trades']);
    let id = 40;
    for (const e of errors) {
      const [request] = adapter.subscribeRequests(() => id++);
      expect(adapter.parse(e, recorder())).toBe(FrameKind.ERROR);
      expect(adapter.ackId).toBe(request!.id);
      expect(adapter.error).toContain(JSON.parse(e).reason);
    }
    expect(adapter.error).toBe('coinbase: Failed to subscribe: You need to specify at least one product ID for channel heartbeat');
    expect(adapter.parse(errors[0]!, recorder())).toBe(FrameKind.ERROR);
    expect(adapter.ackId).toBeNaN();
  });

  it('malformed frames are MALFORMED and never throw', () => {
    const adapter = new CoinbaseAdapter(PRODUCTS, ['trades', 'quotes']);
    const seen = recorder();
    const match = frames.find((f) => f.includes('"trade_id":923575,"maker_order_id"'))!;
    const ticker = frames.find((f) => f.includes('"type":"ticker","sequence":333938798,'))!;
    const bad = [
      '',
      'not json',
      '[]',
      'null',
      '42',
      '"match"',
      '{}',
      '{"type":5}',
      match.slice(0, 60),
      ticker.slice(0, ticker.length - 1),
      match.replace('"price":"0.00619947"', '"price":"abc"'),
      match.replace('"price":"0.00619947"', '"price":"-0.00619947"'),
      match.replace('"price":"0.00619947"', '"price":0.00619947'),
      match.replace('"price":"0.00619947"', '"price":"0x10"'),
      match.replace('"price":"0.00619947"', '"price":"Infinity"'),
      match.replace('"size":"0.017"', '"size":"0"'),
      match.replace('"size":"0.017"', '"size":" 0.017"'),
      match.replace('"trade_id":923575', '"trade_id":"923575"'),
      match.replace('"trade_id":923575', '"trade_id":923575.5'),
      match.replace('"side":"sell"', '"side":"up"'),
      match.replace('"side":"sell",', ''),
      match.replace('"time":"2021-04-17T16:44:06.494392Z"', '"time":"yesterday"'),
      match.replace('"time":"2021-04-17T16:44:06.494392Z"', '"time":"2021-02-30T16:44:06.494392Z"'),
      match.replace('"time":"2021-04-17T16:44:06.494392Z"', '"time":"2021-04-17T16:44:06.494392+01:00"'),
      match.replace('"time":"2021-04-17T16:44:06.494392Z"', '"time":"0001-01-01T00:00:00.000000Z"'),
      match.replace('"time":"2021-04-17T16:44:06.494392Z"', '"time":1618677846494'),
      match.replace('"product_id":"DASH-BTC"', '"product_id":5'),
      match.replace('"product_id":"DASH-BTC",', ''),
      ticker.replace('"best_bid":"14.7550"', '"best_bid":""'),
      ticker.replace('"best_ask":"14.8060",', ''),
      ticker.replace('"best_bid":"14.7550"', '"best_bid":"14.7550","best_bid_size":"x"'),
      ticker.replace('"time":"2021-04-17T16:43:30.244075Z"', '"time":"2021-04-17"'),
      '{"type":"subscriptions","channels":{}}',
    ];
    for (const f of bad) {
      expect(adapter.parse(f, seen), f).toBe(FrameKind.MALFORMED);
      expect(adapter.error).toMatch(/^coinbase: /);
    }
    expect(seen.trades).toHaveLength(0);
    expect(seen.quotes).toHaveLength(0);
  });

  it('garbled recorded frames (seeded) never throw, and whatever they yield is valid', () => {
    const adapter = new CoinbaseAdapter(PRODUCTS, ['trades', 'quotes']);
    const rng = new Prng(20210417);
    const seen = recorder();
    const junk = ['"', '{', '}', ',', ':', '-', '.', 'e', '0', '9', ' ', '\\', 'null', '[', ']'];
    for (let n = 0; n < 3000; n++) {
      let f = rng.pick(frames);
      const edits = rng.int(1, 4);
      for (let e = 0; e < edits; e++) {
        const i = rng.int(0, f.length - 1);
        const op = rng.int(0, 2);
        if (op === 0) f = f.slice(0, i); // truncate
        else if (op === 1) f = f.slice(0, i) + rng.pick(junk) + f.slice(i + 1); // replace
        else f = f.slice(0, i) + f.slice(i + rng.int(1, 20)); // delete a run
      }
      expect(() => adapter.parse(f, seen)).not.toThrow();
    }
    for (const t of seen.trades) {
      expect(Number.isFinite(t.ts) && t.ts > 0 && t.price > 0 && t.size > 0 && Number.isSafeInteger(t.id) && Math.abs(t.side) === 1).toBe(true);
      expect(t.symbol >= 0 && t.symbol < PRODUCTS.length).toBe(true);
    }
    for (const q of seen.quotes) {
      expect(q.bid > 0 && q.ask > 0 && q.symbol >= 0 && q.symbol < PRODUCTS.length).toBe(true);
      expect(Number.isNaN(q.ts) || q.ts > 0).toBe(true);
    }
  });
});

describe('Coinbase over a real socket (fake venue + FeedConnection)', () => {
  let fake: FakeCoinbase | undefined;
  let conn: FeedConnection | undefined;
  afterEach(async () => {
    conn?.stop();
    conn = undefined;
    await fake?.close();
    fake = undefined;
  });

  /** Start `adapter` against `venue` and wait until it is subscribed and acked. */
  async function connect(venue: FakeCoinbase, adapter: CoinbaseAdapter, handler: FeedHandler) {
    conn = new FeedConnection(adapter, venue.url, handler, {}, { backoffBaseMs: 10, random: () => 0.5 });
    conn.start();
    await until(() => venue.received.length > 0 && conn!.pendingAcks.size === 0, 3_000, 'the subscription');
    return conn;
  }

  it('subscribes within the 5 s window, is acked, answers pings, and delivers the recorded trades and quotes with their values', async () => {
    fake = await new FakeCoinbase({ subscribeDeadlineMs: 400, pingIntervalMs: 50 }).start();
    const symbols = ['SKL-USD', 'DASH-BTC'];
    const seen = recorder();
    const c = await connect(fake, new CoinbaseAdapter(symbols, ['trades', 'quotes']), seen);
    expect(JSON.parse(fake.received[0]!)).toEqual({
      type: 'subscribe',
      channels: [
        { name: 'matches', product_ids: symbols },
        { name: 'ticker', product_ids: symbols },
        { name: 'heartbeat', product_ids: ['SKL-USD'] },
      ],
    });
    const ours = coinbaseFrames().filter((f) => /"product_id":"(SKL-USD|DASH-BTC)"/.test(f));
    for (const f of coinbaseFrames()) fake.publish(f);
    const trades = ours.filter(isTrade);
    const quotes = ours.filter((f) => f.startsWith('{"type":"ticker"'));
    await until(() => seen.trades.length === trades.length && seen.quotes.length === quotes.length, 3_000, 'the recorded frames');
    expect(trades).toHaveLength(69);
    expect(seen.trades).toEqual(trades.map((f) => expectedTrade(f, symbols)));
    // The first: DASH-BTC's last_match (maker sold), 27 s older than the subscription.
    expect(seen.trades[0]).toEqual({ symbol: 1, ts: Date.UTC(2021, 3, 17, 16, 43, 10, 760), price: 0.00619345, size: 0.012, side: 1, id: 923560 });
    expect(seen.quotes.every((q) => q.bid > 0 && q.ask >= q.bid && q.ts > 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 450)); // past the venue's subscribe deadline
    expect(fake.connections).toBe(1);
    expect(fake.pongs).toBeGreaterThanOrEqual(3); // the ws client answers the venue's pings itself
    expect(c.reconnects).toBe(0);
    expect(c.parseErrors).toBe(0);
  });

  it('reports the venue refusing the subscribe, and the request no longer waits', async () => {
    fake = await new FakeCoinbase().start();
    const errors: string[] = [];
    const adapter = new CoinbaseAdapter(['GIBBERISH-USD'], ['trades']);
    conn = new FeedConnection(adapter, fake.url, recorder(), { onError: (m) => errors.push(m) }, { backoffBaseMs: 10 });
    conn.start();
    await until(() => errors.length > 0, 3_000, 'the refusal');
    expect(errors).toEqual(['coinbase: Failed to subscribe: GIBBERISH-USD is not a valid product']);
    expect(adapter.ackId).toBe(1);
    expect(conn.pendingAcks.size).toBe(0);
  });

  it('the heartbeat channel alone keeps a quiet connection from being judged stale', async () => {
    fake = await new FakeCoinbase({ heartbeatIntervalMs: 30 }).start(); // and no WebSocket pings
    const kinds: FrameKind[] = [];
    const errors: string[] = [];
    conn = new FeedConnection(new CoinbaseAdapter(['NU-GBP'], ['trades', 'quotes']), fake.url, recorder(), {
      onFrame: (k) => kinds.push(k),
      onError: (m) => errors.push(m),
    }, { staleAfterMs: 400 });
    conn.start();
    await until(() => fake!.subscribers('heartbeat', 'NU-GBP') === 1, 3_000, 'the heartbeat subscription');
    await new Promise((r) => setTimeout(r, 1_000)); // 2.5 times the staleness limit, no trade at all
    expect(kinds.filter((k) => k === FrameKind.IGNORED).length).toBeGreaterThanOrEqual(8);
    expect(conn.reconnects).toBe(0);
    expect(fake.connections).toBe(1);
    expect(errors).toEqual([]);
  });

  it('a close from the venue: reconnects, subscribes again; the replayed last_match repeats a trade id (dropped downstream)', async () => {
    fake = await new FakeCoinbase().start();
    const seen = recorder();
    const c = await connect(fake, new CoinbaseAdapter(['BAND-BTC'], ['trades']), seen);
    const matches = coinbaseFrames().filter((f) => f.startsWith('{"type":"match"') && f.includes('"product_id":"BAND-BTC"'));
    for (const f of matches.slice(0, 3)) fake.publish(f);
    await until(() => seen.trades.length === 3, 3_000, 'three trades');
    fake.closeAll(1001, 'going away');
    await until(() => fake!.connections === 2 && fake!.subscribers('matches', 'BAND-BTC') === 1 && c.pendingAcks.size === 0, 3_000, 'the new subscription');
    expect(c.reconnects).toBe(1);
    expect(fake.received).toHaveLength(2);
    expect(fake.received[1]).toBe(fake.received[0]);
    await until(() => seen.trades.length === 4, 3_000, 'the last_match');
    expect(seen.trades[3]).toEqual(seen.trades[2]); // same trade id: the aggregator drops it
    fake.publish(matches[3]!);
    await until(() => seen.trades.length === 5, 3_000, 'a live trade after the reconnect');
    expect(seen.trades[4]).toEqual(expectedTrade(matches[3]!, ['BAND-BTC']));
  });

  it('a malformed frame is counted in parseErrors and the connection carries on', async () => {
    fake = await new FakeCoinbase().start();
    const seen = recorder();
    const c = await connect(fake, new CoinbaseAdapter(['SKL-USD'], ['trades']), seen);
    fake.sendRaw('{"type":"match","trade_id":1568268,"maker_order_id":"9b');
    fake.sendRaw('{"type":"match","trade_id":1,"side":"sell","size":"1","price":"NaN","product_id":"SKL-USD","time":"2021-04-17T16:43:00Z"}');
    const match = coinbaseFrames().find((f) => f.startsWith('{"type":"match"') && f.includes('"product_id":"SKL-USD"'))!;
    fake.publish(match);
    await until(() => seen.trades.length === 1, 3_000, 'the trade after the garbage');
    expect(c.parseErrors).toBe(2);
    expect(c.reconnects).toBe(0);
    expect(fake.connections).toBe(1);
    expect(seen.trades[0]).toEqual(expectedTrade(match, ['SKL-USD']));
  });
});
