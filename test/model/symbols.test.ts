import { describe, expect, it } from 'vitest';
import { SymbolIndex, symbolRef } from '../../src/model/symbols.ts';

describe('symbols', () => {
  it('normalizes native ids of each venue style to BASE-QUOTE', () => {
    expect(symbolRef('BTCUSDT')).toEqual({ native: 'BTCUSDT', normalized: 'BTC-USDT', base: 'BTC', quote: 'USDT' });
    expect(symbolRef('btcusdt').normalized).toBe('BTC-USDT');
    expect(symbolRef('ETHFDUSD').normalized).toBe('ETH-FDUSD');
    expect(symbolRef('ETHBTC').normalized).toBe('ETH-BTC');
    expect(symbolRef('BTC-USD').normalized).toBe('BTC-USD');
    expect(symbolRef('XBT/USD')).toEqual({ native: 'XBT/USD', normalized: 'BTC-USD', base: 'BTC', quote: 'USD' });
    expect(symbolRef('XDG/EUR').normalized).toBe('DOGE-EUR');
    expect(symbolRef('BTC-USDT-SWAP').normalized).toBe('BTC-USDT');
    expect(symbolRef('AAPL')).toEqual({ native: 'AAPL', normalized: 'AAPL', base: 'AAPL', quote: '' });
  });

  it('resolves native, normalized and differently cased names to the native id', () => {
    const index = new SymbolIndex();
    index.add('BTCUSDT');
    index.add('XBT/USD');
    expect(index.resolve('BTCUSDT')?.native).toBe('BTCUSDT');
    expect(index.resolve('btcusdt')?.native).toBe('BTCUSDT');
    expect(index.resolve('BTC-USDT')?.native).toBe('BTCUSDT');
    expect(index.resolve('BTC/USDT')?.native).toBe('BTCUSDT');
    expect(index.resolve('BTC-USD')?.native).toBe('XBT/USD');
    expect(index.resolve('xbt/usd')?.native).toBe('XBT/USD');
    expect(index.resolve('ETHUSDT')).toBeUndefined();
    expect(index.list().map((s) => s.native)).toEqual(['BTCUSDT', 'XBT/USD']);
  });
});
