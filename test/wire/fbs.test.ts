/**
 * FlatBuffers wire format: every message round-trips through FbsEncoder and
 * decodeMessage to exactly what JSON.parse gives for the JSON the server
 * sends for the same input (src/server/json.ts producers where they exist,
 * the stream's JSON.stringify shapes for the control messages), over edge
 * values: null and NaN trade ids, null vwap/spread, gapped and backfilled
 * bars, seqs up to 2^53 - 1, unicode, -0, every id form.
 */
import { describe, expect, it } from 'vitest';
import type { QuoteEvent, TradeEvent } from '../../src/model/events.ts';
import { NO_SLOT, type BarVisitor } from '../../src/buffers/bar-store.ts';
import { TickwireError } from '../../src/errors.ts';
import { BAR_FIELDS, writeBar, type Bar } from '../../src/model/records.ts';
import {
  BarTextVisitor,
  barJson,
  barMessage,
  gapMessage,
  prepareChannel,
  quoteMessage,
  snapshotHead,
  tradeMessage,
} from '../../src/wire/json.ts';
import { FbsEncoder, decodeCandles, decodeMessage, type Id } from '../../src/wire/fbs.ts';
import type { StreamMessage } from '../../src/wire/messages.ts';
import * as tickwire from '../../src/index.ts';
import * as internal from '../../src/internal.ts';
import { Prng } from '../support/prng.ts';

const MAX_SEQ = Number.MAX_SAFE_INTEGER; // 2^53 - 1
const T0 = Date.UTC(2024, 7, 9, 0, 0);

/** Every number anywhere in `v`, with its path: none may be NaN or infinite (JSON has neither). */
function nonFiniteNumbers(v: unknown, path = '$'): string[] {
  if (typeof v === 'number') return Number.isFinite(v) ? [] : [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => nonFiniteNumbers(x, `${path}[${i}]`));
  if (v !== null && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => nonFiniteNumbers(x, `${path}.${k}`));
  return [];
}

/** Decode and check against the JSON text: deep equality (Object.is on numbers, so -0 ≠ 0) and no NaN. */
function expectSame(bytes: Uint8Array, jsonText: string): StreamMessage {
  const decoded = decodeMessage(bytes);
  expect(decoded).toStrictEqual(JSON.parse(jsonText));
  expect(nonFiniteNumbers(decoded)).toEqual([]);
  return decoded;
}

function trade(fields: Partial<TradeEvent> = {}): TradeEvent {
  return {
    exchange: 'binance', symbol: 'BTCUSDT', tradeId: 3735683259, price: 61837.63, size: 0.02, side: 'sell',
    ts: 1723161255342, recvTs: 1723161255343.12, ...fields,
  };
}

function quote(fields: Partial<QuoteEvent> = {}): QuoteEvent {
  return {
    exchange: 'binance', symbol: 'BTCUSDT', bidPrice: 61837.62, bidSize: 1.5, askPrice: 61837.63, askSize: 0.25,
    ts: 1723161255400, recvTs: 1723161255401.5, ...fields,
  };
}

function bar(fields: Partial<Bar> = {}): Bar {
  return {
    openTime: T0, closeTime: T0 + 59_999, open: 100, high: 102.5, low: 99.25, close: 101, volume: 2.5,
    quoteVolume: 251.3, buyVolume: 1.5, sellVolume: 1, trades: 7, firstTradeId: 10, lastTradeId: 16, vwap: 100.52,
    spread: 0.01, closed: true, revision: 0, ...fields,
  };
}

/** Bars as float64 records, and a visit function over them like `tw.visitBars(..., v, ...)`. */
function records(bars: readonly Bar[]): { buf: Float64Array; visit: (v: BarVisitor) => number } {
  const buf = new Float64Array(Math.max(1, bars.length) * BAR_FIELDS);
  bars.forEach((b, i) => writeBar(b, buf, i * BAR_FIELDS));
  const visit = (v: BarVisitor): number => {
    v.begin();
    for (let i = 0; i < bars.length; i++) v.onBar(buf, i * BAR_FIELDS, NO_SLOT, 0);
    return bars.length;
  };
  return { buf, visit };
}

/** The JSON text the server sends for a snapshot of these bar records. */
function snapshotJson(channel: string, seq: number, visit: (v: BarVisitor) => number): string {
  const v = new BarTextVisitor(barJson);
  visit(v);
  return snapshotHead(channel, seq) + v.text + ']}';
}

