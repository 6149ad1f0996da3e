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
    expect(diffConfig(parseConfig(base), parseConfig(next))).toEqual([{ exchange: 'binance', add: ['SOLUSDT', 'BNBUSDT'], remove: ['ETHUSDT'] }]);
  });

  it('an identical file changes nothing', () => {
    expect(diffConfig(parseConfig(base), parseConfig(base))).toEqual([]);
  });

  it('refuses whole, naming every difference only a restart applies', () => {
    const message = refusal({
      timeframes: ['1m', '5m'],
      exchanges: { binance: { symbols: ['SOLUSDT'], channels: ['trades'] }, okx: { symbols: ['BTC-USDT'] } },
    });
    expect(message).toContain('timeframes');
    expect(message).toContain('exchanges.binance.channels');
    expect(message).toContain('exchanges.kraken (removed)');
    expect(message).toContain('exchanges.okx (added)');
    expect(message).not.toContain('symbols');
  });
});
