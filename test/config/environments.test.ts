/** Config environments: picked by --env or TICKWIRE_ENV, deep-merged over the base before `${VAR}` substitution and validation. */
import { describe, expect, it } from 'vitest';
import { deepMerge } from '../../src/config/environments.ts';
import { loadConfigText, parseConfig } from '../../src/config/load.ts';
import { configError } from '../support/config-error.ts';

const YAML = `
server: { port: 8080 }
timeframes: [1m, 5m]
storage: false
exchanges:
  binance:
    symbols: [BTCUSDT]
    reliability: { reconnect: { initialMs: 1000 }, staleAfterMs: 30000 }
  simulated: { symbols: [SIM-BTC] }
environments:
  dev:
    server: { port: 8081 }
    exchanges: { binance: { reliability: { staleAfterMs: 10000 } } }
  prod:
    server: { host: 0.0.0.0, port: "\${PORT}" }
    auth: { tokens: [{ name: ops, sha256: "${'a'.repeat(64)}" }] }
    timeframes: [1m]
    exchanges: { binance: { symbols: [BTCUSDT, ETHUSDT] } }
`;

describe('config environments', () => {
  it('no environment chosen: the base alone, environments ignored (their ${VAR} need not be set)', () => {
    const c = loadConfigText(YAML, 't.yaml', {});
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(c.timeframes).toEqual(['1m', '5m']);
    expect(c.exchanges['binance']!.reliability!.staleAfterMs).toBe(30_000);
  });

  it('TICKWIRE_ENV picks one: maps merge key by key, deep', () => {
    const c = loadConfigText(YAML, 't.yaml', { TICKWIRE_ENV: 'dev' });
    expect(c.server.port).toBe(8081);
    expect(c.exchanges['binance']!.reliability).toMatchObject({ staleAfterMs: 10_000, reconnect: { initialMs: 1000 } });
    expect(c.exchanges['binance']!.symbols).toEqual(['BTCUSDT']);
    expect(Object.keys(c.exchanges)).toEqual(['binance', 'simulated']);
  });

  it('--env wins over TICKWIRE_ENV; lists replace; ${VAR} is read for the chosen environment', () => {
    const c = loadConfigText(YAML, 't.yaml', { TICKWIRE_ENV: 'dev', PORT: '9090' }, 'prod');
    expect(c.server).toMatchObject({ host: '0.0.0.0', port: 9090 });
    expect(c.timeframes).toEqual(['1m']);
    expect(c.exchanges['binance']!.symbols).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(c.auth.tokens.map((t) => t.name)).toEqual(['ops']);
    // prod reads ${PORT}: unset, it is refused, and the message names the environment.
    const err = configError(() => loadConfigText(YAML, 't.yaml', {}, 'prod'));
    expect(err.message).toContain('t.yaml (environment prod): server.port: environment variable PORT is not set');
  });

  it('an empty TICKWIRE_ENV chooses none', () => {
    expect(loadConfigText(YAML, 't.yaml', { TICKWIRE_ENV: '' }).server.port).toBe(8080);
  });

  it('an environment that is not defined is refused, naming the ones that are', () => {
    const err = configError(() => loadConfigText(YAML, 't.yaml', { TICKWIRE_ENV: 'staging' }));
    expect(err.issues).toEqual([{ path: 'environments', message: 'no environment "staging" (asked by --env or TICKWIRE_ENV), expected one of dev, prod' }]);
    const none = configError(() => loadConfigText('exchanges: { simulated: { symbols: [A] } }', 'u.yaml', {}, 'dev'));
    expect(none.issues[0]!.path).toBe('environments');
    expect(none.message).toContain('missing, expected a map of environments holding "dev"');
  });

  it('malformed environments are refused with their path; a bad value inside one is reported after the merge', () => {
    const bad = configError(() => parseConfig({ exchanges: { simulated: { symbols: ['A'] } }, environments: { dev: [1], prod: { environments: {} } } }));
    expect(bad.issues.map((i) => i.path)).toEqual(['environments.dev', 'environments.prod.environments']);
    const value = configError(() => parseConfig({ exchanges: { simulated: { symbols: ['A'] } }, environments: { dev: { server: { port: -1 } } } }, 'lib', 'dev'));
    expect(value.message).toContain('lib (environment dev): server.port');
  });

  it('deepMerge: maps merge, everything else replaces, inputs untouched, __proto__ stays a key', () => {
    const base = { a: { b: 1, c: [1, 2] }, d: 'x', e: { f: 1 } };
    const over = JSON.parse('{"a":{"c":[3]},"d":null,"e":false,"__proto__":{"polluted":true}}');
    const merged = deepMerge(base, over) as Record<string, unknown>;
    expect(merged).toEqual({ a: { b: 1, c: [3] }, d: null, e: false, ['__proto__']: { polluted: true } });
    expect(Object.hasOwn(merged, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(base).toEqual({ a: { b: 1, c: [1, 2] }, d: 'x', e: { f: 1 } });
  });
});