/** Varied bars: null vwap and spread, gapped, backfilled, forming, amended, zero volume. */
function variedBars(n: number): Bar[] {
  const out: Bar[] = [];
  for (let i = 0; i < n; i++) {
    out.push(bar({
      openTime: T0 + i * 60_000,
      closeTime: T0 + i * 60_000 + 59_999,
      open: 100 + i * 0.01,
      close: 100 + i * 0.013,
      vwap: i % 5 === 0 ? null : 100.5 + i / 7,
      spread: i % 3 === 0 ? null : 0.01 * (i % 11),
      volume: i % 5 === 0 ? 0 : 1 / (i + 1),
      closed: i < n - 1,
      revision: i % 7 === 0 ? 2 : 0,
      ...(i % 4 === 1 ? { gapped: true as const } : {}),
      ...(i % 6 === 2 ? { source: 'backfill' as const } : {}),
    }));
  }
  return out;
}

describe('trade', () => {
  const enc = new FbsEncoder();
  const cases: [string, string, Partial<TradeEvent>][] = [
    ['a sell with a trade id', 'trades:binance:BTCUSDT', {}],
    ['a buy', 'trades:binance:BTCUSDT', { side: 'buy' }],
    ['unknown side', 'trades:binance:BTCUSDT', { side: 'unknown' }],
    ['null trade id', 'trades:binance:BTCUSDT', { tradeId: null }],
    ['NaN trade id (JSON writes null)', 'trades:binance:BTCUSDT', { tradeId: NaN }],
    ['trade id 0 and 2^53 - 1', 'trades:binance:BTCUSDT', { tradeId: 0, ts: MAX_SEQ }],
    ['largest trade id', 'trades:binance:BTCUSDT', { tradeId: MAX_SEQ }],
    ['-0 price and size (JSON prints 0)', 'trades:binance:BTCUSDT', { price: -0, size: -0 }],
    ['tiny and huge numbers', 'trades:binance:BTCUSDT', { price: 1.2345678901234567e-12, size: 1.7976931348623157e308 }],
    ['non-finite price and size (JSON writes null)', 'trades:binance:BTCUSDT', { price: NaN, size: Infinity }],
    ['unicode symbol and channel', 'trades:kraken:€/ÄÖ/🚀', { exchange: 'kraken', symbol: '€/ÄÖ/🚀' }],
    ['a symbol with a colon', 'trades:kraken:A:B', { exchange: 'kraken', symbol: 'A:B' }],
    ['empty strings', 'trades::', { exchange: '', symbol: '' }],
  ];
  for (const [name, channel, fields] of cases) {
    it(name, () => {
      const e = trade(fields);
      const format = prepareChannel('trades', channel, e.exchange, e.symbol);
      for (const seq of [1, 42, MAX_SEQ]) expectSame(enc.trade(channel, seq, e), tradeMessage(format, seq, e));
    });
  }

  it('seq 0 and 2^53 - 1 keep their exact value', () => {
    expect(decodeMessage(enc.trade('trades:binance:BTCUSDT', 0, trade()))).toMatchObject({ seq: 0 });
    expect(decodeMessage(enc.trade('trades:binance:BTCUSDT', MAX_SEQ, trade()))).toMatchObject({ seq: 9007199254740991 });
  });
});

describe('quote', () => {
  const enc = new FbsEncoder();
  const cases: [string, Partial<QuoteEvent>][] = [
    ['a quote', {}],
    ['zero sizes', { bidSize: 0, askSize: 0 }],
    ['NaN and -Infinity (JSON writes null)', { bidPrice: NaN, askSize: -Infinity }],
    ['-0 (JSON prints 0)', { bidPrice: -0 }],
    ['largest safe times', { ts: MAX_SEQ, recvTs: MAX_SEQ }],
  ];
  for (const [name, fields] of cases) {
    it(name, () => {
      const e = quote(fields);
      const channel = `quotes:${e.exchange}:${e.symbol}`;
      const format = prepareChannel('quotes', channel, e.exchange, e.symbol);
      for (const seq of [1, 7, MAX_SEQ]) expectSame(enc.quote(channel, seq, e), quoteMessage(format, seq, e));
    });
  }
});

