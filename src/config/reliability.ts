/**
 * `exchanges.<name>.reliability:` — how hard tickwire tries to stay connected
 * to a venue and how gently it asks its REST API, per exchange. Every key is
 * optional; the defaults are the values tickwire always used:
 *
 * ```yaml
 * reliability:
 *   reconnect: { initialMs: 500, maxMs: 30000, jitter: full }  # full: [0, ceiling); equal: [ceiling/2, ceiling]
 *   circuitBreaker: { failures: 10, restMs: 300000 }           # failed connections in a row → rest, then one try
 *   staleAfterMs: 60000                                        # no frame and no ping this long → reconnect
 *   rest: { minIntervalMs: 0, maxIntervalMs: 60000 }           # REST pacing (gap recovery, backfill, symbol lists)
 * ```
 *
 * `rest.minIntervalMs` is the least time between two REST requests to the
 * venue; the venue's shared limiter (src/exchanges/rest-limiter.ts) widens it
 * on 429/418 answers and usage headers, up to `maxIntervalMs`.
 */
import type { Checker } from '../check/checker.ts';
import { keyPath } from '../check/paths.ts';
import type { ConnectionOptions } from '../feed/protocol.ts';
import type { ReliabilityConfig } from './types.ts';

/** No frame and no ping for this long: the connection is replaced, and `/streamer` calls the venue not running. */
export const DEFAULT_STALE_AFTER_MS = 60_000;

/** Today's values, the defaults of every key. */
export function defaultReliability(): ReliabilityConfig {
  return {
    reconnect: { initialMs: 500, maxMs: 30_000, jitter: 'full' },
    circuitBreaker: { failures: 10, restMs: 300_000 },
    staleAfterMs: DEFAULT_STALE_AFTER_MS,
    rest: { minIntervalMs: 0, maxIntervalMs: 60_000 },
  };
}

const KEYS = ['reconnect', 'circuitBreaker', 'staleAfterMs', 'rest'] as const;
const RECONNECT_KEYS = ['initialMs', 'maxMs', 'jitter'] as const;
const BREAKER_KEYS = ['failures', 'restMs'] as const;
const REST_KEYS = ['minIntervalMs', 'maxIntervalMs'] as const;
const JITTERS = ['full', 'equal'] as const;
const HOUR_MS = 3_600_000;

/** `reliability:` of the exchange at `path`; absent keys take defaultReliability()'s values. */
export function reliabilitySection(c: Checker, value: unknown, path: string): ReliabilityConfig {
  const d = defaultReliability();
  const at = keyPath(path, 'reliability');
  const r = c.section(value, at, KEYS);
  const ms = (v: unknown, p: string, fallback: number, min: number, max: number): number =>
    c.number(v, p, fallback, (n) => Number.isInteger(n) && n >= min && n <= max, `an integer number of ms from ${min} to ${max}`);
  /** A lower and an upper bound in ms (from `floor` to an hour), the upper at least the lower; an absent upper rises to a larger lower. */
  const span = (section: Record<string, unknown>, p: string, [lo, hi]: [string, string], [loDefault, hiDefault]: [number, number], floor: number): [number, number] => {
    const low = ms(section[lo], keyPath(p, lo), loDefault, floor, HOUR_MS);
    const high = ms(section[hi], keyPath(p, hi), Math.max(hiDefault, low), floor, HOUR_MS);
    if (high >= low) return [low, high];
    c.fail(keyPath(p, hi), section[hi], `at least ${lo} (${low})`);
    return [low, low];
  };

  const rcPath = keyPath(at, 'reconnect');
  const rc = c.section(r.reconnect, rcPath, RECONNECT_KEYS);
  const [initialMs, maxMs] = span(rc, rcPath, ['initialMs', 'maxMs'], [d.reconnect.initialMs, d.reconnect.maxMs], 10);
  const jitter = c.oneOf(rc.jitter, keyPath(rcPath, 'jitter'), JITTERS, d.reconnect.jitter);

  const cbPath = keyPath(at, 'circuitBreaker');
  const cb = c.section(r.circuitBreaker, cbPath, BREAKER_KEYS);
  const failures = c.number(cb.failures, keyPath(cbPath, 'failures'), d.circuitBreaker.failures,
    (n) => Number.isInteger(n) && n >= 1 && n <= 1000, 'an integer from 1 to 1000');
  const restMs = ms(cb.restMs, keyPath(cbPath, 'restMs'), d.circuitBreaker.restMs, 1_000, 24 * HOUR_MS);

  const staleAfterMs = ms(r.staleAfterMs, keyPath(at, 'staleAfterMs'), d.staleAfterMs, 1_000, HOUR_MS);

  const restPath = keyPath(at, 'rest');
  const rest = c.section(r.rest, restPath, REST_KEYS);
  const [minIntervalMs, maxIntervalMs] = span(rest, restPath, ['minIntervalMs', 'maxIntervalMs'], [d.rest.minIntervalMs, d.rest.maxIntervalMs], 0);

  return {
    reconnect: { initialMs, maxMs, jitter },
    circuitBreaker: { failures, restMs },
    staleAfterMs,
    rest: { minIntervalMs, maxIntervalMs },
  };
}

/** The worker's connection options for these settings. */
export function connectionOptions(r: ReliabilityConfig): Omit<ConnectionOptions, 'random'> {
  return {
    backoffBaseMs: r.reconnect.initialMs,
    backoffMaxMs: r.reconnect.maxMs,
    backoffJitter: r.reconnect.jitter,
    staleAfterMs: r.staleAfterMs,
    circuitAfterFailures: r.circuitBreaker.failures,
    circuitCooldownMs: r.circuitBreaker.restMs,
  };
}
