/**
 * Binance @trade frames for the load benchmarks, deterministic for a seed.
 *
 * The base is the tape of 9,757 recorded BTCUSDT trades (long_trades.jsonl:
 * prices, sizes, aggressor flags, inter-trade times). More volume is made
 * from it the way `TradeReplay` does: each pass over the tape shifts
 * exchange time by the tape's span and trade ids by its id span, so a
 * symbol's trades stay in order with no duplicates. Several symbols each
 * start at a seeded offset into the tape. Frames have exactly the recorded
 * shape (combined stream, same field order, 8-decimal strings).
 *
 * When the fixture corpus is not there (a clone without ../shared), a
 * seeded random walk of the same shape stands in, and `source` says so: the
 * report records which one a run used.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { mulberry32 } from '../src/sim/prng.ts';
import { FIXTURES_DIR } from '../test/support/fixtures.ts';
import { tradePayload, tradeStream } from './load/binance-trade.ts';

/** The base sequence of trades frames are made from (columns; strings kept verbatim). */
export interface Tape {
  readonly source: 'recorded' | 'synthetic';
  readonly length: number;
  /** Exchange trade time T, ms. */
  readonly ts: Float64Array;
  /** Event time E minus T, ms. */
  readonly lag: Float64Array;
  readonly price: readonly string[];
  readonly size: readonly string[];
  /** 1 when the buyer was the maker (`m`). */
  readonly maker: Uint8Array;
  readonly id: Float64Array;
}

const RECORDED = path.join(FIXTURES_DIR, 'binance-spot', 'long_trades.jsonl');

let cached: Tape | undefined;

/** The recorded tape, or (no fixtures) a synthetic one of the same shape. Read once per thread. */
export function tape(): Tape {
  return (cached ??= existsSync(RECORDED) ? recordedTape(readFileSync(RECORDED, 'utf8')) : syntheticTape(9_757, 42));
}

function recordedTape(text: string): Tape {
  const lines = text.split('\n').filter((l) => l.startsWith('{"stream":"btcusdt@trade"'));
  const n = lines.length;
  const t = { ts: new Float64Array(n), lag: new Float64Array(n), price: [] as string[], size: [] as string[], maker: new Uint8Array(n), id: new Float64Array(n) };
  lines.forEach((line, i) => {
    const d = JSON.parse(line).data;
    t.ts[i] = d.T;
    t.lag[i] = d.E - d.T;
    t.price.push(d.p);
    t.size.push(d.q);
    t.maker[i] = d.m ? 1 : 0;
    t.id[i] = d.t;
  });
  return { source: 'recorded', length: n, ...t };
}

/** A seeded random walk: ~28 trades/s, bursts of same-millisecond trades, sizes log-spread. */
export function syntheticTape(n: number, seed: number): Tape {
  const rnd = mulberry32(seed);
  const t = { ts: new Float64Array(n), lag: new Float64Array(n), price: [] as string[], size: [] as string[], maker: new Uint8Array(n), id: new Float64Array(n) };
  let ts = 1723161255342;
  let cents = 6_183_763;
  for (let i = 0; i < n; i++) {
    if (rnd() > 0.45) ts += Math.floor(-Math.log(1 - rnd()) * 65);
    cents += Math.round((rnd() - 0.5) * 4);
    t.ts[i] = ts;
    t.lag[i] = Math.floor(rnd() * 3);
    t.price.push((cents / 100).toFixed(8));
    t.size.push((Math.exp(rnd() * 9 - 9) * 5).toFixed(5) + '000');
    t.maker[i] = rnd() < 0.5 ? 1 : 0;
    t.id[i] = 3735683259 + i;
  }
  return { source: 'synthetic', length: n, ...t };
}

/** One @trade frame as the combined stream sends it: the payload (load/binance-trade.ts) wrapped with its stream name. */
export function tradeFrame(stream: string, symbol: string, eventTs: number, id: number, price: string, size: string, ts: number, maker: boolean): string {
  return '{"stream":"' + stream + '","data":' + tradePayload(eventTs, symbol, id, price, size, ts, maker) + '}';
}

/** A flat (non-rope) copy of a string, as a WebSocket client hands frames over. */
export function flat(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

/**
 * `count` frames over `symbols`, each frame's symbol drawn from the seeded
 * PRNG, each symbol walking the tape from its own seeded start (time and ids
 * shifted per wrap). Same arguments, same frames. Also returns how many
 * trades each symbol got.
 */
export function ingestFrames(count: number, symbols: readonly string[], seed: number): { frames: string[]; perSymbol: number[] } {
  const tp = tape();
  const rnd = mulberry32(seed);
  const n = tp.length;
  const tsStep = Math.ceil((tp.ts[n - 1]! - tp.ts[0]! + 1) / 1000) * 1000;
  const idStep = tp.id[n - 1]! - tp.id[0]! + 1;
  const cursor = symbols.map(() => Math.floor(rnd() * n));
  const wraps = symbols.map(() => 0);
  const streams = symbols.map(tradeStream);
  const perSymbol = symbols.map(() => 0);
  const frames = new Array<string>(count);
  for (let k = 0; k < count; k++) {
    const s = Math.floor(rnd() * symbols.length);
    let i = cursor[s]!;
    if (i === n) {
      i = 0;
      wraps[s]!++;
    }
    cursor[s] = i + 1;
    perSymbol[s]!++;
    // The starting offset's wrap is counted from the start, so a symbol's ids and times only go up.
    const ts = tp.ts[i]! + wraps[s]! * tsStep;
    frames[k] = flat(tradeFrame(streams[s]!, symbols[s]!, ts + tp.lag[i]!, tp.id[i]! + wraps[s]! * idStep, tp.price[i]!, tp.size[i]!, ts, tp.maker[i] === 1));
  }
  return { frames, perSymbol };
}

/**
 * For each frame, 1 when it is the last of a socket read of at most
 * `readBytes` bytes (frames as WebSocket messages: the text plus a 4-byte
 * header; the last frame always ends a read), else 0.
 */
export function socketReadEnds(frames: readonly string[], readBytes: number): Uint8Array {
  const ends = new Uint8Array(frames.length);
  let used = 0;
  for (let i = 0; i < frames.length; i++) {
    const bytes = Buffer.byteLength(frames[i]!) + 4;
    if (used > 0 && used + bytes > readBytes) {
      ends[i - 1] = 1;
      used = 0;
    }
    used += bytes;
  }
  if (frames.length > 0) ends[frames.length - 1] = 1;
  return ends;
}
