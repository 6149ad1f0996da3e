/**
 * When symbols on demand go (src/api/on-demand.ts), on a pinned clock: held
 * while in use, released `idleS` after the last use, forgotten ones never
 * released, counted per exchange.
 */
import { describe, expect, it } from 'vitest';
import { OnDemandSymbols } from '../../src/api/on-demand.ts';

describe('OnDemandSymbols', () => {
  it('releases a symbol idleS after it was last in use, not before', () => {
    let now = 0;
    const released: string[] = [];
    const od = new OnDemandSymbols((ex, s) => released.push(`${ex} ${s}`), { now: () => now });
    let subscribed = true;
    od.hold('binance', 'SOLUSDT', 5, () => subscribed);
    od.hold('binance', 'XRPUSDT', 5, () => false);
    expect(od.count('binance')).toBe(2);

    now = 4_999;
    od.sweep();
    expect(released).toEqual([]);
    now = 5_000;
    od.sweep(); // XRPUSDT was never in use: 5 s after it came
    expect(released).toEqual(['binance XRPUSDT']);
    expect(od.symbols('binance')).toEqual(['SOLUSDT']);

    now = 60_000;
    od.sweep(); // still subscribed: seen in use now
    subscribed = false;
    now = 64_999;
    od.sweep();
    expect(released).toEqual(['binance XRPUSDT']);
    now = 65_000;
    od.sweep();
    expect(released).toEqual(['binance XRPUSDT', 'binance SOLUSDT']);
    expect(od.count('binance')).toBe(0);
  });

  it('a forgotten symbol (removed by an operator, or named in the file) is never released', () => {
    let now = 0;
    const released: string[] = [];
    const od = new OnDemandSymbols((_ex, s) => released.push(s), { now: () => now });
    od.hold('kraken', 'SOL/USD', 1, () => false);
    expect(od.has('kraken', 'SOL/USD')).toBe(true);
    od.forget('kraken', 'SOL/USD');
    now = 10_000;
    od.sweep();
    expect(released).toEqual([]);
    expect(od.has('kraken', 'SOL/USD')).toBe(false);
    expect(od.count('nowhere')).toBe(0);
  });
});
