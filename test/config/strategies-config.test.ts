/**
 * The `strategies:` and `pool:` sections: defaults, module paths resolved
 * against the config file's folder, and every mistake named by its key path.
 * Pure (reads files only).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.ts';

const FIXTURES = path.join(import.meta.dirname, '../strategies/fixtures');
const MODULE = path.join(FIXTURES, 'ordered.mjs');
const EXCHANGES = { binance: { symbols: ['BTCUSDT'] } };

function issues(config: unknown): { path: string; message: string }[] {
  try {
    parseConfig(config);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => ({ path: i.path, message: i.message }));
    throw err;
  }
  return [];
}

describe('config: strategies', () => {
  it('fills in the defaults and resolves the series', () => {
    const c = parseConfig({ timeframes: ['M1'], exchanges: EXCHANGES, strategies: { s: { module: MODULE, exchange: 'binance', symbol: 'BTC-USDT', timeframe: '1m' } } });
    expect(c.strategies).toEqual({
      s: {
        module: MODULE, exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', lookback: 1, params: {}, features: {}, timeoutMs: 250, maxErrors: 5,
        executor: { kind: 'paper', cash: 10_000, feeBps: 0, slippageBps: 0 },
      },
    });
    expect(c.pool).toBeUndefined();
    expect(parseConfig({ exchanges: EXCHANGES }).strategies).toBeUndefined();
  });

  it('reads the issue\'s example from a file, the module relative to the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tw-strategies-'));
    writeFileSync(path.join(dir, 'sma.mjs'), 'export const predict = () => ({ value: 1 }); export const decide = () => ({ action: "hold" });');
    writeFileSync(path.join(dir, 'tickwire.yaml'), `
exchanges: { binance: { symbols: [BTCUSDT] } }
storage: false
strategies:
  sma-cross:
    module: ./sma.mjs
    exchange: binance
    symbol: BTCUSDT
    timeframe: 1m
    lookback: 50
    params: { fast: 5, slow: 20 }
    features: { sma5: { sma: 5 }, sma20: { sma: 20 }, rsi14: { rsi: 14 }, atr14: { atr: 14 }, ret1: { returns: 1 } }
    timeoutMs: 250
    executor: { kind: paper, cash: 10000, feeBps: 10, slippageBps: 2 }
pool: { threads: 1 }
`);
    const c = loadConfigFile(path.join(dir, 'tickwire.yaml'));
    expect(c.pool).toEqual({ threads: 1, nice: 19 });
    expect(c.strategies!['sma-cross']).toMatchObject({
      module: path.join(dir, 'sma.mjs'), lookback: 50, params: { fast: 5, slow: 20 },
      features: { sma5: { kind: 'sma', period: 5 }, rsi14: { kind: 'rsi', period: 14 }, atr14: { kind: 'atr', period: 14 }, ret1: { kind: 'returns', period: 1 } },
      executor: { kind: 'paper', cash: 10_000, feeBps: 10, slippageBps: 2 },
    });
  });

  it('names every mistake by its key path', () => {
    const got = issues({
      timeframes: ['1m'],
      exchanges: EXCHANGES,
      pool: { threads: 0, nice: 20 },
      strategies: {
        'bad name!': { module: MODULE },
        a: { module: './nowhere.mjs', exchange: 'kraken', symbol: 'BTCUSDT', timeframe: '1m' },
        b: { module: MODULE, exchange: 'binance', symbol: 'ETHUSDT', timeframe: '1m' },
        c: { module: MODULE, exchange: 'binance', symbol: 'BTCUSDT', timeframe: '5m', lookback: 0, timeoutMs: -1, colour: 'red' },
        d: { module: MODULE, exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', features: { f: { macd: 3 }, vwap: { sma: 2 }, g: { sma: 0 } } },
        e: { module: MODULE, exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', executor: { kind: 'webhook', url: 'ftp://x' } },
        f: { module: MODULE, exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', executor: { kind: 'paper', feeBps: 5000 }, params: [1] },
      },
    });
    expect(got.map((i) => i.path).sort()).toEqual([
      'pool.threads',
      'pool.nice',
      'strategies["bad name!"]',
      'strategies.a.module',
      'strategies.a.exchange',
      'strategies.b.symbol',
      'strategies.c.colour',
      'strategies.c.timeframe',
      'strategies.c.lookback',
      'strategies.c.timeoutMs',
      'strategies.d.features.f',
      'strategies.d.features.vwap',
      'strategies.d.features.g.sma',
      'strategies.e.executor.url',
      'strategies.f.params',
      'strategies.f.executor.feeBps',
    ].sort());
    const by = (p: string) => got.find((i) => i.path === p)!.message;
    expect(by('strategies.a.module')).toMatch(/expected an existing module file/);
    expect(by('strategies.a.exchange')).toBe('got "kraken", expected a configured exchange (binance)');
    expect(by('strategies.b.symbol')).toBe('got "ETHUSDT", expected a symbol configured on binance (BTCUSDT)');
    expect(by('strategies.c.timeframe')).toBe('got "5m", expected a timeframe the config keeps (1m)');
    expect(by('strategies.d.features.vwap')).toMatch(/always computed/);
  });
});
