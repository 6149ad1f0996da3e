/** `exchanges.<name>.onDemand` (docs/on-demand.md): defaults, `true`, off, and bad values named by key path. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { configError } from '../support/config-error.ts';

const base = (onDemand: unknown) => ({ exchanges: { binance: { symbols: ['BTCUSDT'], onDemand } } });

describe('onDemand config', () => {
  it('takes the defaults for {} and true, and is off when absent or false', () => {
    expect(parseConfig(base({}), 't').exchanges['binance']!.onDemand).toEqual({ maxSymbols: 50, idleS: 300 });
    expect(parseConfig(base(true), 't').exchanges['binance']!.onDemand).toEqual({ maxSymbols: 50, idleS: 300 });
    expect(parseConfig(base({ maxSymbols: 5, idleS: 10 }), 't').exchanges['binance']!.onDemand).toEqual({ maxSymbols: 5, idleS: 10 });
    expect(parseConfig(base(false), 't').exchanges['binance']!.onDemand).toBeUndefined();
    expect(parseConfig({ exchanges: { binance: { symbols: ['BTCUSDT'] } } }, 't').exchanges['binance']!.onDemand).toBeUndefined();
  });

  it('names the key of a bad value', () => {
    expect(configError(() => parseConfig(base({ maxSymbols: 0, idleS: 1.5, every: 3 }), 't')).issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'exchanges.binance.onDemand.maxSymbols' }),
        expect.objectContaining({ path: 'exchanges.binance.onDemand.idleS' }),
        expect.objectContaining({ path: 'exchanges.binance.onDemand.every' }),
      ]),
    );
    expect(configError(() => parseConfig(base('yes'), 't')).issues).toEqual([expect.objectContaining({ path: 'exchanges.binance.onDemand' })]);
  });
});
