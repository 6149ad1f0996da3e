/**
 * Bad input to the decoders: truncated, corrupted, foreign and hand-crafted
 * malicious buffers must throw TickwireError(INVALID_PARAMETER), never
 * another error, never read outside the buffer, never loop on a forged length.
 */
import { Builder, ByteBuffer } from 'flatbuffers';
import { describe, expect, it } from 'vitest';
import { NO_SLOT, type BarVisitor } from '../../src/buffers/bar-store.ts';
import { TickwireError } from '../../src/errors.ts';
import { BAR_FIELDS } from '../../src/model/records.ts';
import { FbsEncoder, decodeCandles, decodeMessage } from '../../src/wire/fbs.ts';
import { Alert } from '../../schema/generated/tickwire/wire/alert.ts';
import { Body } from '../../schema/generated/tickwire/wire/body.ts';
import { Message } from '../../schema/generated/tickwire/wire/message.ts';
import { Pong } from '../../schema/generated/tickwire/wire/pong.ts';
import { Snapshot } from '../../schema/generated/tickwire/wire/snapshot.ts';
import { Trade } from '../../schema/generated/tickwire/wire/trade.ts';
import { Prng } from '../support/prng.ts';

function bars(n: number): (v: BarVisitor) => number {
  const buf = new Float64Array(Math.max(1, n) * BAR_FIELDS);
  for (let i = 0; i < buf.length; i++) buf[i] = i % BAR_FIELDS === 13 && i % 3 === 0 ? NaN : i * 1.5;
  return (v) => {
    v.begin();
    for (let i = 0; i < n; i++) v.onBar(buf, i * BAR_FIELDS, NO_SLOT, 0);
    return n;
  };
}

/** One valid buffer per message type (copies: the encoder reuses its buffer). */
function samples(): [string, Uint8Array][] {
  const enc = new FbsEncoder();
  const trade = { exchange: 'binance', symbol: 'BTCUSDT', tradeId: 7, price: 1.5, size: 2, side: 'buy' as const, ts: 1, recvTs: 2 };
  const quote = { exchange: 'binance', symbol: 'BTCUSDT', bidPrice: 1, bidSize: 2, askPrice: 3, askSize: 4, ts: 5, recvTs: 6 };
  const bar = {
    openTime: 0, closeTime: 59_999, open: 1, high: 2, low: 0.5, close: 1.5, volume: 3, quoteVolume: 4, buyVolume: 1,
    sellVolume: 2, trades: 3, firstTradeId: 1, lastTradeId: 3, vwap: null, spread: 0.1, closed: false, revision: 0,
  };
  return [
    ['trade', enc.trade('trades:binance:BTCUSDT', 1, trade).slice()],
    ['quote', enc.quote('quotes:binance:BTCUSDT', 2, quote).slice()],
    ['bar', enc.bar('bars:binance:BTCUSDT:1m', 3, bar).slice()],
    ['snapshot', enc.snapshot('bars:binance:BTCUSDT:1m', 4, bars(3)).slice()],
    ['gap', enc.gap('trades:binance:BTCUSDT', 5, 9, 'slow_consumer').slice()],
    ['subscribed', enc.subscribed('s1', ['trades:binance:BTCUSDT', 'system'], 'epoch').slice()],
    ['unsubscribed', enc.unsubscribed(2, ['system']).slice()],
    ['error', enc.error(null, 'INVALID_PARAMETER', 'bad').slice()],
    ['pong', enc.pong(3).slice()],
    ['system', enc.system(1, { exchange: 'binance', state: 'connected', reconnects: 0, restarts: 0, lastError: 'x', ts: 9 }).slice()],
    ['alert', enc.alert(1, { id: 'a', level: 'warning', source: 'test', message: 'hi', ts: 9 }).slice()],
  ];
}

/** Run `f`; it must return normally or throw TickwireError(INVALID_PARAMETER). Returns the error, if any. */
function rejectsCleanly(f: () => unknown, what: string): TickwireError | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    expect(err, what).toBeInstanceOf(TickwireError);
    expect((err as TickwireError).code, what).toBe('INVALID_PARAMETER');
    return err as TickwireError;
  }
}