describe('bar', () => {
  const enc = new FbsEncoder();
  const cases: [string, Partial<Bar>][] = [
    ['a closed bar', {}],
    ['a forming bar', { closed: false }],
    ['no volume: null vwap', { vwap: null, volume: 0, quoteVolume: 0, buyVolume: 0, sellVolume: 0, trades: 0 }],
    ['no quotes: null spread', { spread: null }],
    ['gapped', { gapped: true }],
    ['backfilled', { source: 'backfill' }],
    ['gapped, backfilled, amended', { gapped: true, source: 'backfill', revision: 3 }],
    ['null trade ids (not on the wire in either form)', { firstTradeId: null, lastTradeId: null }],
    ['-0 open and NaN high (JSON prints 0 and null)', { open: -0, high: NaN }],
    ['largest safe open time', { openTime: MAX_SEQ - 59_999, closeTime: MAX_SEQ }],
  ];
  for (const [name, fields] of cases) {
    it(name, () => {
      const b = bar(fields);
      for (const [channel, ex, sym, tf] of [
        ['bars:binance:BTCUSDT:1m', 'binance', 'BTCUSDT', '1m'],
        ['bars:kraken:XBT/USD:1h', 'kraken', 'XBT/USD', '1h'],
        ['bars:kraken:A:B:1w', 'kraken', 'A:B', '1w'],
        ['bars:x:Ω≈ç√🚀:5m', 'x', 'Ω≈ç√🚀', '5m'],
      ] as const) {
        const format = prepareChannel('bars', channel, ex, sym, tf);
        expectSame(enc.bar(channel, 43, b), barMessage(format, 43, b));
        expectSame(enc.bar(channel, MAX_SEQ, b), barMessage(format, MAX_SEQ, b));
      }
    });
  }

  it('a channel that is not bars:<exchange>:<symbol>:<tf> is an INVALID_PARAMETER error', () => {
    for (const channel of ['trades:binance:BTCUSDT', 'bars:binance:1m', 'bars::BTCUSDT:1m', 'bars:binance:BTCUSDT:', 'bars']) {
      expect(() => enc.bar(channel, 1, bar()), channel).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
    }
  });
});

describe('snapshot', () => {
  const enc = new FbsEncoder();
  const channel = 'bars:binance:BTCUSDT:1m';

  it('no bars', () => {
    const { visit } = records([]);
    const d = expectSame(enc.snapshot(channel, 0, visit), snapshotJson(channel, 0, visit));
    expect(d).toMatchObject({ type: 'snapshot', bars: [] });
  });

  it('one bar', () => {
    const { visit } = records([bar()]);
    expectSame(enc.snapshot(channel, 41, visit), snapshotJson(channel, 41, visit));
  });

  it('1000 varied bars (scratch space grows), oldest first', () => {
    const { visit } = records(variedBars(1000));
    const d = expectSame(enc.snapshot(channel, MAX_SEQ, visit), snapshotJson(channel, MAX_SEQ, visit));
    expect(d.type === 'snapshot' && d.bars.length).toBe(1000);
    if (d.type === 'snapshot') expect(d.bars[0]!.openTime).toBeLessThan(d.bars[999]!.openTime);
  });

  it("a visit that restarts (seqlock retry) keeps only the last attempt's bars", () => {
    const bars = variedBars(5);
    const { buf, visit } = records(bars);
    const retrying = (v: BarVisitor): number => {
      v.begin();
      v.onBar(buf, 4 * BAR_FIELDS, NO_SLOT, 0); // a torn attempt, discarded
      v.onBar(buf, 3 * BAR_FIELDS, NO_SLOT, 0);
      return visit(v);
    };
    expectSame(enc.snapshot(channel, 9, retrying), snapshotJson(channel, 9, visit));
  });

  it('a visit that throws leaves the encoder usable', () => {
    const failing = (): number => {
      throw new TickwireError('SYMBOL_NOT_FOUND', 'gone');
    };
    expect(() => enc.snapshot(channel, 1, failing)).toThrow('gone');
    const { visit } = records([bar()]);
    expectSame(enc.snapshot(channel, 2, visit), snapshotJson(channel, 2, visit));
  });
});

describe('gap', () => {
  const enc = new FbsEncoder();
  for (const [from, to, reason] of [[50, 90, 'slow_consumer'], [1, MAX_SEQ, 'history'], [MAX_SEQ, MAX_SEQ, 'history']] as const) {
    it(`${from}..${to} ${reason}`, () => {
      const channel = 'trades:binance:BTCUSDT';
      expectSame(enc.gap(channel, from, to, reason), gapMessage(channel, from, to, reason));
    });
  }
});

