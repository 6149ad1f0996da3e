/**
 * `npm run soak` flags: parsed and validated once, up front, into
 * `SoakOptions`. A bad flag is an `InvalidParameterError` naming the flag,
 * what was given and what is expected (the CLI prints it and exits 2).
 *
 * Durations accept `90` (seconds), `90s`, `10m`, `1h`, `500ms`.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidParameterError } from '../../src/errors.ts';

/** Symbols the load spreads over, in order (`--symbols N` takes the first N). */
export const SOAK_SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'SOLUSDT', 'BNBUSDT', 'XRPUSDT', 'ADAUSDT', 'DOGEUSDT', 'LTCUSDT'] as const;

export interface SoakOptions {
  /** How long rated load runs, ms. */
  durationMs: number;
  /** Trades per second sent by the fake exchange, over all symbols. */
  rate: number;
  /** WebSocket subscribers; each takes one symbol's trades and 1m bars, symbols round-robin. */
  subscribers: number;
  /** Exchange symbols the trades are spread over. */
  symbols: string[];
  /** Sampling period, ms. */
  intervalMs: number;
  /** Samples before this (ms after load starts) are shown but not judged. */
  warmupMs: number;
  /** Directory the JSON and Markdown reports go to (absolute). */
  outDir: string;
  /** Worker threads the subscribers are spread over. */
  clientThreads: number;
  /** Seed of the trade prices and sizes. */
  seed: number;
  /** Persist closed bars (LMDB, in a temporary directory removed afterwards), as a production config does. */
  storage: boolean;
  /** Self-check: the gateway retains this many bytes of JS heap per minute on purpose (0: off). */
  leakBytesPerMin: number;
  /** Attackers (scripts/soak/attacker-worker.ts) from a third of the run on, against a JWT-protected gateway with small caps. */
  hostile: boolean;
}

/** What `npm run soak -- --help` prints (and a bad flag, after the error). */
export const SOAK_USAGE = `usage: npm run soak -- [--duration 10m] [--rate 2000] [--subscribers 100] [--out soak-results]

  --duration D        how long rated load runs (default 10m; 60s, 3m, 1h, or seconds)
  --rate N            trades per second from the fake exchange, over all symbols (default 2000)
  --subscribers N     WebSocket subscribers, each on one symbol's trades and 1m bars (default 100)
  --symbols N         symbols the trades are spread over, 1 to ${SOAK_SYMBOLS.length} (default 4)
  --interval D        sampling period (default 5s)
  --warmup D          samples before this are not judged (default 20% of the duration, within 15s..60s)
  --out DIR           where soak-<time>.json and .md are written (default soak-results)
  --client-threads N  worker threads for the subscribers (default 2)
  --seed N            seed of trade prices and sizes (default 7)
  --storage on|off    persist closed bars in LMDB, in a temporary directory (default on, as tickwire.yaml's default)
  --leak MB           self-check: make the gateway retain MB of heap per minute, to see the verdict fail (default 0)
  --hostile           from a third of the run on, attack the gateway (issue 18's attacks, bounded rates) and
                      report the subscribers' latency and loss with and without the attacks`;

/** Milliseconds of a duration flag: `90` (s), `90s`, `10m`, `1h`, `500ms`. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new InvalidParameterError(flag, text, 'a duration such as 90, 90s, 10m or 1h');
  const unit = m[2] ?? 's';
  const ms = Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1_000 : unit === 'm' ? 60_000 : 3_600_000);
  if (!(ms > 0) || !Number.isFinite(ms)) throw new InvalidParameterError(flag, text, 'a duration above zero');
  return Math.round(ms);
}

function parseIntFlag(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidParameterError(flag, text, `an integer from ${min} to ${max}`);
  }
  return n;
}

/** The default warm-up: a fifth of the run, at least 15 s and at most 60 s (never more than half the run). */
export function defaultWarmupMs(durationMs: number): number {
  return Math.min(Math.max(15_000, Math.min(60_000, durationMs / 5)), durationMs / 2);
}

/**
 * Parse `argv` (the arguments after the script). Returns undefined when
 * `--help` was asked. Throws InvalidParameterError on any bad flag.
 */
export function parseSoakArgs(argv: readonly string[], cwd = process.cwd()): SoakOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: 'string' },
        rate: { type: 'string' },
        subscribers: { type: 'string' },
        symbols: { type: 'string' },
        interval: { type: 'string' },
        warmup: { type: 'string' },
        out: { type: 'string' },
        'client-threads': { type: 'string' },
        seed: { type: 'string' },
        storage: { type: 'string' },
        leak: { type: 'string' },
        hostile: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new InvalidParameterError('arguments', argv.join(' '), `known flags only (${(err as Error).message})`);
  }
  if (values.help === true) return undefined;

  const durationMs = values.duration === undefined ? 600_000 : parseDuration('--duration', values.duration);
  const intervalMs = values.interval === undefined ? 5_000 : parseDuration('--interval', values.interval);
  if (intervalMs < 500) throw new InvalidParameterError('--interval', values.interval, 'at least 500ms');
  if (intervalMs > durationMs) throw new InvalidParameterError('--interval', values.interval, `at most the duration (${durationMs} ms)`);
  const warmupMs = values.warmup === undefined ? defaultWarmupMs(durationMs) : parseDuration('--warmup', values.warmup);
  if (warmupMs >= durationMs) throw new InvalidParameterError('--warmup', values.warmup, `less than the duration (${durationMs} ms)`);
  const subscribers = parseIntFlag('--subscribers', values.subscribers, 100, 1, 10_000);
  const symbolCount = parseIntFlag('--symbols', values.symbols, 4, 1, SOAK_SYMBOLS.length);
  if (values.storage !== undefined && values.storage !== 'on' && values.storage !== 'off') {
    throw new InvalidParameterError('--storage', values.storage, 'on or off');
  }
  if (values.out !== undefined && values.out.trim() === '') throw new InvalidParameterError('--out', values.out, 'a directory path');

  return {
    durationMs,
    rate: parseIntFlag('--rate', values.rate, 2_000, 1, 100_000),
    subscribers,
    symbols: SOAK_SYMBOLS.slice(0, symbolCount),
    intervalMs,
    warmupMs,
    outDir: path.resolve(cwd, values.out ?? 'soak-results'),
    clientThreads: Math.min(subscribers, parseIntFlag('--client-threads', values['client-threads'], 2, 1, 16)),
    seed: parseIntFlag('--seed', values.seed, 7, 0, 0xffff_ffff),
    storage: values.storage !== 'off',
    leakBytesPerMin: parseIntFlag('--leak', values.leak, 0, 0, 1_000) * 1024 * 1024,
    hostile: values.hostile === true,
  };
}