function expectInvalid(bytes: Uint8Array, mention: string | RegExp, decode: (b: Uint8Array) => unknown = decodeMessage): void {
  const err = rejectsCleanly(() => decode(bytes), String(mention));
  expect(err, `should have been rejected: ${String(mention)}`).toBeDefined();
  expect(err!.message).toMatch(mention);
}

describe('truncated buffers', () => {
  it('every prefix of every message type is rejected, or is the whole message minus trailing padding', () => {
    for (const [name, full] of samples()) {
      const whole = decodeMessage(full);
      for (let n = 0; n < full.length; n++) {
        const cut = full.slice(0, n);
        const err = rejectsCleanly(() => decodeMessage(cut), `${name} cut at ${n}`);
        if (err === undefined) expect(decodeMessage(cut), `${name} cut at ${n}`).toStrictEqual(whole);
      }
    }
  });

  it('every prefix of a candles response is rejected, or the whole response', () => {
    const full = new FbsEncoder().candles('binance', 'BTCUSDT', '1m', bars(4)).slice();
    const whole = decodeCandles(full);
    for (let n = 0; n < full.length; n++) {
      const cut = full.slice(0, n);
      if (rejectsCleanly(() => decodeCandles(cut), `cut at ${n}`) === undefined) expect(decodeCandles(cut)).toStrictEqual(whole);
    }
  });

  it('empty and header-only buffers', () => {
    expectInvalid(new Uint8Array(0), /shorter than a FlatBuffers header/);
    expectInvalid(new Uint8Array(7), /shorter than a FlatBuffers header/);
    expectInvalid(new Uint8Array([8, 0, 0, 0, 0x54, 0x57, 0x53, 0x31]), /outside/);
  });
});

describe('corrupted buffers (seeded)', () => {
  it('random byte changes: a clean rejection or a decoded message, never another error', () => {
    const rng = new Prng(20240809);
    const all = samples();
    let rejected = 0;
    for (let round = 0; round < 4000; round++) {
      const [name, full] = all[round % all.length]!;
      const bytes = full.slice();
      const changes = rng.int(1, 4);
      for (let c = 0; c < changes; c++) {
        const at = rng.int(0, bytes.length - 1);
        bytes[at] = rng.float() < 0.3 ? 0xff : rng.int(0, 255);
      }
      const what = `${name} round ${round}`;
      const err = rejectsCleanly(() => decodeMessage(bytes), what);
      if (err !== undefined) rejected++;
      else expect(typeof (decodeMessage(bytes) as { type: unknown }).type, what).toBe('string');
    }
    // Most corruptions hit offsets, lengths or the identifier; the rest change values only.
    expect(rejected).toBeGreaterThan(500);
  });

  it('random garbage behind a valid identifier', () => {
    const rng = new Prng(7);
    for (let round = 0; round < 2000; round++) {
      const bytes = new Uint8Array(rng.int(8, 256));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
      bytes.set([0x54, 0x57, 0x53, 0x31], 4); // "TWS1"
      rejectsCleanly(() => decodeMessage(bytes), `garbage round ${round}`);
    }
  });
});

