/**
 * Built-in defaults of the configuration. `DEFAULT_CONFIG_YAML` is what
 * `npm start` runs when there is no ./tickwire.yaml: the simulated exchange,
 * offline. The constants are the values an absent key takes in any file.
 */
import type { TimeframeName } from '../model/timeframes.ts';
import type { FeedChannel } from './types.ts';

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

/** The configuration `npm start` uses when there is no ./tickwire.yaml (same values as the constants above). */
export const DEFAULT_CONFIG_YAML = `# tickwire built-in configuration: the simulated exchange, no network needed.
# Copy to ./tickwire.yaml and edit; \${VAR} and \${VAR:-default} read the environment.
server: { host: 127.0.0.1, port: 8080 }
timeframes: [1m, 5m, 15m, 1h]          # kept for every symbol
history: 1000                           # closed bars kept per series (or a map per timeframe)
bars: { graceMs: 250, fillEmpty: true, lateToleranceMs: 5000 }
exchanges:
  simulated:
    symbols: [SIM-BTC, SIM-ETH]
    channels: [trades, quotes]
    rate: 20                            # mean trades per second per symbol
    seed: 42                            # same seed, same stream
`;
