/**
 * The Binance USDⓈ-M futures adapter against the recorded frames in
 * ../shared/fixtures/binance-usdm, its fast path against its JSON path, then
 * driven by FeedConnection over a real loopback socket to a fake fstream.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callbackHandler, FrameKind, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { BinanceUsdmAdapter, binanceUsdmCapabilities, type BinanceUsdmOptions } from '../../src/exchanges/binance-usdm.ts';
import type { FeedChannel } from '../../src/config/types.ts';
import { ErrorCode, InvalidParameterError } from '../../src/errors.ts';
import { FeedConnection } from '../../src/feed/connection.ts';
import { until } from '../support/until.ts';
import { FakeBinanceUsdm, type FakeBinanceUsdmOptions } from '../support/fake-binance-usdm.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';
import { recorder } from '../support/recorder.ts';

const lines = (dir: string, file: string) =>
  readFileSync(path.join(FIXTURES_DIR, dir, file), 'utf8').split('\n').filter((l) => l.trim() !== '');

const FRAMES = lines('binance-usdm', 'frames.jsonl');
/** hftbacktest's 2024-08-08 BTCUSDT recording: @trade, @bookTicker, @depth@0ms. */
const R1 = FRAMES.slice(0, 400);
const RESERIALIZED = lines('binance-usdm', 'frames_reserialized.jsonl');
const TRADE_FRAMES = FRAMES.filter((l) => l.includes('"e":"trade"'));
const AGG_FRAMES = FRAMES.filter((l) => l.includes('"e":"aggTrade"'));
const BOOK_FRAMES = FRAMES.filter((l) => l.includes('"e":"bookTicker"'));
const payload = (frame: string) => JSON.parse(frame).data as Record<string, string | number | boolean>;


