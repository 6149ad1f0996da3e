/**
 * Alert rules (src/alerts/rules.ts) on a simulated clock: crossings fire
 * once (hysteresis), the cooldown suppresses repeats, and each rule type's
 * condition.
 */
import { describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/rules.ts';
import type { AlertRuleConfig } from '../../src/config/types.ts';
import type { AlertEvent } from '../../src/model/events.ts';

function engine(rules: AlertRuleConfig[]) {
  const raised: AlertEvent[] = [];
  return { e: new AlertEngine(rules, (a) => raised.push(a), 0), raised };
}

const above = (extra: Partial<{ hysteresisPct: number; cooldownMs: number }> = {}): AlertRuleConfig => ({
  id: 'btc-100k', level: 'warning', cooldownMs: extra.cooldownMs ?? 0, type: 'price',
  target: { feed: 'BTC-USD' }, above: 100_000, below: undefined, hysteresisPct: extra.hysteresisPct ?? 0,
});

describe('alert rules', () => {
  it('a price crossing fires once, not once per tick, and re-arms only below the level', () => {
    const { e, raised } = engine([above()]);
    e.onFeedPrice('BTC-USD', 99_000, 1);
    e.onFeedPrice('BTC-USD', 100_000, 2);
    e.onFeedPrice('BTC-USD', 100_500, 3);
    e.onFeedPrice('BTC-USD', 101_000, 4);
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ id: 'btc-100k:1:2', level: 'warning', source: 'btc-100k', value: 100_000, ts: 2 });
    expect(raised[0]!.message).toBe('BTC-USD price 100000 crossed above 100000');
    e.onFeedPrice('BTC-USD', 99_999, 5);
    e.onFeedPrice('BTC-USD', 100_001, 6);
    expect(raised).toHaveLength(2);
    expect(e.report().rules[0]).toMatchObject({ state: 'active', fired: 2, suppressed: 0, lastFiredAt: 6, lastValue: 100_001 });
  });

  it('hysteresis: a dip inside the band does not re-arm', () => {
    const { e, raised } = engine([above({ hysteresisPct: 1 })]);
    e.onFeedPrice('BTC-USD', 100_100, 1);
    e.onFeedPrice('BTC-USD', 99_500, 2); // within 1 % below the level
    e.onFeedPrice('BTC-USD', 100_100, 3);
    expect(raised).toHaveLength(1);
    e.onFeedPrice('BTC-USD', 98_900, 4); // beyond the band: re-armed
    e.onFeedPrice('BTC-USD', 100_100, 5);
    expect(raised).toHaveLength(2);
  });

  it('cooldown: a new crossing within it raises nothing and is counted', () => {
    const { e, raised } = engine([above({ cooldownMs: 60_000 })]);
    e.onFeedPrice('BTC-USD', 100_100, 1_000);
    e.onFeedPrice('BTC-USD', 99_000, 2_000);
    e.onFeedPrice('BTC-USD', 100_100, 3_000);
    expect(raised).toHaveLength(1);
    expect(e.report().rules[0]).toMatchObject({ fired: 1, suppressed: 1 });
    e.onFeedPrice('BTC-USD', 99_000, 62_000);
    e.onFeedPrice('BTC-USD', 100_100, 62_000);
    expect(raised).toHaveLength(2);
  });

  it('below on a market trade; change within a window; volume against the mean; spread for a duration', () => {
    const { e, raised } = engine([
      { id: 'low', level: 'info', cooldownMs: 0, type: 'price', target: { exchange: 'binance', symbol: 'BTCUSDT' }, above: undefined, below: 90, hysteresisPct: 0 },
      { id: 'move', level: 'critical', cooldownMs: 0, type: 'change', target: { exchange: 'binance', symbol: 'ETHUSDT' }, pct: 5, windowMs: 64_000 },
      { id: 'vol', level: 'warning', cooldownMs: 0, type: 'volume', exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', factor: 3, bars: 3 },
      { id: 'wide', level: 'warning', cooldownMs: 0, type: 'spread', exchange: 'binance', symbol: 'BTCUSDT', bps: 10, forMs: 5_000 },
    ]);
    e.onTrade('binance', 'BTCUSDT', 89, 1);
    expect(raised.map((a) => a.source)).toEqual(['low']);
    e.onTrade('binance', 'ETHUSDT', 100, 0);
    e.onTrade('binance', 'ETHUSDT', 103, 30_000);
    e.onTrade('binance', 'ETHUSDT', 104.9, 60_000);
    expect(raised.map((a) => a.source)).toEqual(['low']);
    e.onTrade('binance', 'ETHUSDT', 105, 61_000);
    expect(raised.at(-1)!.source).toBe('move');
    expect(raised.at(-1)!.value).toBeCloseTo(5, 9);
    for (const v of [1, 1, 1]) e.onBarClose('binance', 'BTCUSDT', '1m', v, 0);
    e.onBarClose('binance', 'BTCUSDT', '1m', 3, 0); // 3× the mean: not above
    expect(raised.at(-1)!.source).toBe('move');
    e.onBarClose('binance', 'BTCUSDT', '1m', 10, 0); // mean of 1, 1, 3 = 5/3: 6×
    expect(raised.at(-1)).toMatchObject({ source: 'vol', value: 6 });
    e.onQuote('binance', 'BTCUSDT', 99.9, 100.1, 100_000); // 20 bps
    e.check(104_000);
    expect(raised.at(-1)!.source).toBe('vol');
    e.check(105_000);
    expect(raised.at(-1)).toMatchObject({ source: 'wide' });
    expect(raised.at(-1)!.value).toBeCloseTo(20, 6);
  });

  it('stale feed and disconnected exchange for a duration; source switches; portfolio moves', () => {
    const { e, raised } = engine([
      { id: 'feed-stale', level: 'warning', cooldownMs: 0, type: 'stale', target: { feed: 'BTC-USD' }, forMs: 10_000 },
      { id: 'ex-down', level: 'critical', cooldownMs: 0, type: 'stale', target: { exchange: 'binance' }, forMs: 5_000 },
      { id: 'switch', level: 'info', cooldownMs: 0, type: 'source', feed: 'BTC-USD' },
      { id: 'pf', level: 'warning', cooldownMs: 0, type: 'portfolio', portfolio: 'main', pct: 3, windowMs: 64_000 },
    ]);
    e.onFeedPrice('BTC-USD', 1, 1_000);
    e.check(10_999);
    expect(raised).toEqual([]);
    e.check(11_000);
    expect(raised.map((a) => a.source)).toEqual(['feed-stale']);
    e.check(20_000); // still stale: no repeat
    e.onExchangeState('binance', 'reconnecting', 20_000);
    e.check(24_000);
    e.onExchangeState('binance', 'connected', 24_500);
    e.check(26_000);
    expect(raised.map((a) => a.source)).toEqual(['feed-stale']);
    e.onExchangeState('binance', 'reconnecting', 30_000);
    e.check(35_000);
    expect(raised.map((a) => a.source)).toEqual(['feed-stale', 'ex-down']);
    e.onSource({ feed: 'BTC-USD', from: 'a:X', to: 'b:Y', reason: 'stale', ts: 36_000 });
    e.onSource({ feed: 'BTC-USD', from: 'b:Y', to: 'a:X', reason: 'recovered', ts: 37_000 });
    expect(raised.filter((a) => a.source === 'switch').map((a) => a.message)).toEqual(['BTC-USD source a:X → b:Y (stale)', 'BTC-USD source b:Y → a:X (recovered)']);
    e.onPortfolio('main', 1000, 40_000);
    e.onPortfolio('main', 975, 50_000);
    e.onPortfolio('main', 969, 60_000);
    expect(raised.at(-1)).toMatchObject({ source: 'pf' });
    expect(raised.at(-1)!.value).toBeCloseTo(-3.1, 6);
    expect(e.report().recent).toHaveLength(raised.length);
  });
});
