/** The Binance adapter against the recorded frames in ../shared/fixtures/binance-spot. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { callbackHandler, FrameKind, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../../src/exchanges/binance.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';

const lines = (file: string) =>
  readFileSync(path.join(FIXTURES_DIR, 'binance-spot', file), 'utf8').split('\n').filter((l) => l.trim() !== '');

interface Seen {
  trades: { symbol: number; ts: number; price: number; size: number; side: number; id: number }[];
  quotes: { symbol: number; ts: number; bid: number; bidSize: number; ask: number; askSize: number }[];
}

function recorder(): FeedHandler & Seen {
  const trades: Seen['trades'] = [];
  const quotes: Seen['quotes'] = [];
  return {
    trades,
    quotes,
    ...callbackHandler({
      trade: (symbol, ts, price, size, side, id) => void trades.push({ symbol, ts, price, size, side, id }),
      quote: (symbol, ts, bid, bidSize, ask, askSize) => void quotes.push({ symbol, ts, bid, bidSize, ask, askSize }),
    }),
  };
}

describe('Binance adapter', () => {
  it('parses every recorded BTCUSDT trade with the aggressor side from m', () => {
    const adapter = new BinanceAdapter(['BTCUSDT'], ['trades', 'quotes']);
    const seen = recorder();
    const frames = lines('long_trades.jsonl');
    for (const f of frames) expect(adapter.parse(f, seen)).toBe(FrameKind.DATA);
    expect(seen.trades).toHaveLength(9757);
    expect(seen.trades[0]).toEqual({ symbol: 0, ts: 1723161255342, price: 61837.63, size: 0.02, side: -1, id: 3735683259 });
    const buys = frames.filter((f) => f.includes('"m":false')).length;
    expect(seen.trades.filter((t) => t.side === 1)).toHaveLength(buys);
    expect(seen.trades.filter((t) => t.side === -1)).toHaveLength(9757 - buys);
  });

  it('reads bookTicker quotes (no timestamp on spot) and ignores other streams', () => {
    const adapter = new BinanceAdapter(['BTCUSDT', 'NKNUSDT'], ['trades', 'quotes']);
    const seen = recorder();
    const kinds = new Map<FrameKind, number>();
    for (const f of lines('frames.jsonl')) {
      const k = adapter.parse(f, seen);
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }
    expect(kinds.get(FrameKind.MALFORMED) ?? 0).toBe(0);
    expect(seen.quotes.length).toBeGreaterThan(100);
    for (const q of seen.quotes) {
      expect(Number.isNaN(q.ts)).toBe(true);
      expect(q.bid).toBeGreaterThan(0);
      expect(q.ask).toBeGreaterThanOrEqual(q.bid);
    }
    expect(new Set(seen.quotes.map((q) => q.symbol))).toEqual(new Set([0, 1]));
    expect(seen.trades.length).toBeGreaterThan(0);
  });

  it('builds subscribe requests for the combined endpoint and matches acks by id', () => {
    const adapter = new BinanceAdapter(['BTCUSDT', 'SIM-ETH'], ['trades', 'quotes']);
    expect(adapter.connectUrl('wss://stream.binance.com:9443/')).toBe('wss://stream.binance.com:9443/stream');
    let id = 7;
    const requests = adapter.subscribeRequests(() => id++);
    expect(requests).toEqual([
      { id: 7, text: '{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@bookTicker","sim-eth@trade","sim-eth@bookTicker"],"id":7}' },
    ]);
    expect(adapter.parse('{"result":null,"id":7}', recorder())).toBe(FrameKind.ACK);
    expect(adapter.ackId).toBe(7);
  });

  it('splits many streams into several requests', () => {
    const symbols = Array.from({ length: 150 }, (_, i) => `S${i}USDT`);
    const requests = new BinanceAdapter(symbols, ['trades', 'quotes']).subscribeRequests(() => 1);
    expect(requests.map((r) => JSON.parse(r.text).params.length)).toEqual([200, 100]);
  });

  it('turns the documented error replies into ERROR with the request id', () => {
    const adapter = new BinanceAdapter(['BTCUSDT'], ['trades']);
    const control = lines('control.jsonl').map((l) => JSON.parse(l) as { dir: string; frame?: string });
    const errors = control.filter((c) => c.dir === 'recv' && c.frame?.includes('"code"'));
    expect(errors.length).toBeGreaterThan(3);
    for (const c of errors) expect(adapter.parse(c.frame!, recorder())).toBe(FrameKind.ERROR);
    expect(adapter.parse('{"code": 0, "msg": "Unknown property","id": 1}', recorder())).toBe(FrameKind.ERROR);
    expect(adapter.ackId).toBe(1);
    expect(adapter.error).toContain('Unknown property');
  });

  it('recognises serverShutdown, raw and combined', () => {
    const adapter = new BinanceAdapter(['BTCUSDT'], ['trades']);
    const [raw, combined] = lines('doc_frames.jsonl').filter((l) => l.includes('serverShutdown'));
    expect(adapter.parse(raw!, recorder())).toBe(FrameKind.SHUTDOWN);
    expect(adapter.parse(combined!, recorder())).toBe(FrameKind.SHUTDOWN);
  });

  it('counts malformed frames as MALFORMED and never throws', () => {
    const adapter = new BinanceAdapter(['BTCUSDT'], ['trades', 'quotes']);
    const seen = recorder();
    const bad = [
      '',
      'not json',
      '[1,2,3]',
      'null',
      '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"abc","q":"1","T":1,"m":true}}',
      '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"-5","q":"1","T":1,"m":true}}',
      '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"5","q":"1","T":"x","m":true}}',
      '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":5,"q":"1","T":1,"m":true}}',
      '{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","t":1,"p":"5","q":"1","T":1}}',
      '{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"x","B":"1","a":"2","A":"1"}}',
      '{"stream":"x","data":{"e":"trade"}}',
      '{"weird":true}',
    ];
    for (const f of bad) expect(adapter.parse(f, seen), f).toBe(FrameKind.MALFORMED);
    expect(seen.trades).toHaveLength(0);
    expect(seen.quotes).toHaveLength(0);
  });
});

describe('adapter registry', () => {
  it('the config accepts exactly the exchanges that have an adapter', async () => {
    const { adapterNames } = await import('../../src/exchanges/registry.ts');
    const { KNOWN_EXCHANGES } = await import('../../src/config/exchanges.ts');
    expect([...KNOWN_EXCHANGES].sort()).toEqual(adapterNames().sort());
  });
});
