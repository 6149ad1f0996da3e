import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/errors.ts';
import { SimulatedMarket, simInstrument, type SimQuote, type SimTrade } from '../../src/sim/market.ts';

interface Run {
  trades: SimTrade[];
  quotes: SimQuote[];
}

/** Collects rule violations, so a loop over 100k records makes one `expect` (vitest's are slow). */
class Problems {
  readonly list: string[] = [];
  check(ok: boolean, what: string, record: unknown): void {
    if (!ok && this.list.length < 20) this.list.push(`${what}: ${JSON.stringify(record)}`);
  }
}

/** Run a market from t0 to t0 + durationMs in steps of stepMs (time driven by the test). */
function run(symbols: string[], seed: number, durationMs: number, stepMs: number, rate = 20, t0 = 1_700_000_000_000): Run {
  const out: Run = { trades: [], quotes: [] };
  const market = new SimulatedMarket({
    symbols,
    rate,
    seed,
    onTrade: (symbol, trade) => {
      if (trade.s !== symbol) throw new Error(`onTrade(${symbol}) got ${trade.s}`);
      out.trades.push(trade);
    },
    onQuote: (symbol, quote) => {
      if (quote.s !== symbol) throw new Error(`onQuote(${symbol}) got ${quote.s}`);
      out.quotes.push(quote);
    },
  });
  for (let t = t0; t <= t0 + durationMs; t += stepMs) market.step(t);
  return out;
}

const EIGHT_DECIMALS = /^\d+\.\d{8}$/;

describe('SimulatedMarket: instruments', () => {
  it('SIM-BTC and SIM-ETH start near their namesakes; others from a stable hash in [1, 100000)', () => {
    expect(simInstrument('SIM-BTC')).toMatchObject({ startPrice: 60_000, tickDecimals: 2, lotDecimals: 5 });
    expect(simInstrument('SIM-ETH')).toMatchObject({ startPrice: 3_000, tickDecimals: 3, lotDecimals: 4 });
    for (const symbol of ['BTCUSDT', 'DOGE-USD', 'XYZ', 'A', 'LONGNAMEUSDT']) {
      const ins = simInstrument(symbol);
      expect(ins).toEqual(simInstrument(symbol));
      expect(ins.startPrice).toBeGreaterThanOrEqual(1);
      expect(ins.startPrice).toBeLessThan(100_000);
      // Tick in (1e-7, 1e-6] of the price; one lot worth $0.1..$1.
      expect(ins.tickSize / ins.startPrice).toBeGreaterThan(1e-7);
      expect(ins.tickSize / ins.startPrice).toBeLessThanOrEqual(1e-6 + 1e-18);
      expect(ins.lotSize * ins.startPrice).toBeGreaterThanOrEqual(0.1 - 1e-12);
      expect(ins.lotSize * ins.startPrice).toBeLessThanOrEqual(1 + 1e-12);
    }
    expect(simInstrument('AAAUSDT').startPrice).not.toBe(simInstrument('BBBUSDT').startPrice);
  });

  it('rejects bad options with the parameter named', () => {
    expect(() => new SimulatedMarket({ symbols: [], rate: 1, seed: 1 })).toThrow(InvalidParameterError);
    expect(() => new SimulatedMarket({ symbols: ['A', 'A'], rate: 1, seed: 1 })).toThrow(/symbols/);
    expect(() => new SimulatedMarket({ symbols: ['A'], rate: -1, seed: 1 })).toThrow(/rate/);
    expect(() => new SimulatedMarket({ symbols: ['A'], rate: 1, seed: 1.5 })).toThrow(/seed/);
  });
});

describe('SimulatedMarket: determinism', () => {
  it('same seed → the same first 1000 trades, however time is sliced', () => {
    const symbols = ['SIM-BTC', 'SIM-ETH'];
    const fine = run(symbols, 42, 60_000, 50).trades.slice(0, 1000);
    const coarse = run(symbols, 42, 60_000, 1_000).trades;
    const bySymbol = (ts: SimTrade[], s: string): SimTrade[] => ts.filter((t) => t.s === s);
    expect(fine).toHaveLength(1000);
    // Within a step symbols come one after another, so compare per symbol.
    for (const s of symbols) {
      const a = bySymbol(fine, s);
      expect(bySymbol(coarse, s).slice(0, a.length)).toEqual(a);
    }
    expect(run(symbols, 42, 60_000, 50).trades.slice(0, 1000)).toEqual(fine);
    expect(run(symbols, 43, 60_000, 50).trades.slice(0, 1000)).not.toEqual(fine);
  });

  it("adding a symbol does not change another symbol's stream", () => {
    const alone = run(['SIM-BTC'], 7, 20_000, 100).trades;
    const together = run(['SIM-ETH', 'SIM-BTC', 'XYZUSDT'], 7, 20_000, 100).trades.filter((t) => t.s === 'SIM-BTC');
    expect(together).toEqual(alone);
  });
});

