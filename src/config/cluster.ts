/**
 * The `cluster:` section (docs/scale-out.md): which NATS servers carry the
 * cluster's data and how long JetStream keeps it. Needed by `--role feed`
 * and `--role edge`; `--role all` (the default) ignores it.
 *
 * ```yaml
 * cluster:
 *   servers: [nats://127.0.0.1:4222]
 *   name: tickwire
 *   replicas: 1
 *   history: { trades: 1h, bars: 30d }
 *   leaseTtl: 3s
 *   conflate: 50ms
 *   replayMax: 10000
 *   user: ${NATS_USER}
 *   pass: ${NATS_PASS}
 * ```
 *
 * Durations are `<integer><unit>` with ms, s, m, h or d (`90s`, `1h`, `30d`).
 */
import type { Checker } from '../check/checker.ts';
import type { ClusterConfig } from './types.ts';

const CLUSTER_KEYS = ['servers', 'name', 'replicas', 'history', 'leaseTtl', 'conflate', 'replayMax', 'user', 'pass', 'token'] as const;
const HISTORY_KEYS = ['trades', 'bars'] as const;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d{1,9})(ms|s|m|h|d)$/;
/** Names end up in subjects, stream and bucket names: letters, digits, `-` and `_` only. */
const NAME = /^[A-Za-z0-9_-]{1,32}$/;
const DAY = 86_400_000;

export const DEFAULT_CLUSTER_NAME = 'tickwire';
export const DEFAULT_TRADES_RETENTION_MS = 3_600_000;
export const DEFAULT_BARS_RETENTION_MS = 30 * DAY;
export const DEFAULT_LEASE_TTL_MS = 3_000;
/**
 * The feed's conflation window for quotes and forming bars: 20 updates a
 * second per channel at most, about what venues push for klines (Binance
 * every 250 ms or faster) and under what a chart redraws noticeably; a
 * trade or a closed bar is never delayed by it.
 */
export const DEFAULT_CONFLATE_MS = 50;
const MAX_CONFLATE_MS = 1_000;
/** Messages an edge reads back from JetStream for one channel's resume: about a 2 MB reply (half the default `stream.maxBackpressure`) of trades. */
export const DEFAULT_REPLAY_MAX = 10_000;
const MAX_REPLAY_MAX = 100_000;

/** A duration such as `1h` or `30d` in ms; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  return m === null ? undefined : Number(m[1]) * UNIT_MS[m[2]!]!;
}

function duration(c: Checker, value: unknown, path: string, fallback: number, min: number, max: number, example = 'such as 90s, 1h or 30d'): number {
  if (value === undefined || value === null || value === '') return fallback;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms !== undefined && ms >= min && ms <= max) return ms;
  c.fail(path, value, `a duration from ${min} ms to ${max < DAY ? `${max} ms` : `${max / DAY} days`} ${example}`);
  return fallback;
}

/** The `cluster:` section, or null when the config has none. */
export function clusterSection(c: Checker, value: unknown): ClusterConfig | null {
  if (value === undefined || value === null) return null;
  const s = c.section(value, 'cluster', CLUSTER_KEYS);
  const servers: string[] = [];
  if (!Array.isArray(s.servers) || s.servers.length === 0 || s.servers.length > 16) {
    c.fail('cluster.servers', s.servers, 'a list of 1 to 16 nats:// URLs');
  } else {
    s.servers.forEach((u, i) => {
      const url = c.url(u, `cluster.servers.${i}`, ['nats:', 'tls:'], 'a nats:// (or tls://) URL such as nats://127.0.0.1:4222');
      if (url !== undefined) servers.push(url);
    });
  }
  let name = DEFAULT_CLUSTER_NAME;
  if (s.name !== undefined && s.name !== null) {
    if (typeof s.name === 'string' && NAME.test(s.name)) name = s.name;
    else c.fail('cluster.name', s.name, 'up to 32 letters, digits, - or _');
  }
  const h = c.section(s.history, 'cluster.history', HISTORY_KEYS);
  return {
    servers,
    name,
    replicas: c.number(s.replicas, 'cluster.replicas', 1, (n) => n === 1 || n === 3 || n === 5, '1, 3 or 5'),
    history: {
      trades: duration(c, h.trades, 'cluster.history.trades', DEFAULT_TRADES_RETENTION_MS, 60_000, 30 * DAY),
      bars: duration(c, h.bars, 'cluster.history.bars', DEFAULT_BARS_RETENTION_MS, 3_600_000, 3650 * DAY),
    },
    leaseTtlMs: duration(c, s.leaseTtl, 'cluster.leaseTtl', DEFAULT_LEASE_TTL_MS, 1_000, 60_000),
    conflateMs: duration(c, s.conflate, 'cluster.conflate', DEFAULT_CONFLATE_MS, 0, MAX_CONFLATE_MS, 'such as 50ms (0ms: no conflation)'),
    replayMax: c.number(s.replayMax, 'cluster.replayMax', DEFAULT_REPLAY_MAX, (n) => Number.isInteger(n) && n >= 0 && n <= MAX_REPLAY_MAX, `an integer from 0 (no replays from JetStream) to ${MAX_REPLAY_MAX}`),
    user: c.credential(s.user, 'cluster.user', false, 'a user name'),
    pass: c.credential(s.pass, 'cluster.pass', false, 'a password'),
    token: c.credential(s.token, 'cluster.token', false, 'a token'),
  };
}
