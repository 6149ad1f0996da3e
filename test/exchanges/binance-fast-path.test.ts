/**
 * The allocation-free fast path of the Binance adapter may only decline,
 * never disagree: over recorded frames and 100,000 seeded mutations of them,
 * whenever it answers, it answers exactly what the JSON path answers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { callbackHandler, FrameKind, type FeedHandler } from '../../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../../src/exchanges/binance.ts';
import { BinanceSymbols } from '../../src/exchanges/binance-protocol.ts';
import { FrameScanner, hashRange, literal } from '../../src/exchanges/scan.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';

interface Paths {
  parseFast(frame: string, handler: FeedHandler): number;
  parseJson(frame: string, handler: FeedHandler): number;
}

function recording(): FeedHandler & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return { calls, ...callbackHandler({ trade: (...a) => void calls.push(['trade', ...a]), quote: (...a) => void calls.push(['quote', ...a]) }) };
}

const lines = (file: string) => readFileSync(path.join(FIXTURES_DIR, 'binance-spot', file), 'utf8').split('\n').filter((l) => l !== '');
const corpus = [...lines('long_trades.jsonl').slice(0, 500), ...lines('frames.jsonl'), ...lines('doc_frames.jsonl')];

function mutate(rng: Prng, frame: string): string {
  const i = rng.int(0, frame.length - 1);
  switch (rng.int(0, 7)) {
    case 0: return frame.slice(0, i); // truncated
    case 1: return frame.slice(0, i) + frame.slice(i + 1); // a character lost
    case 2: return frame.slice(0, i) + rng.pick(['"', '\\', '.', '-', '0', '9', 'e', ',', '}', ' ', 'x']) + frame.slice(i); // one inserted
    case 3: return frame.slice(0, i) + rng.pick(['"', '.', '0', '5', 'e', '-', '}']) + frame.slice(i + 1); // one replaced
    case 4: return frame.replace(/"p":"[^"]*"/, `"p":"${rng.pick(['', '.', '1.', '.5', '-1', '1e3', '00.1', '123456789012345678', '0', 'NaN'])}"`);
    case 5: return frame.replace(/"s":"[^"]*"/, `"s":"${rng.pick(['', 'btcusdt', 'BTCUSDT ', 'ETHUSDT', 'BTC\\u0055SDT', 'BTCUSD'])}"`);
    case 6: return frame.replace(/"m":(true|false)/, `"m":${rng.pick(['1', 'null', '"true"', 'tru'])}`);
    default: return frame.replace(/"T":\d+/, `"T":${rng.pick(['-1', '01', '1.5', '99999999999999999', '"1"'])}`);
  }
}

describe('Binance fast path', () => {
  const adapter = new BinanceAdapter(['BTCUSDT', 'NKNUSDT', 'BNBUSDT'], ['trades', 'quotes']) as unknown as Paths;

  function agree(frame: string): boolean {
    const fast = recording();
    const json = recording();
    const f = adapter.parseFast(frame, fast);
    const j = adapter.parseJson(frame, json);
    if (f < 0) return fast.calls.length === 0; // declined, and emitted nothing
    expect({ kind: f, calls: fast.calls }, frame).toEqual({ kind: j, calls: json.calls });
    return true;
  }

  it('takes every recorded @trade and bookTicker frame, agreeing with JSON.parse', () => {
    let answered = 0;
    for (const frame of corpus) {
      expect(agree(frame)).toBe(true);
      if (adapter.parseFast(frame, recording()) >= 0) answered++;
    }
    expect(answered).toBeGreaterThan(500);
  });

  it('never disagrees over 100,000 mutated frames', () => {
    const rng = new Prng(0xb1a5);
    let answered = 0;
    for (let n = 0; n < 100_000; n++) {
      const frame = mutate(rng, rng.pick(corpus));
      expect(agree(frame)).toBe(true);
      if (adapter.parseFast(frame, recording()) >= 0) answered++;
    }
    expect(answered).toBeGreaterThan(10_000); // the mutations left many frames valid
  });

  it('answers every recorded @trade frame itself, in one pass (never hands one to JSON.parse)', () => {
    const trades = lines('long_trades.jsonl').filter((l) => l.includes('@trade'));
    expect(trades.length).toBeGreaterThan(9_000);
    for (const frame of trades) expect(adapter.parseFast(frame, recording()), frame).toBe(FrameKind.DATA);
  });
});

describe('FrameScanner and the symbol table', () => {
  it('hashes a string as it reads it, the same hash as hashRange, and stops after its closing quote', () => {
    const sc = new FrameScanner();
    sc.reset('"BTCUSDT",x');
    const start = sc.stringStart();
    expect([start, sc.stringEnd, sc.pos, sc.ok]).toEqual([1, 8, 9, true]);
    expect(sc.stringHash).toBe(hashRange('"BTCUSDT",x', 1, 8));
    for (const bad of ['"BTC\\u0055SDT"', '"BTCUSDT', 'BTCUSDT"']) {
      sc.reset(bad);
      expect(sc.stringStart(), bad).toBe(-1);
      expect(sc.ok).toBe(false);
    }
  });

  it('fails a token that matches only in part, and reads true and false by their first byte', () => {
    const sc = new FrameScanner();
    sc.reset(',"t":1');
    expect(sc.expect(',"q":')).toBe(false);
    expect(sc.pos).toBe(0);
    sc.reset(',"t"');
    expect(sc.expect(',"t":')).toBe(false); // the text ends inside the token
    for (const [text, want] of [['true}', 1], ['false}', 0]] as const) {
      sc.reset(text);
      expect(sc.bool()).toBe(want);
      expect(sc.ok).toBe(true);
    }
    for (const text of ['tru', 'fals', 'True', 'null', '']) {
      sc.reset(text);
      expect(sc.bool(), text).toBeNaN();
      expect(sc.ok).toBe(false);
    }
  });

  it('reads a one-letter key and a made-once literal exactly as expect reads the same token', () => {
    const sc = new FrameScanner();
    const lit = literal(',"data":{"');
    const texts = [',"s":"X"', ',"S":"X"', ',"s"', ',"s";', '"s":', ',"ss":', '', ',"data":{"e"', ',"data":{', ',"data":["e"', ',"dat'];
    for (const text of texts) {
      for (const [read, token] of [[() => sc.key(115), ',"s":'], [() => sc.literal(lit), ',"data":{"']] as const) {
        sc.reset(text);
        const got = [read(), sc.pos, sc.ok];
        sc.reset(text);
        expect(got, `${text} / ${token}`).toEqual([sc.expect(token), sc.pos, sc.ok]);
      }
    }
    // Once failed, a scanner stays failed: a later token that would match does not revive it.
    sc.reset(',"q":,"s":');
    expect(sc.key(115)).toBe(false);
    sc.pos = 5;
    expect([sc.key(115), sc.literal(literal(',"s":'))]).toEqual([false, false]);
  });

  it('reads a quoted decimal as Number reads it, up to 15 significant digits; declines any other shape', () => {
    const sc = new FrameScanner();
    for (const text of ['61837.63000000', '0.00009000', '0', '7', '00.1', '000000.123456789012345', '999999999999999', '99999999999999.9', '1.00000000000000']) {
      sc.reset(`"${text}",`);
      sc.decimalString(3);
      expect(sc.numbers[3], text).toBe(Number(text));
      expect([sc.pos, sc.ok]).toEqual([text.length + 2, true]);
    }
    for (const text of ['', '.5', '1.', '1..2', '1.2.3', '-1', '1e3', ' 1', '1 ', '1000000000000000', '9999999999999.999', '0.1234567890123456', '1.000000000000000', '1,5']) {
      sc.reset(`"${text}"`);
      sc.decimalString(3);
      expect(sc.numbers[3], text).toBeNaN();
      expect(sc.ok).toBe(false);
    }
    sc.reset('61837.63');
    sc.decimalString(3);
    expect([sc.numbers[3], sc.ok]).toEqual([NaN, false]); // not quoted
  });

  it('steps over a string without escapes, and fails one with an escape or no closing quote', () => {
    const sc = new FrameScanner();
    sc.reset('"btcusdt@trade",x');
    expect([sc.skipString(), sc.pos, sc.ok]).toEqual([true, 15, true]);
    for (const bad of ['"btc\\usdt"', '"btcusdt', 'btcusdt"', '']) {
      sc.reset(bad);
      expect(sc.skipString(), bad).toBe(false);
      expect(sc.ok).toBe(false);
    }
  });

  it('finds every symbol by its hash through live additions that grow the table; a hash two symbols share is left to the slow path', () => {
    const names = Array.from({ length: 300 }, (_, i) => `S${i}USDT`);
    const symbols = new BinanceSymbols(names.slice(0, 2));
    for (const name of names.slice(2)) symbols.add(name);
    const lookUp = (name: string) => symbols.at(`"${name}"`, 1, name.length + 1, hashRange(name, 0, name.length));
    names.forEach((name, i) => expect(lookUp(name), name).toBe(i));
    expect(lookUp('XRPUSDT')).toBe(-1);
    expect(symbols.add('S7USDT')).toBe(300); // added again: the new number
    expect(lookUp('S7USDT')).toBe(300);
    // ZVMHIUSDT and EJDAPUSDT share their FNV-1a hash (found by search): neither is decided in place, before or after the table grows.
    expect(hashRange('ZVMHIUSDT', 0, 9)).toBe(hashRange('EJDAPUSDT', 0, 9));
    const pair = new BinanceSymbols(['ZVMHIUSDT', 'EJDAPUSDT']);
    for (const p of [pair, symbols]) {
      if (p === symbols) for (const n of ['ZVMHIUSDT', 'EJDAPUSDT']) symbols.add(n);
      for (const n of ['ZVMHIUSDT', 'EJDAPUSDT']) expect(p.at(`"${n}"`, 1, 10, hashRange(n, 0, 9)), n).toBe(-2);
      expect(p.of('EJDAPUSDT')).toBeGreaterThanOrEqual(0); // the slow path still knows it
    }
  });

  it('confirms a symbol found by hash letter by letter: same hash, other name is not ours', () => {
    const symbols = new BinanceSymbols(['BTCUSDT', 'ETHUSDT']);
    const text = '"ETHUSDT","BTCUSDX"';
    expect(symbols.at(text, 1, 8, hashRange(text, 1, 8))).toBe(1);
    // BTCUSDX presented with BTCUSDT's hash (as a collision would): the name check refuses it.
    expect(symbols.at(text, 11, 18, hashRange('BTCUSDT', 0, 7))).toBe(-1);
    expect(symbols.at(text, 11, 17, hashRange('BTCUSDT', 0, 7))).toBe(-1); // length differs
    expect(symbols.at(text, -1, 0, 0)).toBe(-2);
  });
});
