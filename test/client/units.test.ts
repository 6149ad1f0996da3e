/** Client SDK building blocks without sockets: backoff, URLs and token placement, channel names and patterns, seq bookkeeping, bar de-duplication. */
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/client/backoff.ts';
import { BarDedup } from '../../src/client/bar-dedup.ts';
import { checkQuery, toBarJson } from '../../src/client/candles.ts';
import { ChannelState } from '../../src/client/channels.ts';
import { channelParts, parseLooseWildcard as parsePattern, looseWildcardMatches as patternMatches } from '../../src/wire/channels.ts';
import { endpoints, streamUrl, tokenPlacement } from '../../src/client/socket.ts';
import { InvalidParameterError } from '../../src/errors.ts';
import type { BarJson } from '../../src/wire/messages.ts';
import { makeBar } from '../support/fake-tickwire.ts';
import { mulberry32 } from '../support/prng.ts';

const MIN = 60_000;
const T0 = Date.UTC(2024, 7, 9, 0, 0);

function bar(openTime: number, overrides: Partial<BarJson> = {}): BarJson {
  const { firstTradeId: _f, lastTradeId: _l, ...json } = makeBar(openTime, MIN, 100);
  return { ...json, ...overrides } as BarJson;
}

describe('Backoff', () => {
  it('doubles from initialMs up to maxMs, each delay between half and all of its ceiling', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 0);
    expect([1, 2, 3, 4, 5, 6].map(() => low.next())).toEqual([50, 100, 200, 400, 500, 500]);
    const high = new Backoff({ initialMs: 100, maxMs: 1000 }, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(() => high.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(high.attempt).toBe(6);
  });

  it('spreads delays with the random source and starts over after reset()', () => {
    const b = new Backoff({ initialMs: 200, maxMs: 5000 }, mulberry32(7));
    const delays = Array.from({ length: 200 }, () => {
      b.reset();
      return b.next();
    });
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThanOrEqual(200);
    expect(new Set(delays).size).toBeGreaterThan(50);
    for (let i = 0; i < 100; i++) b.next(); // far past any doubling: no overflow
    expect(b.next()).toBeLessThanOrEqual(5000);
  });

  it('rejects nonsense with the option name', () => {
    expect(() => new Backoff({ initialMs: -1 })).toThrow(/reconnect.initialMs/);
    expect(() => new Backoff({ initialMs: 500, maxMs: 100 })).toThrow(/reconnect.maxMs/);
    expect(() => new Backoff({ initialMs: Number.NaN })).toThrow(InvalidParameterError);
  });
});

describe('endpoints, stream URL and where the token goes', () => {
  it('derives the HTTP and WebSocket bases from either form, keeping a path prefix', () => {
    expect(endpoints('http://127.0.0.1:8080')).toEqual({ http: 'http://127.0.0.1:8080', ws: 'ws://127.0.0.1:8080' });
    expect(endpoints('https://md.example.com/tickwire/')).toEqual({ http: 'https://md.example.com/tickwire', ws: 'wss://md.example.com/tickwire' });
    expect(endpoints('ws://localhost:9000')).toEqual({ http: 'http://localhost:9000', ws: 'ws://localhost:9000' });
    expect(() => endpoints('localhost:8080')).toThrow(/url/);
    expect(() => endpoints('http://h/?a=1')).toThrow(/without query/);
  });

  it('builds /v1/stream with format=fbs and a query token only when asked', () => {
    const base = endpoints('http://h:1');
    expect(streamUrl(base, 'json', undefined)).toBe('ws://h:1/v1/stream');
    expect(streamUrl(base, 'fbs', 'a b&c')).toBe('ws://h:1/v1/stream?format=fbs&token=a+b%26c');
  });

  it('puts the token in a header when possible, else a subprotocol when it fits one, else the query', () => {
    expect(tokenPlacement(undefined, true)).toBe('none');
    expect(tokenPlacement('tw_abc', true)).toBe('header');
    expect(tokenPlacement('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig-_x', false)).toBe('protocol');
    expect(tokenPlacement('has space', false)).toBe('query');
    expect(tokenPlacement('a/b=', false)).toBe('query');
  });
});