describe('SimulatedMarket: sanity', () => {
  const symbols = ['SIM-BTC', 'SIM-ETH', 'XYZUSDT', 'LOWUSDT'];
  const { trades, quotes } = run(symbols, 1, 120_000, 100);

  it('trades are well-formed Binance @trade payloads on the tick and lot grid', () => {
    expect(trades.length).toBeGreaterThan(4 * 20 * 120 * 0.7);
    const p = new Problems();
    for (const t of trades) {
      const ins = simInstrument(t.s);
      p.check(Object.keys(t).join() === 'e,E,s,t,p,q,T,m,M', 'field order', t);
      p.check(t.e === 'trade' && t.M === true && typeof t.m === 'boolean', 'e, m, M', t);
      p.check(EIGHT_DECIMALS.test(t.p) && EIGHT_DECIMALS.test(t.q), '8 decimals', t);
      p.check(Number(t.p) > 0 && Number(t.q) > 0, 'positive', t);
      p.check(/^0*$/.test(t.p.slice(t.p.indexOf('.') + 1 + ins.tickDecimals)), 'on the tick grid', t);
      p.check(/^0*$/.test(t.q.slice(t.q.indexOf('.') + 1 + ins.lotDecimals)), 'on the lot grid', t);
      p.check(Number.isInteger(t.T) && t.E >= t.T && t.E - t.T <= 200, 'E = T + small delay', t);
    }
    expect(p.list).toEqual([]);
  });

  it('per symbol: ids contiguous, T non-decreasing, both aggressor sides, price stays near the start', () => {
    const p = new Problems();
    for (const s of symbols) {
      const own = trades.filter((t) => t.s === s);
      for (let i = 1; i < own.length; i++) {
        p.check(own[i]!.t === own[i - 1]!.t + 1, 'contiguous ids', [own[i - 1], own[i]]);
        p.check(own[i]!.T >= own[i - 1]!.T, 'T non-decreasing', [own[i - 1], own[i]]);
      }
      expect(own.some((t) => t.m)).toBe(true);
      expect(own.some((t) => !t.m)).toBe(true);
      const start = simInstrument(s).startPrice;
      for (const t of own) p.check(Math.abs(Number(t.p) / start - 1) < 0.05, 'within 5% of the start', t);
    }
    expect(p.list).toEqual([]);
  });

  it('quotes: bid < ask, sizes > 0, u increasing per symbol, spread a few ticks', () => {
    expect(quotes.length).toBeGreaterThan(trades.length / 4);
    const p = new Problems();
    const lastU = new Map<string, number>();
    const spreads: number[] = [];
    for (const q of quotes) {
      p.check(Object.keys(q).join() === 'u,s,b,B,a,A', 'field order', q);
      p.check([q.b, q.B, q.a, q.A].every((v) => EIGHT_DECIMALS.test(v)), '8 decimals', q);
      p.check(Number(q.b) > 0 && Number(q.b) < Number(q.a), '0 < bid < ask', q);
      p.check(Number(q.B) > 0 && Number(q.A) > 0, 'sizes > 0', q);
      p.check(q.u > (lastU.get(q.s) ?? 0), 'u increasing', q);
      lastU.set(q.s, q.u);
      spreads.push(Math.round((Number(q.a) - Number(q.b)) / simInstrument(q.s).tickSize));
    }
    expect(p.list).toEqual([]);
    spreads.sort((x, y) => x - y);
    expect(spreads[0]).toBeGreaterThanOrEqual(1);
    expect(spreads[Math.floor(spreads.length / 2)]).toBeLessThanOrEqual(3);
    expect(spreads[Math.floor(spreads.length * 0.95)]).toBeLessThanOrEqual(8);
  });

  it('a trade prints at the touch: buys at or above the ask, sells at or below the bid, of the quote before', () => {
    // Re-run one symbol, interleaving both callbacks in order.
    const events: (SimTrade | SimQuote)[] = [];
    const market = new SimulatedMarket({ symbols: ['SIM-BTC'], rate: 20, seed: 1, onTrade: (_, t) => events.push(t), onQuote: (_, q) => events.push(q) });
    for (let t = 0; t <= 30_000; t += 100) market.step(t);
    const p = new Problems();
    let quote: SimQuote | undefined;
    for (const e of events) {
      if ('u' in e) quote = e;
      else if (quote !== undefined) {
        p.check(e.m ? Number(e.p) <= Number(quote.b) : Number(e.p) >= Number(quote.a), 'at the touch', [quote, e]);
      }
    }
    expect(p.list).toEqual([]);
  });
});