describe('Binance USD-M adapter: market data', () => {
  it('reads every recorded @trade frame, the aggressor side from m', () => {
    const adapter = new BinanceUsdmAdapter(['BTCUSDT'], ['trades', 'quotes']);
    const seen = recorder();
    expect(TRADE_FRAMES).toHaveLength(60);
    for (const f of TRADE_FRAMES) expect(adapter.parse(f, seen), f).toBe(FrameKind.DATA);
    expect(seen.trades).toHaveLength(60);
    expect(seen.trades[0]).toEqual({ symbol: 0, ts: 1723161256322, price: 61800.3, size: 0.006, side: 1, id: 5266583935 });
    expect(seen.trades[58]).toEqual({ symbol: 0, ts: 1723161258061, price: 61800.1, size: 0.008, side: 1, id: 5266583993 });
    expect(seen.trades[59]).toEqual({ symbol: 0, ts: 1676160600269, price: 21845.1, size: 0.001, side: 1, id: 3280342045 });
    const sells = TRADE_FRAMES.filter((f) => f.includes('"m":true')).length;
    expect(sells).toBe(41);
    expect(seen.trades.filter((t) => t.side === -1)).toHaveLength(sells);
    expect(seen.trades.filter((t) => t.side === 1)).toHaveLength(60 - sells);
    // The 2024 recording's ids are contiguous: one frame per fill.
    expect(seen.trades.slice(0, 59).every((t, i) => t.id === 5266583935 + i)).toBe(true);
  });

  it('hands on MARKET fills only: insurance-fund fills are ignored, frames older than X count as MARKET', () => {
    const adapter = new BinanceUsdmAdapter(['BTCUSDT', 'ETHUSDT'], ['trades']);
    const seen = recorder();
    const [noX, insurance, market] = RESERIALIZED.filter((l) => l.includes('"e":"trade"'));
    expect(adapter.parse(insurance!, seen)).toBe(FrameKind.IGNORED);
    expect(adapter.parse(noX!, seen)).toBe(FrameKind.DATA);
    expect(adapter.parse(market!, seen)).toBe(FrameKind.DATA);
    expect(seen.trades).toEqual([
      { symbol: 0, ts: 1574381164086, price: 7627.6, size: 0.044, side: 1, id: 10934580 },
      { symbol: 0, ts: 1596240000519, price: 11343.67, size: 0.467, side: -1, id: 173525189 },
    ]);
  });

  it('reads every recorded @aggTrade frame when asked for aggTrade, and ignores @trade then', () => {
    const symbols = ['SUSHIUSDT', 'AKROUSDT', 'KEEPUSDT', 'CTKUSDT', 'BTCUSDT', 'GASUSDT', 'BTCUSDT_210625'];
    const adapter = new BinanceUsdmAdapter(symbols, ['trades'], { trades: 'aggTrade' });
    const seen = recorder();
    expect(AGG_FRAMES).toHaveLength(95);
    for (const f of AGG_FRAMES) expect(adapter.parse(f, seen), f).toBe(FrameKind.DATA);
    expect(seen.trades).toHaveLength(95);
    expect(seen.trades[0]).toEqual({ symbol: 3, ts: 1626992741421, price: 1.011, size: 10, side: 1, id: 16599292 });
    expect(seen.trades[1]).toEqual({ symbol: 1, ts: 1626992742134, price: 0.01731, size: 312, side: -1, id: 14888302 });
    const gas = seen.trades.find((t) => t.symbol === 5)!; // one aggregate of four fills (f..l = 15146241..15146244)
    expect(gas).toEqual({ symbol: 5, ts: 1698796799890, price: 6.279, size: 141.2, side: 1, id: 3863267 });
    for (let i = 0; i < 95; i++) {
      const d = payload(AGG_FRAMES[i]!);
      expect(seen.trades[i]).toMatchObject({ ts: d['T'], id: d['a'], price: Number(d['p']), size: Number(d['q']), side: d['m'] ? -1 : 1 });
    }
    for (const f of TRADE_FRAMES) expect(adapter.parse(f, seen)).toBe(FrameKind.IGNORED);
    expect(seen.trades).toHaveLength(95);
  });

  it('reads every recorded @bookTicker frame with T as the quote time', () => {
    const symbols = ['BTCUSDT', 'SUSHIUSDT', 'AKROUSDT', 'KEEPUSDT', 'CTKUSDT', 'ETHUSDT', 'BALUSDT'];
    const adapter = new BinanceUsdmAdapter(symbols, ['trades', 'quotes']);
    const seen = recorder();
    expect(BOOK_FRAMES).toHaveLength(918);
    for (const f of BOOK_FRAMES) expect(adapter.parse(f, seen), f).toBe(FrameKind.DATA);
    expect(seen.quotes).toHaveLength(918);
    expect(seen.quotes[0]).toEqual({ symbol: 0, ts: 1723161256313, bid: 61800.2, bidSize: 2.507, ask: 61800.3, askSize: 2.51 });
    BOOK_FRAMES.forEach((f, i) => {
      const d = payload(f);
      expect(seen.quotes[i]).toEqual({ symbol: symbols.indexOf(d['s'] as string), ts: d['T'], bid: Number(d['b']), bidSize: Number(d['B']), ask: Number(d['a']), askSize: Number(d['A']) });
    });
  });

  it('ignores other streams and other symbols; nothing in the corpus is malformed', () => {
    const adapter = new BinanceUsdmAdapter(['BTCUSDT', 'SUSHIUSDT'], ['trades', 'quotes']);
    const kinds = new Map<FrameKind, number>();
    for (const f of FRAMES) {
      const k = adapter.parse(f, recorder());
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    expect(kinds.get(FrameKind.MALFORMED) ?? 0).toBe(0);
    const other = FRAMES.filter((f) => /"e":"(depthUpdate|kline|markPriceUpdate|24hrTicker)"/.test(f) || f.includes('"stream":"!ticker@arr"'));
    expect(other.length).toBeGreaterThan(800);
    for (const f of other) expect(adapter.parse(f, recorder()), f).toBe(FrameKind.IGNORED);
    const force = RESERIALIZED.find((l) => l.includes('forceOrder'))!;
    expect(adapter.parse(force, recorder())).toBe(FrameKind.IGNORED);

    const stranger = new BinanceUsdmAdapter(['XRPUSDT'], ['trades', 'quotes']);
    const seen = recorder();
    for (const f of [...TRADE_FRAMES, ...BOOK_FRAMES]) expect(stranger.parse(f, seen)).toBe(FrameKind.IGNORED);
    expect(seen.trades.length + seen.quotes.length).toBe(0);
  });
});

describe('Binance USD-M adapter: protocol', () => {
  it('acknowledges by id, and ignores the answer to its own keepalive', () => {
    const adapter = new BinanceUsdmAdapter(['BTCUSDT'], ['trades']);
    expect(adapter.parse('{"result":null,"id":7}', recorder())).toBe(FrameKind.ACK);
    expect(adapter.ackId).toBe(7);
    expect(adapter.heartbeat).toEqual({ intervalMs: 30_000, text: '{"method":"GET_PROPERTY","params":["combined"],"id":0}' });
    expect(adapter.parse('{"result":true,"id":0}', recorder())).toBe(FrameKind.IGNORED);
    expect(adapter.ackId).toBe(7);
  });

  it('turns the documented error replies into ERROR with the request id', () => {
    const adapter = new BinanceUsdmAdapter(['BTCUSDT'], ['trades']);
    const documented = lines('binance-spot', 'control.jsonl')
      .map((l) => JSON.parse(l) as { dir: string; frame?: string })
      .filter((c) => c.dir === 'recv' && c.frame?.includes('"code"'))
      .map((c) => c.frame!);
    expect(documented.length).toBeGreaterThan(5); // the same table on futures (D1 "Error Messages")
    for (const f of documented) expect(adapter.parse(f, recorder()), f).toBe(FrameKind.ERROR);
    expect(adapter.parse('{"code": 0, "msg": "Unknown property","id": 1}', recorder())).toBe(FrameKind.ERROR);
    expect([adapter.ackId, adapter.error]).toEqual([1, 'binance-usdm error 0: Unknown property']);
    expect(adapter.parse('{"error":{"code":4,"msg":"Too many subscriptions"},"id":19}', recorder())).toBe(FrameKind.ERROR);
    expect([adapter.ackId, adapter.error]).toEqual([19, 'binance-usdm error 4: Too many subscriptions']);
  });

  it('routes @trade and @bookTicker to /public, @aggTrade to /market', () => {
    const both = new BinanceUsdmAdapter(['BTCUSDT'], ['trades', 'quotes']);
    expect(both.route).toBe('public');
    expect(both.connectUrl(binanceUsdmCapabilities.defaultUrl)).toBe('wss://fstream.binance.com/public/stream');
    expect(both.connectUrl('wss://fstream.binance.com/')).toBe('wss://fstream.binance.com/public/stream');
    expect(both.connectUrl('wss://fstream.binance.com/market')).toBe('wss://fstream.binance.com/public/stream');
    expect(both.connectUrl('ws://127.0.0.1:9000')).toBe('ws://127.0.0.1:9000/public/stream');
    const agg = new BinanceUsdmAdapter(['BTCUSDT'], ['trades'], { trades: 'aggTrade' });
    expect(agg.route).toBe('market');
    expect(agg.connectUrl(binanceUsdmCapabilities.defaultUrl)).toBe('wss://fstream.binance.com/market/stream');
    expect(new BinanceUsdmAdapter(['BTCUSDT'], ['quotes'], { trades: 'aggTrade' }).route).toBe('public');
  });

  it('refuses aggTrade together with quotes up front, saying what to use instead', () => {
    let thrown: unknown;
    try {
      new BinanceUsdmAdapter(['BTCUSDT'], ['trades', 'quotes'], { trades: 'aggTrade' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidParameterError);
    expect((thrown as InvalidParameterError).code).toBe(ErrorCode.INVALID_PARAMETER);
    expect((thrown as Error).message).toContain('/market');
    expect((thrown as Error).message).toContain("trades: 'trade'");
    expect(() => new BinanceUsdmAdapter(['BTCUSDT'], ['trades'], { trades: 'agg' as never })).toThrow(InvalidParameterError);
  });

  it('builds SUBSCRIBE requests for the combined endpoint, 200 streams at most per request', () => {
    let id = 7;
    const requests = new BinanceUsdmAdapter(['BTCUSDT', 'btcusdt_210625'], ['trades', 'quotes']).subscribeRequests(() => id++);
    expect(requests).toEqual([
      { id: 7, text: '{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@bookTicker","btcusdt_210625@trade","btcusdt_210625@bookTicker"],"id":7}' },
    ]);
    const agg = new BinanceUsdmAdapter(['CTKUSDT'], ['trades'], { trades: 'aggTrade' }).subscribeRequests(() => 1);
    expect(JSON.parse(agg[0]!.text).params).toEqual(['ctkusdt@aggTrade']);
    const symbols = Array.from({ length: 150 }, (_, i) => `S${i}USDT`);
    const many = new BinanceUsdmAdapter(symbols, ['trades', 'quotes']).subscribeRequests(() => 1);
    expect(many.map((r) => JSON.parse(r.text).params.length)).toEqual([200, 100]);
  });

  it('declares its capabilities', () => {
    expect(binanceUsdmCapabilities).toEqual({
      name: 'binance-usdm',
      defaultUrl: 'wss://fstream.binance.com/public',
      channels: ['trades', 'quotes'],
      tradeIdOrder: 'increasing',
      maxStreamsPerConnection: 200,
      maxMessagesPerSecond: 10,
      maxConnectionAgeMs: 86_400_000,
    });
  });

  it('counts malformed frames as MALFORMED and never throws', () => {
    const adapter = new BinanceUsdmAdapter(['BTCUSDT'], ['trades', 'quotes']);
    const seen = recorder();
    const t = (d: string) => `{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":1,"s":"BTCUSDT","t":1,${d}}}`;
    const q = (d: string) => `{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT",${d},"E":1}}`;
    const bad = [
      '',
      'not json',
      '[1,2,3]',
      'null',
      '{"weird":true}',
      '{"stream":"x","data":5}',
      '{"stream":"x","data":{"s":"BTCUSDT"}}',
      t('"p":"abc","q":"1","X":"MARKET","m":true'),
      t('"p":"-5","q":"1","X":"MARKET","m":true'),
      t('"p":"1e3","q":"1","X":"MARKET","m":true'),
      t('"p":5,"q":"1","X":"MARKET","m":true'),
      t('"p":"5","q":"0","X":"MARKET","m":true'),
      t('"p":"5","q":"1","X":"MARKET"'),
      t('"p":"5","q":"1","X":1,"m":true'),
      t('"p":"5","q":"1","X":"MARKET","m":"true"'),
      '{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":"1","s":"BTCUSDT","t":1,"p":"5","q":"1","X":"MARKET","m":true}}',
      '{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":1,"s":"BTCUSDT","t":-1,"p":"5","q":"1","X":"MARKET","m":true}}',
      '{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":1,"s":5,"t":1,"p":"5","q":"1","X":"MARKET","m":true}}',
      q('"b":"x","B":"1","a":"2","A":"1","T":1'),
      q('"b":"1","B":"1","a":"0","A":"1","T":1'),
      q('"b":"1","B":"1","a":"2","A":"1"'), // futures bookTicker always has T
      q('"b":"1","B":"-1","a":"2","A":"1","T":1'),
    ];
    for (const f of bad) expect(adapter.parse(f, seen), f).toBe(FrameKind.MALFORMED);
    expect(seen.trades).toHaveLength(0);
    expect(seen.quotes).toHaveLength(0);
    const agg = new BinanceUsdmAdapter(['BTCUSDT'], ['trades'], { trades: 'aggTrade' });
    const a = (d: string) => `{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"a":1,"s":"BTCUSDT","p":"1","q":"1",${d},"T":1,"m":false}}`;
    for (const f of [a('"f":5,"l":4'), a('"f":"5","l":5'), a('"f":5')]) expect(agg.parse(f, seen), f).toBe(FrameKind.MALFORMED);
    expect(seen.trades).toHaveLength(0);
  });
});

interface Paths {
  parseFast(frame: string, handler: FeedHandler): number;
  parseJson(frame: string, handler: FeedHandler): number;
}

function calls(): FeedHandler & { calls: unknown[][] } {
  const list: unknown[][] = [];
  return { calls: list, ...callbackHandler({ trade: (...a) => void list.push(['trade', ...a]), quote: (...a) => void list.push(['quote', ...a]) }) };
}

function mutate(rng: Prng, frame: string): string {
  const i = rng.int(0, frame.length - 1);
  switch (rng.int(0, 7)) {
    case 0: return frame.slice(0, i);
    case 1: return frame.slice(0, i) + frame.slice(i + 1);
    case 2: return frame.slice(0, i) + rng.pick(['"', '\\', '.', '-', '0', '9', 'e', ',', '}', ' ', 'x']) + frame.slice(i);
    case 3: return frame.slice(0, i) + rng.pick(['"', '.', '0', '5', 'e', '-', '}']) + frame.slice(i + 1);
    case 4: return frame.replace(/"[pbaq]":"[^"]*"/, (m) => `${m.slice(0, 4)}"${rng.pick(['', '.', '1.', '.5', '-1', '1e3', '00.1', '123456789012345678', '0', 'NaN'])}"`);
    case 5: return frame.replace(/"s":"[^"]*"/, `"s":"${rng.pick(['', 'btcusdt', 'BTCUSDT ', 'ETHUSDT', 'BTC\\u0055SDT', 'BTCUSD'])}"`);
    case 6: return frame.replace(/"(m|X)":[^,}]+/, (m) => `${m.slice(0, 4)}${rng.pick(['1', 'null', '"true"', 'tru', '"ADL"', '"MARKET"', 'false'])}`);
    default: return frame.replace(/"[Tt]":\d+/, (m) => `${m.slice(0, 4)}${rng.pick(['-1', '01', '1.5', '99999999999999999', '"1"', '0'])}`);
  }
}

describe('Binance USD-M fast path', () => {
  const modes: [string[], FeedChannel[], BinanceUsdmOptions][] = [
    [['BTCUSDT', 'SUSHIUSDT', 'ETHUSDT'], ['trades', 'quotes'], {}],
    [['BTCUSDT', 'CTKUSDT'], ['trades'], { trades: 'aggTrade' }],
  ];
  const corpus = [...FRAMES, ...RESERIALIZED];
  /** Mutations where they matter: the frames the fast path reads, and their neighbours. */
  const seeds = [...TRADE_FRAMES, ...BOOK_FRAMES.slice(0, 300), ...AGG_FRAMES, ...RESERIALIZED];

  it('answers every recorded @trade and @bookTicker frame, and never disagrees with JSON.parse over 30,000 mutations', () => {
    const same = (a: unknown[][], b: unknown[][]) => a.length === b.length && a.every((call, i) => call.length === b[i]!.length && call.every((v, k) => Object.is(v, b[i]![k])));
    for (const [symbols, channels, options] of modes) {
      const adapter = new BinanceUsdmAdapter(symbols, channels, options) as unknown as Paths;
      const disagreements: unknown[] = [];
      let answered = 0;
      /** Fast and JSON paths on one frame: a declined fast path must have emitted nothing; an answer must match. */
      const check = (frame: string): void => {
        const fast = calls();
        const json = calls();
        const f = adapter.parseFast(frame, fast);
        const j = adapter.parseJson(frame, json);
        if (f < 0 ? fast.calls.length > 0 : f !== j || !same(fast.calls, json.calls)) disagreements.push({ frame, fast: [f, fast.calls], json: [j, json.calls] });
        if (f >= 0) answered++;
      };
      for (const frame of corpus) check(frame);
      const rng = new Prng(0x05d3);
      for (let n = 0; n < 15_000; n++) check(mutate(rng, rng.pick(seeds)));
      expect(disagreements).toEqual([]);
      if (options.trades === undefined) expect(answered).toBeGreaterThan(2_000); // the mutations left many frames valid
    }
    const adapter = new BinanceUsdmAdapter(['BTCUSDT'], ['trades', 'quotes']) as unknown as Paths;
    const answered = R1.filter((f) => adapter.parseFast(f, calls()) === FrameKind.DATA).length;
    expect(answered).toBe(59 + 302); // every @trade and @bookTicker frame of the 2024 recording
  });
});

// ── over a real socket ──────────────────────────────────────────────────────

/** The same adapter with a 60 ms keepalive, so it can be watched. */
class FastKeepaliveUsdm extends BinanceUsdmAdapter {
  override readonly heartbeat = { intervalMs: 60, text: '{"method":"GET_PROPERTY","params":["combined"],"id":0}' };
}
/** The same adapter without its keepalive. */
class SilentUsdm extends BinanceUsdmAdapter {
  override readonly heartbeat = undefined;
}

describe('Binance USD-M adapter over a real socket (FeedConnection ↔ fake fstream)', () => {
  let fake: FakeBinanceUsdm | undefined;
  let conn: FeedConnection | undefined;
  afterEach(async () => {
    conn?.stop();
    await fake?.stop();
    conn = undefined;
    fake = undefined;
  });

  async function connect(adapter: BinanceUsdmAdapter, options: FakeBinanceUsdmOptions = {}, staleAfterMs?: number) {
    fake = new FakeBinanceUsdm(options);
    const url = await fake.start();
    const seen = recorder();
    const errors: string[] = [];
    conn = new FeedConnection(adapter, url, seen, { onError: (m) => errors.push(m) }, { backoffBaseMs: 10, random: () => 0.5, ...(staleAfterMs === undefined ? {} : { staleAfterMs }) });
    conn.start();
    return { fake, conn, seen, errors };
  }

  const subscribed = (f: FakeBinanceUsdm, c: FeedConnection, requests: number) => () =>
    f.requests('SUBSCRIBE').length === requests && c.pendingAcks.size === 0 && f.connections === 1;

  it('subscribes on /public/stream and sees the ack', async () => {
    const { fake, conn, errors } = await connect(new BinanceUsdmAdapter(['BTCUSDT', 'ETHUSDT'], ['trades', 'quotes']));
    await until(subscribed(fake, conn, 1), 3_000, 'the acknowledged subscription');
    expect(fake.paths).toEqual(['/public/stream']);
    expect(fake.subscriptions()).toEqual([['btcusdt@trade', 'btcusdt@bookTicker', 'ethusdt@trade', 'ethusdt@bookTicker']]);
    expect(fake.requests('SUBSCRIBE')[0]!.msg.id).toBe(1);
    expect(errors).toEqual([]);
  });

  it('reports a refused SUBSCRIBE and keeps the connection', async () => {
    const { fake, conn, errors } = await connect(new BinanceUsdmAdapter(['BTCUSDT', 'ETHUSDT'], ['trades', 'quotes']), { maxStreamsPerConnection: 3 });
    await until(() => errors.length > 0, 3_000, 'the refusal');
    expect(errors).toEqual(['binance-usdm error 2: Invalid request: too many parameters']);
    expect(conn.pendingAcks.size).toBe(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(fake.connectionCount).toBe(1);
    expect(conn.reconnects).toBe(0);
  });

  it('answers the server pings, which keep a quiet connection alive', async () => {
    const { fake, conn, errors } = await connect(new SilentUsdm(['BTCUSDT'], ['trades']), { pingIntervalMs: 40 }, 250);
    await until(() => fake.pongs >= 12, 3_000, 'a dozen pongs');
    expect(fake.pings - fake.pongs).toBeLessThanOrEqual(1); // every ping answered (the last may be in flight)
    expect(fake.connectionCount).toBe(1); // ~500 ms without a frame, yet not stale: pings count
    expect(conn.reconnects).toBe(0);
    expect(errors).toEqual([]);
  });

  it('its keepalive keeps a quiet connection from being judged stale; without it, it is', async () => {
    // Binance pings every 3 minutes (the fake's default): far beyond a 250 ms staleness limit.
    // (60 ms keepalives are 16 messages a second: the fake's limit of 10 is raised for this test.)
    const { fake, conn, errors } = await connect(new FastKeepaliveUsdm(['BTCUSDT'], ['trades']), { maxIncomingPerSecond: 100 }, 300);
    await until(() => fake.requests('GET_PROPERTY').length >= 10, 3_000, 'ten keepalives');
    expect(fake.connectionCount).toBe(1); // 600 ms without market data or pings
    expect(conn.reconnects).toBe(0);
    expect(conn.parseErrors).toBe(0); // the answers {"result":true,"id":0} are ignored
    expect(conn.pendingAcks.size).toBe(0);
    expect(errors).toEqual([]);
    conn.stop();
    await fake.stop();

    const silent = await connect(new SilentUsdm(['BTCUSDT'], ['trades']), {}, 300);
    await until(() => silent.fake.connectionCount >= 2, 3_000, 'a stale reconnect');
    expect(silent.errors).toContain('no frame or ping for 300 ms');
  });

  it('reconnects after the server closes the connection and subscribes again', async () => {
    const { fake, conn, seen } = await connect(new BinanceUsdmAdapter(['BTCUSDT'], ['trades', 'quotes']));
    await until(subscribed(fake, conn, 1), 3_000, 'the first subscription');
    fake.publishFrame(TRADE_FRAMES[0]!);
    await until(() => seen.trades.length === 1, 3_000, 'a trade on the first connection');

    expect(fake.dropConnections(1001)).toBe(1);
    await until(subscribed(fake, conn, 2), 3_000, 're-subscription');
    expect(conn.reconnects).toBe(1);
    expect(fake.paths).toEqual(['/public/stream', '/public/stream']);
    expect(fake.requests('SUBSCRIBE').map((r) => [r.client, r.msg.params])).toEqual([
      [1, ['btcusdt@trade', 'btcusdt@bookTicker']],
      [2, ['btcusdt@trade', 'btcusdt@bookTicker']],
    ]);
    fake.publishFrame(TRADE_FRAMES[1]!);
    await until(() => seen.trades.length === 2, 3_000, 'a trade on the second connection');
    expect(seen.trades[1]).toEqual({ symbol: 0, ts: 1723161256344, price: 61800.3, size: 0.199, side: 1, id: 5266583936 });
  });

  it('counts malformed frames without dropping the connection', async () => {
    const { fake, conn, seen, errors } = await connect(new BinanceUsdmAdapter(['BTCUSDT'], ['trades']));
    await until(subscribed(fake, conn, 1), 3_000, 'the subscription');
    fake.sendRaw('garbage');
    fake.sendRaw('{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"T":1,"s":"BTCUSDT","t":1,"p":"x","q":"1","X":"MARKET","m":true}}');
    fake.publishFrame(TRADE_FRAMES[0]!);
    await until(() => seen.trades.length === 1, 3_000, 'the trade after the garbage');
    expect(conn.parseErrors).toBe(2);
    expect(errors).toEqual(['binance-usdm: not JSON', 'binance-usdm: bad trade fields']);
    expect(fake.connectionCount).toBe(1);
    expect(conn.reconnects).toBe(0);
  });

  it('delivers the recorded 2024 trades and book tickers verbatim through the handler', async () => {
    const { fake, conn, seen } = await connect(new BinanceUsdmAdapter(['BTCUSDT'], ['trades', 'quotes']));
    await until(subscribed(fake, conn, 1), 3_000, 'the subscription');
    let sent = 0;
    for (const f of R1) sent += fake.publishFrame(f);
    expect(sent).toBe(59 + 302); // depth was not subscribed
    await until(() => seen.trades.length === 59 && seen.quotes.length === 302, 3_000, 'every trade and quote');
    expect(seen.trades[0]).toEqual({ symbol: 0, ts: 1723161256322, price: 61800.3, size: 0.006, side: 1, id: 5266583935 });
    expect(seen.trades[58]).toEqual({ symbol: 0, ts: 1723161258061, price: 61800.1, size: 0.008, side: 1, id: 5266583993 });
    expect(seen.trades.filter((t) => t.side === -1)).toHaveLength(R1.filter((f) => f.includes('@trade') && f.includes('"m":true')).length);
    expect(seen.quotes[0]).toEqual({ symbol: 0, ts: 1723161256313, bid: 61800.2, bidSize: 2.507, ask: 61800.3, askSize: 2.51 });
    expect(conn.parseErrors).toBe(0);
  });

  it('takes aggregate trades on /market', async () => {
    const { fake, conn, seen } = await connect(new BinanceUsdmAdapter(['CTKUSDT'], ['trades'], { trades: 'aggTrade' }));
    await until(subscribed(fake, conn, 1), 3_000, 'the subscription');
    expect(fake.paths).toEqual(['/market/stream']);
    const ctk = AGG_FRAMES.filter((f) => f.startsWith('{"stream":"ctkusdt@aggTrade"'));
    for (const f of ctk) fake.publishFrame(f);
    await until(() => seen.trades.length === ctk.length, 3_000, 'the aggregate trades');
    expect(seen.trades[0]).toEqual({ symbol: 0, ts: 1626992741421, price: 1.011, size: 10, side: 1, id: 16599292 });
  });
});