describe('control messages (the stream sends them with JSON.stringify)', () => {
  const enc = new FbsEncoder();
  const ids: Id[] = [null, 0, 1, -1.5, MAX_SEQ, -MAX_SEQ, 1e-300, '', '1', 'abc', 'ünïcødé 🚀 "quoted" \\ \n', 'x'.repeat(256)];

  for (const id of ids) {
    it(`id ${JSON.stringify(id)}`, () => {
      const channels = ['trades:binance:BTCUSDT', 'bars:kraken:XBT/USD:1m', 'system', 'alerts', 'quotes:x:€'];
      expectSame(enc.subscribed(id, channels, 'c0ffee-epoch'), JSON.stringify({ type: 'subscribed', id, channels, epoch: 'c0ffee-epoch' }));
      expectSame(enc.subscribed(id, [], 'e'), JSON.stringify({ type: 'subscribed', id, channels: [], epoch: 'e' }));
      expectSame(enc.unsubscribed(id, channels), JSON.stringify({ type: 'unsubscribed', id, channels }));
      expectSame(enc.unsubscribed(id, []), JSON.stringify({ type: 'unsubscribed', id, channels: [] }));
      const message = 'unknown channel "trades:x:y": exchange x is not configured — ünïcødé 🚀';
      expectSame(enc.error(id, 'UNKNOWN_CHANNEL', message), JSON.stringify({ type: 'error', id, code: 'UNKNOWN_CHANNEL', message }));
      expectSame(enc.pong(id), JSON.stringify({ type: 'pong', id }));
    });
  }

  it('a non-finite numeric id is null, as JSON.stringify writes it', () => {
    for (const id of [NaN, Infinity]) {
      expectSame(enc.pong(id), JSON.stringify({ type: 'pong', id }));
      expect(decodeMessage(enc.pong(id))).toEqual({ type: 'pong', id: null });
    }
  });

  it('a -0 id is 0, as JSON.stringify writes it', () => {
    expectSame(enc.pong(-0), JSON.stringify({ type: 'pong', id: -0 }));
  });

  it('1000 channels in one subscribed reply', () => {
    const channels = Array.from({ length: 1000 }, (_, i) => `trades:binance:SYM${i}USDT`);
    expectSame(enc.subscribed(7, channels, 'e'), JSON.stringify({ type: 'subscribed', id: 7, channels, epoch: 'e' }));
  });
});

describe('rooms', () => {
  const enc = new FbsEncoder();

  it('system, with and without a last error', () => {
    for (const lastError of [null, '', 'connect ECONNREFUSED 127.0.0.1:9443 — ünïcødé']) {
      const m = { exchange: 'binance', state: 'reconnecting' as const, reconnects: 3, restarts: 0, lastError, ts: T0 + 0.5 };
      expectSame(enc.system(12, m), JSON.stringify({ type: 'system', channel: 'system', seq: 12, ...m }));
    }
    const big = { exchange: 'x', state: 'circuit_open' as const, reconnects: MAX_SEQ, restarts: MAX_SEQ, lastError: null, ts: MAX_SEQ };
    expectSame(enc.system(MAX_SEQ, big), JSON.stringify({ type: 'system', channel: 'system', seq: MAX_SEQ, ...big }));
  });

  it('storage state, every optional text absent, empty and present', () => {
    for (const text of [null, '', 'Commit failed: ENOSPC — ünïcødé']) {
      const m = { source: 'storage' as const, state: 'degraded' as const, reason: text, errno: text, corrupt: text, movedTo: text, ts: T0 };
      expectSame(enc.system(7, m), JSON.stringify({ type: 'system', channel: 'system', seq: 7, ...m }));
    }
    const ok = { source: 'storage' as const, state: 'ok' as const, reason: null, errno: null, corrupt: 'truncated', movedTo: '/d.corrupt-x', ts: T0 };
    expectSame(enc.system(8, ok), JSON.stringify({ type: 'system', channel: 'system', seq: 8, ...ok }));
  });

  it('alert at every level', () => {
    for (const level of ['info', 'warning', 'critical'] as const) {
      const m = { id: 'a-17', level, source: 'rules/price', message: 'BTC ≥ 70 000 🚀', ts: T0 };
      expectSame(enc.alert(5, m), JSON.stringify({ type: 'alert', channel: 'alerts', seq: 5, ...m }));
    }
  });

  it('an alert level outside info, warning, critical is an INVALID_PARAMETER error', () => {
    const m = { id: 'a', level: 'fatal' as never, source: 's', message: 'm', ts: 1 };
    expect(() => enc.alert(1, m)).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETER' }));
  });
});