describe('SimulatedMarket: rate, bursts and quiet spells', () => {
  it('respects the configured mean rate over a simulated minute', () => {
    const symbols = ['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7', 'S8'];
    for (const rate of [5, 20, 200]) {
      const { trades } = run(symbols, 3, 60_000, 250, rate);
      const perSymbol = symbols.map((s) => trades.filter((t) => t.s === s).length / 60);
      const mean = perSymbol.reduce((a, b) => a + b, 0) / symbols.length;
      expect(mean / rate).toBeGreaterThan(0.85);
      expect(mean / rate).toBeLessThan(1.15);
      for (const r of perSymbol) {
        expect(r / rate).toBeGreaterThan(0.5);
        expect(r / rate).toBeLessThan(1.5);
      }
    }
  });

  it('has bursts (seconds at 3× the rate) and quiet spells (whole seconds without a trade)', () => {
    const rate = 20;
    const t0 = 1_700_000_000_000;
    const { trades } = run(['SIM-BTC'], 5, 300_000, 100, rate, t0);
    const perSecond = new Array<number>(300).fill(0);
    for (const t of trades) perSecond[Math.floor((t.T - t0) / 1000)]! += 1;
    const busy = perSecond.filter((n) => n >= 3 * rate).length;
    const silent = perSecond.filter((n) => n === 0).length;
    // A Poisson stream at 20/s would have neither (P(0 in 1 s) ≈ 2e-9, P(≥ 60) ≈ 1e-12).
    expect(busy).toBeGreaterThanOrEqual(5);
    expect(silent).toBeGreaterThanOrEqual(10);
    // Quiet spells also leave runs of consecutive silent seconds.
    expect(perSecond.join(',')).toMatch(/(^|,)0,0(,|$)/);
  });

  it('rate 0 trades nothing but still quotes', () => {
    const { trades, quotes } = run(['SIM-BTC'], 1, 10_000, 100, 0);
    expect(trades).toHaveLength(0);
    expect(quotes.length).toBeGreaterThan(5);
  });
});

describe('SimulatedMarket: clock', () => {
  it('the first step opens with a quote per symbol; earlier times are ignored', () => {
    const quotes: SimQuote[] = [];
    const market = new SimulatedMarket({ symbols: ['SIM-BTC', 'SIM-ETH'], rate: 20, seed: 1, onQuote: (_, q) => quotes.push(q) });
    expect(market.now).toBeNaN();
    expect(market.step(1_000)).toBe(0);
    expect(quotes.map((q) => q.s)).toEqual(['SIM-BTC', 'SIM-ETH']);
    expect(quotes[0]).toMatchObject({ b: '60000.00000000' });
    expect(market.step(500)).toBe(0);
    expect(market.now).toBe(1_000);
  });

  it('skip() pauses the market: nothing in the skipped interval, ids continue', () => {
    const trades: SimTrade[] = [];
    const market = new SimulatedMarket({ symbols: ['SIM-BTC'], rate: 50, seed: 9, onTrade: (_, t) => trades.push(t) });
    for (let t = 0; t <= 20_000; t += 100) market.step(t);
    const before = trades.length;
    market.skip(3_600_000);
    expect(trades).toHaveLength(before);
    for (let t = 3_600_000; t <= 3_620_000; t += 100) market.step(t);
    expect(trades.length).toBeGreaterThan(before);
    expect(trades[before]!.T).toBeGreaterThanOrEqual(3_600_000);
    expect(trades[before]!.t).toBe(trades[before - 1]!.t + 1);
    // Paused, not re-seeded: the stream after the pause is the one that would have followed.
    const straight: SimTrade[] = [];
    const ref = new SimulatedMarket({ symbols: ['SIM-BTC'], rate: 50, seed: 9, onTrade: (_, t) => straight.push(t) });
    for (let t = 0; t <= 40_000; t += 100) ref.step(t);
    expect(trades.map((t) => [t.t, t.p, t.q, t.m])).toEqual(straight.slice(0, trades.length).map((t) => [t.t, t.p, t.q, t.m]));
  });
});
