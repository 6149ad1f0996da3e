/**
 * The prediction and signal messages, written from prepared parts, are the
 * very text JSON.stringify gives their message objects (the shapes of
 * messages.ts, in their order): over seeded events with nulls, negative and
 * tiny numbers, -0, nested extra fields and reasons that need escaping.
 */
import { describe, expect, it } from 'vitest';
import type { PredictionEvent, SignalEvent } from '../../src/model/strategy.ts';
import type { PredictionMessage, SignalMessage } from '../../src/wire/messages.ts';
import { predictionMessage, prepareStrategy, signalMessage } from '../../src/wire/strategy-json.ts';
import { mulberry32 } from '../support/prng.ts';

const REASONS = [null, '', 'cross up', 'quote " and \\ backslash', 'line\nbreak\ttab', 'ünïcödé → ✓', '\u0001 control', 'emoji 🚀'];
const NAMES = ['sma-cross', 'a.b_c-9', 'X'];

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rand() * xs.length)]!;
}

function number(rand: () => number): number {
  return pick(rand, [0, -0, 1, -1.5, 1e-7, 123456.789, -9.87654321e21, rand() * 1e6 - 5e5, Math.round(rand() * 1e9)]);
}

describe('wire: strategy messages', () => {
  it('writes each prediction and signal exactly as JSON.stringify writes its message object', () => {
    const rand = mulberry32(13);
    for (let k = 0; k < 500; k++) {
      const base = {
        strategy: pick(rand, NAMES), exchange: pick(rand, ['binance', 'coinbase', 'simulated']), symbol: pick(rand, ['BTCUSDT', 'BTC-USD']),
        timeframe: pick(rand, ['1s', '1m', '1h'] as const), barOpenTime: 1_700_000_000_000 + Math.floor(rand() * 1e9), revision: Math.floor(rand() * 3),
      };
      const format = prepareStrategy(base);
      const seq = 1 + Math.floor(rand() * 1e6);
      const confidence = rand() < 0.3 ? null : number(rand);
      const extra = pick(rand, [{}, { n: 3, tag: 'x"y' }, { nested: { list: [1, null, 'a'] }, flag: true }]);
      const p: PredictionEvent = { ...base, value: number(rand), confidence, extra, latencyUs: Math.floor(rand() * 1e6), ts: 1_700_000_000_000 + k };
      const pm: PredictionMessage = {
        type: 'prediction', channel: `predictions:${p.strategy}`, seq, strategy: p.strategy, exchange: p.exchange, symbol: p.symbol, timeframe: p.timeframe,
        barOpenTime: p.barOpenTime, revision: p.revision, value: p.value, confidence: p.confidence, extra: p.extra, latencyUs: p.latencyUs, ts: p.ts,
      };
      expect(predictionMessage(format, seq, p)).toBe(JSON.stringify(pm));
      const s: SignalEvent = {
        ...base, id: `${base.strategy}:${base.barOpenTime}:${base.revision}`, action: pick(rand, ['buy', 'sell', 'hold'] as const),
        size: rand() < 0.4 ? null : number(rand), prediction: { value: p.value, confidence }, reason: pick(rand, REASONS), ts: p.ts,
      };
      const sm: SignalMessage = {
        type: 'signal', channel: `signals:${s.strategy}`, seq, id: s.id, strategy: s.strategy, exchange: s.exchange, symbol: s.symbol, timeframe: s.timeframe,
        barOpenTime: s.barOpenTime, revision: s.revision, action: s.action, size: s.size, prediction: s.prediction, reason: s.reason, ts: s.ts,
      };
      expect(signalMessage(format, seq, s)).toBe(JSON.stringify(sm));
    }
  });
});