describe('crafted buffers', () => {
  it('a forged vector length is rejected before any bar is read', () => {
    const good = new FbsEncoder().snapshot('bars:x:y:1m', 1, bars(2)).slice();
    // Where the bars vector's length sits: found with the generated accessors (field 2, vtable entry 8).
    const s: Snapshot = Message.getRootAsMessage(new ByteBuffer(good)).body(new Snapshot());
    const at = s.bb!.__vector(s.bb_pos + s.bb!.__offset(s.bb_pos, 8)) - 4;
    expect(new DataView(good.buffer).getUint32(at, true)).toBe(2);
    for (const forged of [3, 0x7fffffff, 0xffffffff]) {
      const bytes = good.slice();
      new DataView(bytes.buffer).setUint32(at, forged, true);
      expectInvalid(bytes, /Snapshot\.bars .* is outside/);
    }
  });

  it('an unknown message type (a newer server) is rejected', () => {
    const b = new Builder(64);
    Pong.startPong(b);
    Pong.addIdNum(b, 1);
    const body = Pong.endPong(b);
    Message.finishMessageBuffer(b, Message.createMessage(b, 200 as Body, body));
    expectInvalid(b.asUint8Array(), /message type 200 is unknown/);
  });

  it('a message without a body, or with type NONE, is rejected', () => {
    const b = new Builder(64);
    b.startObject(2); // by hand: the generated endMessage refuses a Message without its required body
    Message.finishMessageBuffer(b, b.endObject());
    expectInvalid(b.asUint8Array(), /required field Message\.body is missing/);

    const c = new Builder(64);
    Pong.startPong(c);
    const body = Pong.endPong(c);
    Message.finishMessageBuffer(c, Message.createMessage(c, Body.NONE, body));
    expectInvalid(c.asUint8Array(), /message type 0 is unknown/);
  });

  it('a missing required field is rejected, naming it', () => {
    const b = new Builder(64);
    const ex = b.createString('binance');
    b.startObject(10); // a Trade without channel and symbol: built by hand, the generated endTrade would refuse
    Trade.addExchange(b, ex);
    Trade.addSeq(b, 1);
    const body = b.endObject();
    Message.finishMessageBuffer(b, Message.createMessage(b, Body.Trade, body));
    expectInvalid(b.asUint8Array(), /required field Trade\.channel is missing/);
  });

  it('a string without its terminating zero is rejected', () => {
    const bytes = new FbsEncoder().error(1, 'CODE', 'message').slice();
    const text = new TextEncoder().encode('message');
    const at = Buffer.from(bytes).indexOf(Buffer.from(text));
    expect(at).toBeGreaterThan(0);
    bytes[at + text.length] = 0x21;
    expectInvalid(bytes, /ErrorReply\.message is not zero-terminated/);
  });

  it('a root offset or vtable outside the buffer is rejected', () => {
    const bytes = new FbsEncoder().pong(1).slice();
    const farRoot = bytes.slice();
    new DataView(farRoot.buffer).setUint32(0, 0xfffffff0, true);
    expectInvalid(farRoot, /outside/);

    const root = new DataView(bytes.buffer).getUint32(0, true);
    for (const soffset of [0x7fffffff, -0x7fffffff, root + 1000]) {
      const forged = bytes.slice();
      new DataView(forged.buffer).setInt32(root, soffset, true);
      expectInvalid(forged, /Message (vtable|table)/);
    }
  });

  it("the other format's buffer, and non-byte input, are rejected", () => {
    const candles = new FbsEncoder().candles('binance', 'BTCUSDT', '1m', bars(1)).slice();
    expectInvalid(candles, /file identifier is not "TWS1"/);
    expectInvalid(new FbsEncoder().pong(1).slice(), /file identifier is not "TWC1"/, decodeCandles);
    expectInvalid(new TextEncoder().encode('{"type":"pong","id":1}'), /file identifier/);
    expectInvalid('not bytes' as unknown as Uint8Array, /expected a Uint8Array or an ArrayBuffer/);
  });

  it('an unknown alert level is rejected', () => {
    const bytes = new FbsEncoder().alert(1, { id: 'a', level: 'critical', source: 's', message: 'm', ts: 1 }).slice();
    // The level byte: field 2 (vtable entry 8), found with the generated accessors.
    const a: Alert = Message.getRootAsMessage(new ByteBuffer(bytes)).body(new Alert());
    const at = a.bb_pos + a.bb!.__offset(a.bb_pos, 8);
    expect(bytes[at]).toBe(2);
    bytes[at] = 9;
    expectInvalid(bytes, /alert level 9 is unknown/);
  });
});

describe('inputs in other containers', () => {
  it('an ArrayBuffer, and a Buffer at an offset inside a larger pool, decode the same', () => {
    const bytes = new FbsEncoder().subscribed(1, ['a'], 'e').slice();
    const expected = { type: 'subscribed', id: 1, channels: ['a'], epoch: 'e' };
    expect(decodeMessage(bytes.buffer)).toStrictEqual(expected);
    const pool = Buffer.alloc(bytes.length + 13, 0xee);
    pool.set(bytes, 13);
    expect(decodeMessage(pool.subarray(13))).toStrictEqual(expected);
  });
});