describe('candles', () => {
  it('decodeCandles equals the JSON answer built the way the HTTP route builds it', () => {
    const enc = new FbsEncoder();
    for (const n of [0, 1, 500, 5000]) {
      const { visit } = records(variedBars(n));
      const v = new BarTextVisitor(barJson);
      const count = visit(v);
      const text = '{"exchange":"binance","symbol":"BTCUSDT","timeframe":"1m","count":' + count + ',"candles":[' + v.text + ']}';
      const decoded = decodeCandles(enc.candles('binance', 'BTCUSDT', '1m', visit));
      expect(decoded).toStrictEqual(JSON.parse(text));
      expect(nonFiniteNumbers(decoded)).toEqual([]);
    }
  });
});

describe('encoder buffer reuse', () => {
  it('a returned view is overwritten by the next call; a copy stays valid', () => {
    const enc = new FbsEncoder(64);
    const first = enc.trade('trades:binance:BTCUSDT', 1, trade());
    const copy = first.slice();
    enc.gap('trades:binance:BTCUSDT', 2, 3, 'slow_consumer');
    expect(decodeMessage(copy)).toMatchObject({ type: 'trade', seq: 1 });
  });

  it('small messages after a large one (grown buffer) and large after small decode correctly', () => {
    const enc = new FbsEncoder(64);
    const channel = 'bars:binance:BTCUSDT:1m';
    const { visit } = records(variedBars(300));
    for (let round = 0; round < 3; round++) {
      expectSame(enc.pong(round), JSON.stringify({ type: 'pong', id: round }));
      expectSame(enc.snapshot(channel, round, visit), snapshotJson(channel, round, visit));
      const e = trade({ tradeId: round });
      expectSame(enc.trade('trades:binance:BTCUSDT', round + 1, e), tradeMessage(prepareChannel('trades', 'trades:binance:BTCUSDT', 'binance', 'BTCUSDT'), round + 1, e));
    }
  });

  it("a live message never exceeds the JSON channel format's maxBytes bound (the stream's backpressure budget)", () => {
    const enc = new FbsEncoder();
    for (const [ex, sym] of [['a', 'b'], ['binance', 'BTCUSDT'], ['x'.repeat(40), '€'.repeat(60)], ['k', 'A:B/C-D']]) {
      const tiny = { exchange: ex!, symbol: sym!, tradeId: 1, price: 1, size: 1, side: 'buy' as const, ts: 1, recvTs: 1 };
      const tc = `trades:${ex}:${sym}`;
      expect(enc.trade(tc, 1, tiny).length + 10).toBeLessThanOrEqual(prepareChannel('trades', tc, ex!, sym!).maxBytes);
      const qc = `quotes:${ex}:${sym}`;
      expect(enc.quote(qc, 1, quote({ exchange: ex!, symbol: sym! })).length + 10).toBeLessThanOrEqual(prepareChannel('quotes', qc, ex!, sym!).maxBytes);
      const bc = `bars:${ex}:${sym}:1m`;
      expect(enc.bar(bc, 1, bar()).length + 10).toBeLessThanOrEqual(prepareChannel('bars', bc, ex!, sym!, '1m').maxBytes);
    }
  });

  it('binary is smaller than JSON for live messages', () => {
    const enc = new FbsEncoder();
    const e = trade();
    const json = tradeMessage(prepareChannel('trades', 'trades:binance:BTCUSDT', 'binance', 'BTCUSDT'), 42, e);
    expect(enc.trade('trades:binance:BTCUSDT', 42, e).length).toBeLessThan(Buffer.byteLength(json));
    const { visit } = records(variedBars(100));
    expect(enc.snapshot('bars:binance:BTCUSDT:1m', 1, visit).length).toBeLessThan(Buffer.byteLength(snapshotJson('bars:binance:BTCUSDT:1m', 1, visit)));
  });
});

