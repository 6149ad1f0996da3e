/**
 * What a reload may change live (src/api/config-diff.ts): symbol lists, and
 * nothing else without a restart. Pure: configs in, a diff or a refusal out.
 */
import { describe, expect, it } from 'vitest';
import { diffConfig } from '../../src/api/config-diff.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';

const base = { timeframes: ['1m'], exchanges: { binance: { symbols: ['BTCUSDT', 'ETHUSDT'] }, kraken: { symbols: ['XBT/USD'] } } };

function refusal(next: unknown): string {
  try {
    diffConfig(parseConfig(base), parseConfig(next));
  } catch (err) {
    expect(err).toBeInstanceOf(TickwireError);
    expect((err as TickwireError).code).toBe(ErrorCode.CHANGE_REFUSED);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('config diff for a reload', () => {
  it('lists the symbols added and removed per exchange, in the new file order', () => {
    const next = { ...base, exchanges: { binance: { symbols: ['SOLUSDT', 'BTCUSDT', 'BNBUSDT'] }, kraken: { symbols: ['XBT/USD'] } } };
    expect(diffConfig(parseConfig(base), parseConfig(next))).toEqual({
      removeExchanges: [],
      addExchanges: [],
      symbols: [{ exchange: 'binance', add: ['SOLUSDT', 'BNBUSDT'], remove: ['ETHUSDT'] }],
    });
  });

  it('lists exchanges the file no longer names and those it names anew: the file wins', () => {
    const next = { ...base, exchanges: { binance: { symbols: ['BTCUSDT', 'ETHUSDT'] }, okx: { symbols: ['BTC-USDT'] } } };
    expect(diffConfig(parseConfig(base), parseConfig(next))).toEqual({ removeExchanges: ['kraken'], addExchanges: ['okx'], symbols: [] });
  });

  it('an identical file changes nothing', () => {
    expect(diffConfig(parseConfig(base), parseConfig(base))).toEqual({ removeExchanges: [], addExchanges: [], symbols: [] });
  });

  it('refuses whole, naming every difference only a restart applies', () => {
    const message = refusal({
      timeframes: ['1m', '5m'],
      exchanges: { binance: { symbols: ['SOLUSDT'], channels: ['trades'] }, okx: { symbols: ['BTC-USDT'] } },
    });
    expect(message).toContain('timeframes');
    expect(message).toContain('exchanges.binance.channels');
    expect(message).not.toContain('kraken'); // removed live
    expect(message).not.toContain('okx'); // added live
    expect(message).not.toContain('symbols');
  });
});
