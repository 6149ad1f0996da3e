/**
 * The allocation-free fast path of the Binance adapter may only decline,
 * never disagree: over recorded frames and 100,000 seeded mutations of them,
 * whenever it answers, it answers exactly what the JSON path answers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FeedHandler } from '../../src/exchanges/adapter.ts';
import { BinanceAdapter } from '../../src/exchanges/binance.ts';
import { FIXTURES_DIR } from '../support/fixtures.ts';
import { Prng } from '../support/prng.ts';

interface Paths {
  parseFast(frame: string, handler: FeedHandler): number;
  parseJson(frame: string, handler: FeedHandler): number;
}

function recording(): FeedHandler & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return { calls, trade: (...a) => void calls.push(['trade', ...a]), quote: (...a) => void calls.push(['quote', ...a]) };
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
});
