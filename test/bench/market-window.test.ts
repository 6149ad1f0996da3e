import { describe, expect, it } from 'vitest';
import { MarketWindow } from '../../bench/load/market-window.ts';
import { SimulatedMarket } from '../../src/sim/market.ts';

const SYMBOLS = ['SIM-BTC', 'SIM-ETH'];

/** The trades a market started at `startMs` and stepped every 50 ms makes, with their offset from its start. */
function tradesOf(startMs: number, untilOffsetMs: number): { symbol: string; id: number; offset: number }[] {
  const out: { symbol: string; id: number; offset: number }[] = [];
  const market = new SimulatedMarket({ symbols: SYMBOLS, rate: 1_000, seed: 42, onTrade: (symbol, t) => out.push({ symbol, id: t.t, offset: t.T - startMs }) });
  market.skip(startMs);
  for (let now = startMs; now <= startMs + untilOffsetMs; now += 50) market.step(now);
  return out;
}

describe('MarketWindow', () => {
  it('names the trades a market started at any time makes in the window, and those after it', () => {
    const w = new MarketWindow(SYMBOLS, 1_000, 42, 8_000, 13_000);
    const trades = tradesOf(1_765_000_000_000, 14_000);
    const inside = trades.filter((t) => t.offset >= 8_000 && t.offset < 13_000);
    expect(inside.length).toBe(w.expected);
    expect(w.expected).toBeGreaterThan(0);
    for (const t of trades) {
      const expected = t.offset >= 8_000 && t.offset < 13_000;
      expect(w.has(t.symbol, t.id)).toBe(expected);
      expect(w.after(t.symbol, t.id)).toBe(t.offset >= 13_000);
    }
  });

  it('atRate picks the window whose count is nearest the rate', () => {
    const w = MarketWindow.atRate(SYMBOLS, 1_000, 42, 5_000, 5, 10_000);
    const want = 10_000;
    for (let start = 5_000; start <= 15_000; start += 1_000) {
      const other = new MarketWindow(SYMBOLS, 1_000, 42, start, start + 5_000);
      expect(Math.abs(w.expected - want)).toBeLessThanOrEqual(Math.abs(other.expected - want));
    }
    expect(w.toMs - w.fromMs).toBe(5_000);
  });
});
