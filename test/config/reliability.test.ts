/** `exchanges.<name>.reliability` and `streamer:`: defaults are today's values, every key checked with its path, and what the worker is handed. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { connectionOptions, defaultReliability } from '../../src/config/reliability.ts';
import { configError } from '../support/config-error.ts';

const binance = (extra: Record<string, unknown>) => ({ exchanges: { binance: { symbols: ['BTCUSDT'], ...extra }, bybit: { symbols: ['BTCUSDT'] } } });

describe('config: reliability', () => {
  it('absent: the values tickwire always used, handed to the worker as its connection options', () => {
    const r = parseConfig(binance({})).exchanges['binance']!.reliability!;
    expect(r).toEqual({
      reconnect: { initialMs: 500, maxMs: 30_000, jitter: 'full' },
      circuitBreaker: { failures: 10, restMs: 300_000 },
      staleAfterMs: 60_000,
      rest: { minIntervalMs: 0, maxIntervalMs: 60_000 },
    });
    expect(r).toEqual(defaultReliability());
    expect(connectionOptions(r)).toEqual({
      backoffBaseMs: 500, backoffMaxMs: 30_000, backoffJitter: 'full', staleAfterMs: 60_000, circuitAfterFailures: 10, circuitCooldownMs: 300_000,
    });
  });

  it('each key overrides its value alone, per exchange', () => {
    const config = parseConfig(binance({
      reliability: { reconnect: { initialMs: 1000, jitter: 'equal' }, circuitBreaker: { restMs: 5000 }, staleAfterMs: 15_000, rest: { minIntervalMs: 250 } },
    }));
    expect(config.exchanges['binance']!.reliability).toEqual({
      reconnect: { initialMs: 1000, maxMs: 30_000, jitter: 'equal' },
      circuitBreaker: { failures: 10, restMs: 5000 },
      staleAfterMs: 15_000,
      rest: { minIntervalMs: 250, maxIntervalMs: 60_000 },
    });
    expect(config.exchanges['bybit']!.reliability).toEqual(defaultReliability());
    // An initial delay past the default maximum raises the maximum with it.
    expect(parseConfig(binance({ reliability: { reconnect: { initialMs: 45_000 } } })).exchanges['binance']!.reliability!.reconnect.maxMs).toBe(45_000);
  });

  it('bad values are refused with their key path, every one at once', () => {
    const err = configError(() => parseConfig(binance({
      reliability: {
        reconnect: { initialMs: 5, maxMs: 'x', jitter: 'some' },
        circuitBreaker: { failures: 0, restMs: 10 },
        staleAfterMs: 100,
        rest: { minIntervalMs: 2000, maxIntervalMs: 1000 },
        retries: 3,
      },
    })));
    const paths = err.issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining([
      'exchanges.binance.reliability.reconnect.initialMs',
      'exchanges.binance.reliability.reconnect.maxMs',
      'exchanges.binance.reliability.reconnect.jitter',
      'exchanges.binance.reliability.circuitBreaker.failures',
      'exchanges.binance.reliability.circuitBreaker.restMs',
      'exchanges.binance.reliability.staleAfterMs',
      'exchanges.binance.reliability.rest.maxIntervalMs',
      'exchanges.binance.reliability.retries',
    ]));
    expect(err.message).toContain('exchanges.binance.reliability.rest.maxIntervalMs: got 1000, expected at least minIntervalMs (2000)');
    expect(err.message).toContain('exchanges.binance.reliability.reconnect.jitter: got "some", expected one of full, equal');
  });

  it('a reconnect maximum below the initial delay is refused', () => {
    const err = configError(() => parseConfig(binance({ reliability: { reconnect: { initialMs: 2000, maxMs: 1000 } } })));
    expect(err.issues).toEqual([{ path: 'exchanges.binance.reliability.reconnect.maxMs', message: 'got 1000, expected at least initialMs (2000)' }]);
  });
});

describe('config: streamer', () => {
  it('absent: no exchange pinned; set: one of the configured exchanges', () => {
    expect(parseConfig(binance({})).streamer).toEqual({ exchange: null });
    expect(parseConfig({ ...binance({}), streamer: { exchange: 'bybit' } }).streamer).toEqual({ exchange: 'bybit' });
  });

  it('an exchange not configured, or an unknown key, is refused', () => {
    const err = configError(() => parseConfig({ ...binance({}), streamer: { exchange: 'kraken', venue: 'x' } }));
    expect(err.issues.map((i) => i.path).sort()).toEqual(['streamer.exchange', 'streamer.venue']);
    expect(err.message).toContain('streamer.exchange: got "kraken", expected one of the configured exchanges (binance, bybit)');
  });
});
