/** The `cluster:` section (docs/scale-out.md): defaults, durations, credentials from the environment, and what it refuses. */
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config/cluster.ts';
import { loadConfigText, parseConfig } from '../../src/config/load.ts';
import { ClusterNames, subjectToken } from '../../src/cluster/subjects.ts';
import { configError } from '../support/config-error.ts';

const EXCHANGES = { simulated: { symbols: ['SIM-BTC'] } };

describe('config: cluster', () => {
  it('is null when absent, and fills its defaults when present', () => {
    expect(parseConfig({ exchanges: EXCHANGES }).cluster).toBeNull();
    expect(parseConfig({ exchanges: EXCHANGES, cluster: { servers: ['nats://127.0.0.1:4222'] } }).cluster).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      name: 'tickwire',
      replicas: 1,
      history: { trades: 3_600_000, bars: 30 * 86_400_000 },
      leaseTtlMs: 3_000,
      conflateMs: 50,
      replayMax: 10_000,
      user: undefined,
      pass: undefined,
      token: undefined,
    });
  });

  it('reads the issue example, durations and credentials from ${VAR} (never shown in errors)', () => {
    const yaml = [
      'exchanges: { simulated: { symbols: [SIM-BTC] } }',
      'cluster:',
      '  servers: [nats://127.0.0.1:4222, nats://127.0.0.1:4223]',
      '  name: prod-eu',
      '  replicas: 3',
      '  history: { trades: 90m, bars: 7d }',
      '  leaseTtl: 5s',
      '  user: ${NATS_USER}',
      '  pass: ${NATS_PASS}',
    ].join('\n');
    const c = loadConfigText(yaml, 't.yaml', { NATS_USER: 'feed', NATS_PASS: 's3cret' }).cluster!;
    expect(c).toMatchObject({ name: 'prod-eu', replicas: 3, history: { trades: 90 * 60_000, bars: 7 * 86_400_000 }, leaseTtlMs: 5_000, user: 'feed', pass: 's3cret' });
    const err = configError(() => loadConfigText(yaml.replace('replicas: 3', 'replicas: ${R}'), 't.yaml', { NATS_USER: 'u', NATS_PASS: 'p', R: '2' }));
    expect(err.message).toContain('cluster.replicas');
    expect(err.message).not.toContain('s3cret');
  });

  it('refuses bad values, naming the key and what is expected', () => {
    const err = configError(() =>
      parseConfig({
        exchanges: EXCHANGES,
        cluster: { servers: ['http://x'], name: 'a.b', replicas: 2, history: { trades: '1 hour', bars: '10m' }, leaseTtl: '100ms', conflate: '2s', replayMax: -1, extra: 1 },
      }),
    );
    for (const key of ['cluster.servers.0', 'cluster.name', 'cluster.replicas', 'cluster.history.trades', 'cluster.history.bars', 'cluster.leaseTtl', 'cluster.conflate', 'cluster.replayMax', 'cluster.extra']) {
      expect(err.message).toContain(key);
    }
    expect(configError(() => parseConfig({ exchanges: EXCHANGES, cluster: { servers: [] } })).message).toContain('cluster.servers');
    expect(configError(() => parseConfig({ exchanges: EXCHANGES, cluster: { servers: ['nats://127.0.0.1:4222'], replayMax: 1.5 } })).message).toContain('cluster.replayMax');
    expect(parseConfig({ exchanges: EXCHANGES, cluster: { servers: ['nats://127.0.0.1:4222'], replayMax: 0 } }).cluster!.replayMax).toBe(0);
    expect(parseConfig({ exchanges: EXCHANGES, cluster: { servers: ['nats://127.0.0.1:4222'], conflate: '0ms' } }).cluster!.conflateMs).toBe(0);
    expect(parseConfig({ exchanges: EXCHANGES, cluster: { servers: ['nats://127.0.0.1:4222'], conflate: '250ms' } }).cluster!.conflateMs).toBe(250);
    expect(configError(() => parseConfig({ exchanges: EXCHANGES, cluster: { servers: ['nats://127.0.0.1:4222'], conflate: 50 } })).message).toMatch(/cluster\.conflate.*50ms/);
  });

  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('1.5h')).toBeUndefined();
    expect(parseDuration('h')).toBeUndefined();
  });
});

describe('cluster: subjects', () => {
  it('derives one subject per channel, escaping what a subject token cannot hold', () => {
    const n = new ClusterNames('tw');
    expect(n.subject('trades', 'binance', 'BTCUSDT')).toBe('tw.trades.binance.BTCUSDT');
    expect(n.subject('bars', 'kraken', 'XBT/USD', '1m')).toBe('tw.bars.kraken.XBT/USD.1m');
    expect(n.closedSubject('x', 'A.B', '5m')).toBe('tw.closed.x.A%2EB.5m');
    expect(subjectToken('a*b>c d%')).toBe('a%2Ab%3Ec%20d%25');
    expect(subjectToken('')).toBe('%');
    // Distinct symbols never share a subject.
    expect(subjectToken('A.B')).not.toBe(subjectToken('A%2EB'));
  });
});