describe('channel names and wildcard patterns', () => {
  it('splits names; symbols may hold colons; rooms have no segments', () => {
    expect(channelParts('bars:kraken:XBT/USD:1m')).toEqual({ kind: 'bars', exchange: 'kraken', symbol: 'XBT/USD', timeframe: '1m' });
    expect(channelParts('trades:x:A:B')).toEqual({ kind: 'trades', exchange: 'x', symbol: 'A:B', timeframe: '' });
    expect(channelParts('bars:x:A:B:5m')?.symbol).toBe('A:B');
    expect(channelParts('alerts')?.kind).toBe('alerts');
    for (const bad of ['trades', 'trades:binance', 'trades::BTC', 'candles:x:y', 'bars:x:1m', 'bars:x:y:']) expect(channelParts(bad)).toBeUndefined();
  });

  it('a wildcard matches channels that appear later, symbols compared loosely, timeframes by alias', () => {
    const bySymbol = parsePattern('bars:*:BTC-USDT:M1')!;
    expect(bySymbol).toMatchObject({ kind: 'bars', exchange: null, timeframe: '1m' });
    expect(patternMatches(bySymbol, 'bars:okx:BTCUSDT:1m')).toBe(true);
    expect(patternMatches(bySymbol, 'bars:okx:BTCUSDT:5m')).toBe(false);
    expect(patternMatches(bySymbol, 'bars:okx:ETHUSDT:1m')).toBe(false);
    const byExchange = parsePattern('trades:binance:*')!;
    expect(patternMatches(byExchange, 'trades:binance:NEWCOIN')).toBe(true);
    expect(patternMatches(byExchange, 'trades:bybit:NEWCOIN')).toBe(false);
    expect(patternMatches(byExchange, 'quotes:binance:NEWCOIN')).toBe(false);
    expect(parsePattern('trades:binance:BTCUSDT')).toBeUndefined();
  });
});

describe('ChannelState.advance', () => {
  it('accepts the first seq, drops duplicates, counts holes', () => {
    const st = new ChannelState('trades:b:X', channelParts('trades:b:X')!, 1);
    expect(st.advance(41)).toBe('next');
    expect(st.advance(42)).toBe('next');
    expect(st.advance(42)).toBe('dup');
    expect(st.advance(7)).toBe('dup');
    expect(st.advance(46)).toBe(3); // 43..45 skipped
    expect(st.lastSeq).toBe(46);
    expect(st.bars).toBeUndefined();
    expect(new ChannelState('bars:b:X:5m', channelParts('bars:b:X:5m')!, 10).tfMs).toBe(5 * MIN);
  });
});

describe('BarDedup', () => {
  it('passes a new or changed bar, drops one delivered unchanged (every field counts, not only the revision)', () => {
    const d = new BarDedup(10);
    const forming = { closed: false };
    expect(d.accept(bar(T0, forming))).toBe(true);
    expect(d.accept(bar(T0, forming))).toBe(false);
    expect(d.accept(bar(T0, { ...forming, close: 555 }))).toBe(true); // a forming bar moves without a new revision
    expect(d.accept(bar(T0, { ...forming, close: 555 }))).toBe(false);
    expect(d.accept(bar(T0, { close: 555, closed: true }))).toBe(true);
    expect(d.accept(bar(T0, { close: 555, closed: true, revision: 1 }))).toBe(true);
    expect(d.accept(bar(T0, { close: 555, closed: true, revision: 1, gapped: true }))).toBe(true);
    expect(d.accept(bar(T0, { close: 555, closed: true, revision: 1, gapped: true }))).toBe(false);
    expect(d.accept(bar(T0 + MIN))).toBe(true);
    expect(d.newestOpenTime).toBe(T0 + MIN);
  });

  it('keeps the newest `capacity` open times; once it let older ones go, anything older is not news', () => {
    const d = new BarDedup(3);
    for (let i = 0; i < 5; i++) expect(d.accept(bar(T0 + i * MIN))).toBe(true);
    expect(d.size).toBe(3);
    expect(d.accept(bar(T0 + 2 * MIN))).toBe(false); // kept, unchanged
    expect(d.accept(bar(T0 + 1 * MIN, { close: 1 }))).toBe(false); // older than the window
    expect(d.accept(bar(T0 + 2 * MIN, { close: 1 }))).toBe(true); // in the window, changed
    const fresh = new BarDedup(3);
    expect(fresh.accept(bar(T0 + 5 * MIN))).toBe(true);
    expect(fresh.accept(bar(T0))).toBe(true); // nothing let go yet: an older bar is news
  });
});

describe('candle query and bar shape checks', () => {
  it('validates the query, naming the field', () => {
    expect(checkQuery({})).toEqual({ limit: 500, start: undefined, end: undefined, closed: false });
    expect(() => checkQuery({ limit: 0 })).toThrow(/limit/);
    expect(() => checkQuery({ limit: 5001 })).toThrow(/limit/);
    expect(() => checkQuery({ start: -1 })).toThrow(/start/);
    expect(() => checkQuery({ start: 10, end: 5 })).toThrow(/at most end/);
    expect(() => checkQuery({ closed: 'yes' as never })).toThrow(/closed/);
  });

  it('turns a library Bar into the JSON bar and refuses malformed ones', () => {
    const b = makeBar(T0, MIN, 100, true, { gapped: true });
    const json = toBarJson(b, 0);
    expect(json).not.toHaveProperty('firstTradeId');
    expect(json).toMatchObject({ openTime: T0, gapped: true, closed: true });
    expect(() => toBarJson({ ...b, close: '1' }, 3)).toThrow(/bar 3: close/);
    expect(() => toBarJson({ ...b, vwap: Number.NaN }, 0)).toThrow(/vwap/);
    expect(() => toBarJson(null, 0)).toThrow(/not an object/);
  });
});