describe('prepared live messages (per-channel templates patched in place)', () => {
  it('one channel, many different trades in a row: each decodes to its own values, with and without trade ids', () => {
    const enc = new FbsEncoder();
    const channel = 'trades:binance:BTCUSDT';
    const format = prepareChannel('trades', channel, 'binance', 'BTCUSDT');
    const rng = new Prng(99);
    for (let seq = 1; seq <= 500; seq++) {
      const e = trade({
        tradeId: rng.float() < 0.3 ? null : rng.int(0, 2 ** 40),
        price: rng.float() < 0.05 ? 0 : rng.float() * 1e5,
        size: rng.float(),
        side: (['buy', 'sell', 'unknown'] as const)[rng.int(0, 2)],
        ts: T0 + seq,
        recvTs: rng.float() < 0.05 ? 0 : T0 + seq + rng.float(),
      });
      expectSame(enc.trade(channel, seq, e), tradeMessage(format, seq, e));
    }
  });

  it('quotes and bars on one channel, values changing every message, zeros included', () => {
    const enc = new FbsEncoder();
    const rng = new Prng(3);
    const qf = prepareChannel('quotes', 'quotes:binance:BTCUSDT', 'binance', 'BTCUSDT');
    const bf = prepareChannel('bars', 'bars:binance:BTCUSDT:1m', 'binance', 'BTCUSDT', '1m');
    for (let seq = 0; seq < 300; seq++) {
      const q = quote({ bidPrice: seq % 10 === 0 ? 0 : rng.float() * 100, askSize: rng.float(), ts: T0 + seq });
      expectSame(enc.quote('quotes:binance:BTCUSDT', seq, q), quoteMessage(qf, seq, q));
      const b = bar({
        close: rng.float() * 100,
        vwap: rng.float() < 0.2 ? null : rng.float(),
        spread: rng.float() < 0.5 ? null : rng.float(),
        closed: rng.float() < 0.5,
        revision: rng.int(0, 3),
        ...(rng.float() < 0.2 ? { gapped: true as const } : {}),
        ...(rng.float() < 0.2 ? { source: 'backfill' as const } : {}),
      });
      expectSame(enc.bar('bars:binance:BTCUSDT:1m', seq, b), barMessage(bf, seq, b));
    }
  });

  it('a channel name reused with another exchange or symbol gets a new template', () => {
    const enc = new FbsEncoder();
    const a = trade();
    const b = trade({ exchange: 'bybit', symbol: 'ETHUSDT' });
    for (const e of [a, b, a]) {
      expectSame(enc.trade('trades:x:y', 5, e), tradeMessage(prepareChannel('trades', 'trades:x:y', e.exchange, e.symbol), 5, e));
      const q = quote({ exchange: e.exchange, symbol: e.symbol });
      expectSame(enc.quote('quotes:x:y', 6, q), quoteMessage(prepareChannel('quotes', 'quotes:x:y', q.exchange, q.symbol), 6, q));
    }
  });

  it('more channels than the template cache keeps: still correct after it starts over', () => {
    const enc = new FbsEncoder();
    const channels = Array.from({ length: 8200 }, (_, i) => `trades:binance:S${i}`);
    for (const [i, channel] of channels.entries()) enc.trade(channel, i, trade({ symbol: `S${i}` }));
    for (const i of [0, 1, 8191, 8192, 8199]) {
      const e = trade({ symbol: `S${i}`, price: i });
      expectSame(enc.trade(channels[i]!, i + 1, e), tradeMessage(prepareChannel('trades', channels[i]!, 'binance', `S${i}`), i + 1, e));
    }
  });
});

describe('lone surrogates', () => {
  it('arrive as U+FFFD (strings are UTF-8 on the wire)', () => {
    const enc = new FbsEncoder();
    expect(decodeMessage(enc.error(1, 'X', 'a\ud800b'))).toMatchObject({ message: 'a\ufffdb' });
  });
});

describe('public entry point', () => {
  it('exports the decoders and the format names (the encoder is in tickwire/internal)', () => {
    const enc = new internal.FbsEncoder();
    const decoded: tickwire.StreamMessage = tickwire.decodeMessage(enc.gap('trades:a:b', 1, 2, 'history'));
    expect(decoded).toEqual({ type: 'gap', channel: 'trades:a:b', fromSeq: 1, toSeq: 2, reason: 'history' });
    expect(tickwire.decodeCandles(enc.candles('a', 'b', '1m', records([]).visit))).toEqual({ exchange: 'a', symbol: 'b', timeframe: '1m', count: 0, candles: [] });
    expect([tickwire.FLATBUFFERS_TYPE, tickwire.FBS_SUBPROTOCOL]).toEqual(['application/x-flatbuffers', 'tickwire.fbs']);
  });
});
