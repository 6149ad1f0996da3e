/**
 * The `feeds:`, `portfolios:` and `alerts:` sections: defaults filled in,
 * sources and symbols resolved to native ids, and every bad value a config
 * error at its key path.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { pathName, priceGraph } from '../../src/portfolios/price-paths.ts';
import { configError } from '../support/config-error.ts';

const EXCHANGES = { binance: { symbols: ['BTCUSDT', 'SOLUSDT'] }, coinbase: { symbols: ['BTC-USD'] } };
const problems = (config: Record<string, unknown>) => configError(() => parseConfig({ exchanges: EXCHANGES, ...config })).message.split('\n');

describe('feeds', () => {
  it('sources resolve to native symbols; defaults are filled in', () => {
    const c = parseConfig({ exchanges: EXCHANGES, feeds: { 'BTC-USD': { sources: ['coinbase:BTC-USD', 'binance:BTC-USDT'] } } });
    expect(c.feeds!['BTC-USD']).toEqual({
      name: 'BTC-USD', base: 'BTC', quote: 'USD', staleMs: 3000, maxDeviationBps: 50, switchBackMs: 30_000,
      sources: [{ exchange: 'coinbase', symbol: 'BTC-USD', key: 'coinbase:BTC-USD' }, { exchange: 'binance', symbol: 'BTCUSDT', key: 'binance:BTCUSDT' }],
    });
  });

  it('bad names, sources and values are named by key path', () => {
    const p = problems({
      feeds: {
        'btc/usd': { sources: ['coinbase:BTC-USD'] },
        'BTC-USD': { sources: ['kraken:BTC/USD', 'binance:DOGEUSDT', 'coinbase', 'coinbase:BTC-USD', 'coinbase:BTC-USD'], staleMs: 5, extra: 1 },
        'ETH-USD': { sources: [] },
      },
    }).join('\n');
    expect(p).toMatch(/feeds\.btc\/usd: .*expected a feed name BASE-QUOTE/);
    expect(p).toMatch(/feeds\.BTC-USD\.sources\[0\]: got "kraken:BTC\/USD", expected an exchange configured under exchanges/);
    expect(p).toMatch(/feeds\.BTC-USD\.sources\[1\]: got "binance:DOGEUSDT", expected a symbol configured on binance/);
    expect(p).toMatch(/feeds\.BTC-USD\.sources\[2\]: .*expected exchange:symbol/);
    expect(p).toMatch(/feeds\.BTC-USD\.sources\[4\]: .*expected each source once/);
    expect(p).toMatch(/feeds\.BTC-USD\.staleMs: got 5/);
    expect(p).toMatch(/feeds\.BTC-USD\.extra: unknown key/);
    expect(p).toMatch(/feeds\.ETH-USD\.sources: got an empty list/);
  });

  it('feeds need the 1m timeframe', () => {
    expect(problems({ timeframes: ['5m'], feeds: { 'BTC-USD': { sources: ['coinbase:BTC-USD'] } } }).join('\n')).toMatch(/timeframes: .*to include 1m when feeds are configured/);
  });
});

describe('portfolios', () => {
  it('without a peg, SOL is priced through BTC: SOLUSDT, 1/BTCUSDT, BTC-USD', () => {
    const c = parseConfig({ exchanges: EXCHANGES });
    expect(pathName(priceGraph({}, c.exchanges, {}).path('SOL', 'USD')!)).toBe('binance:SOLUSDT*1/binance:BTCUSDT*coinbase:BTC-USD');
    expect(pathName(priceGraph({}, c.exchanges, { USDT: 'USD' }).path('SOL', 'USD')!)).toBe('binance:SOLUSDT*peg:USDT=USD');
  });

  it('holdings priced through markets and pegs are accepted, with defaults', () => {
    const c = parseConfig({ exchanges: EXCHANGES, portfolios: { main: { quote: 'USD', holdings: { BTC: 0.5, SOL: 100, USD: 2500 }, pegs: { USDT: 'USD' } } } });
    expect(c.portfolios!['main']).toEqual({
      id: 'main', quote: 'USD', holdings: { BTC: 0.5, SOL: 100, USD: 2500 }, pegs: { USDT: 'USD' }, minChangeBps: 1, heartbeatMs: 10_000, staleMs: 60_000,
    });
  });

  it('an asset nothing prices, a negative amount and a bad peg are config errors at their path', () => {
    expect(problems({ portfolios: { main: { quote: 'USD', holdings: { DOGE: 1 } } } }).join('\n')).toMatch(/portfolios\.main\.holdings: .*holdings\.DOGE.*priced in USD/);
    expect(problems({ portfolios: { main: { quote: 'USD', holdings: { BTC: -1 } } } }).join('\n')).toMatch(/portfolios\.main\.holdings: .*a finite amount ≥ 0/);
    expect(problems({ portfolios: { main: { quote: 'USD', pegs: { USDT: 5 } } } }).join('\n')).toMatch(/portfolios\.main\.pegs\.USDT: got 5/);
    expect(problems({ portfolios: { main: { holdings: {} } } }).join('\n')).toMatch(/portfolios\.main\.quote: missing/);
  });
});

describe('alerts', () => {
  const feeds = { 'BTC-USD': { sources: ['coinbase:BTC-USD'] } };

  it('rules are filled in with their defaults; a market symbol resolves to its native id', () => {
    const c = parseConfig({
      exchanges: EXCHANGES,
      feeds,
      alerts: {
        rules: [
          { id: 'hi', type: 'price', feed: 'BTC-USD', above: 100 },
          { id: 'vol', type: 'volume', exchange: 'binance', symbol: 'BTC-USDT' },
        ],
        webhook: { url: 'https://hooks.example.com/x' },
      },
    });
    expect(c.alerts!.rules).toEqual([
      { id: 'hi', type: 'price', level: 'warning', cooldownMs: 60_000, target: { feed: 'BTC-USD' }, above: 100, below: undefined, hysteresisPct: 0 },
      { id: 'vol', type: 'volume', level: 'warning', cooldownMs: 60_000, exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', factor: 3, bars: 20 },
    ]);
    expect(c.alerts!.webhook).toEqual({ url: 'https://hooks.example.com/x', retries: 5, backoffMs: 1000, timeoutMs: 5000, maxQueue: 1000 });
  });

  it('bad rules are config errors with the key path', () => {
    const p = problems({
      feeds,
      alerts: {
        rules: [
          { id: 'a', type: 'pricey' },
          { id: 'b', type: 'price', feed: 'ETH-USD', above: 1 },
          { id: 'c', type: 'price', feed: 'BTC-USD', above: 1, below: 2 },
          { id: 'd', type: 'spread', exchange: 'binance', symbol: 'DOGEUSDT', bps: 5 },
          { id: 'e', type: 'change', exchange: 'binance', symbol: 'BTCUSDT' },
          { id: 'e', type: 'source', feed: 'BTC-USD', level: 'fatal', colour: 'red' },
          { id: 'f', type: 'portfolio', portfolio: 'main', pct: 1 },
        ],
        webhook: { url: 'ftp://x' },
      },
    }).join('\n');
    expect(p).toMatch(/alerts\.rules\[0\]\.type: got "pricey", expected one of price, change/);
    expect(p).toMatch(/alerts\.rules\[1\]\.feed: got "ETH-USD", expected a configured feed \(BTC-USD\)/);
    expect(p).toMatch(/alerts\.rules\[2\]: .*exactly one of above or below/);
    expect(p).toMatch(/alerts\.rules\[3\]\.symbol: got "DOGEUSDT", expected a symbol configured on binance/);
    expect(p).toMatch(/alerts\.rules\[4\]\.pct: missing/);
    expect(p).toMatch(/alerts\.rules\[5\]\.level: got "fatal"/);
    expect(p).toMatch(/alerts\.rules\[5\]\.colour: unknown key/);
    expect(p).toMatch(/alerts\.rules\[6\]\.portfolio: got "main", expected a configured portfolio \(none\)/);
    expect(p).toMatch(/alerts\.webhook\.url: got "ftp:\/\/x", expected an http or https URL/);
  });
});
