/**
 * Built-in defaults of the configuration. `DEFAULT_CONFIG_YAML` is what
 * `npm start` runs when there is no ./tickwire.yaml: the simulated exchange,
 * offline. The constants are the values an absent key takes in any file.
 */
import type { TimeframeName } from '../model/timeframes.ts';
import type { AuthConfig, FeedChannel, StreamConfig } from './types.ts';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const DEFAULT_TIMEFRAMES: readonly TimeframeName[] = ['1m', '5m', '15m', '1h'];
/** Closed bars kept per series for a timeframe the file does not give a depth for. */
export const DEFAULT_HISTORY = 1000;
export const DEFAULT_GRACE_MS = 250;
export const DEFAULT_FILL_EMPTY = true;
export const DEFAULT_LATE_TOLERANCE_MS = 5000;
export const DEFAULT_CHANNELS: readonly FeedChannel[] = ['trades', 'quotes'];
/** `simulated`: mean trades per second per symbol. */
export const DEFAULT_RATE = 20;
/** `simulated`: PRNG seed. */
export const DEFAULT_SEED = 42;
/** `auth.httpRate`: HTTP requests per second per client, and the burst above it. */
export const DEFAULT_HTTP_RATE = 100;
export const DEFAULT_HTTP_BURST = 200;

/** `auth.failureRate`: failed authentications per second per address, and the burst above it. */
export const DEFAULT_AUTH_FAILURE_RATE = 2;
export const DEFAULT_AUTH_FAILURE_BURST = 20;

/** A fresh `auth` section with every default: open (no tokens, no jwt), default HTTP rate. */
export function defaultAuthConfig(): AuthConfig {
  return { tokens: [], jwt: undefined, allowOpen: false, httpRate: { rate: DEFAULT_HTTP_RATE, burst: DEFAULT_HTTP_BURST },
    failureRate: { rate: DEFAULT_AUTH_FAILURE_RATE, burst: DEFAULT_AUTH_FAILURE_BURST },
  };
}

/** The configuration `npm start` uses when there is no ./tickwire.yaml (same values as the constants above). */
export const DEFAULT_CONFIG_YAML = `# tickwire built-in configuration: the simulated exchange, no network needed.
# Copy to ./tickwire.yaml and edit; \${VAR} and \${VAR:-default} read the environment.
server: { host: 127.0.0.1, port: 8080 }
timeframes: [1m, 5m, 15m, 1h]          # kept for every symbol
history: 1000                           # closed bars kept per series (or a map per timeframe)
bars: { graceMs: 250, fillEmpty: true, lateToleranceMs: 5000 }
storage: { path: ./data, flushMs: 1000 }  # closed bars survive restarts; storage: false keeps them in memory only
log: { level: info }                    # trace, debug, info, warn, error, fatal or silent; --log-level overrides
exchanges:
  simulated:
    symbols: [SIM-BTC, SIM-ETH]
    channels: [trades, quotes]
    rate: 20                            # mean trades per second per symbol
    seed: 42                            # same seed, same stream
`;

/** `storage.path` when a config file does not say (a library config without `storage` keeps bars in memory only). */
export const DEFAULT_STORAGE_PATH = './data';
export const DEFAULT_FLUSH_MS = 1000;
export const DEFAULT_BACKFILL_TIMEOUT_MS = 15_000;

/** A fresh `stream` section with every default (docs/protocol.md). */
export function defaultStreamConfig(): StreamConfig {
  return {
    maxBackpressure: 4 * 1024 * 1024,
    slowConsumer: 'gap',
    resumeHistory: 1024,
    resumeLingerS: 60,
    maxChannelsPerConnection: 1000,
    maxMessageBytes: 64 * 1024,
    subscribeRate: { rate: 10, burst: 20 },
    idleTimeoutS: 120,
    snapshotBytesRate: 8 * 1024 * 1024,
  };
}
