/**
 * The `stream:` section (docs/protocol.md): slow consumers, resume history,
 * per-connection limits. Every key optional, each falling back to a base
 * (defaultStreamConfig() for a file, the config for `createServer` options).
 */
import { Checker } from '../check/checker.ts';
import { keyPath } from '../check/paths.ts';
import { ConfigError } from './error.ts';
import { rateSection } from './rate.ts';
import type { StreamConfig } from './types.ts';

const STREAM_KEYS = [
  'maxBackpressure', 'slowConsumer', 'resumeHistory', 'resumeLingerS', 'maxChannelsPerConnection', 'maxMessageBytes', 'subscribeRate', 'idleTimeoutS',
  'snapshotBytesRate',
] as const;

/** `stream:` bounds. maxBackpressure and maxMessageBytes are bytes; uWS refuses an idle timeout under 8 s or over 960 s. */
export const MIN_BACKPRESSURE = 64 * 1024;
export const MAX_BACKPRESSURE = 1024 * 1024 * 1024;
export const MIN_MESSAGE_BYTES = 256;
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
export const MAX_RESUME_HISTORY = 100_000;
export const MAX_RESUME_LINGER_S = 86_400;
export const MAX_CHANNELS_PER_CONNECTION = 100_000;
export const MIN_IDLE_TIMEOUT_S = 8;
export const MAX_IDLE_TIMEOUT_S = 960;
export const MIN_SNAPSHOT_BYTES_RATE = 64 * 1024;
export const MAX_SNAPSHOT_BYTES_RATE = 1024 * 1024 * 1024;

/**
 * Validate `createServer` overrides of the `stream:` section (same keys, same
 * rules) on top of `base`; throws a ConfigError naming the option.
 */
export function parseStreamOptions(overrides: Record<string, unknown>, base: StreamConfig, source = 'createServer options'): StreamConfig {
  const c = new Checker();
  const stream = streamSection(c, overrides, '', base);
  if (c.issues.length > 0) throw new ConfigError(source, c.issues);
  return stream;
}

/**
 * `stream:` at `path`, every key falling back to `base`. `name` overrides how
 * a key's path is shown (options that carry another name than the key).
 */
export function streamSection(c: Checker, value: unknown, path: string, base: StreamConfig, name?: (key: string) => string | undefined): StreamConfig {
  const s = c.section(value, path, STREAM_KEYS);
  const at = (key: string) => name?.(key) ?? keyPath(path, key);
  const int = (min: number, max: number) => (n: number) => Number.isInteger(n) && n >= min && n <= max;
  let slowConsumer = base.slowConsumer;
  if (s.slowConsumer !== undefined && s.slowConsumer !== null) {
    if (s.slowConsumer === 'gap' || s.slowConsumer === 'disconnect') slowConsumer = s.slowConsumer;
    else c.fail(at('slowConsumer'), s.slowConsumer, 'gap (pause, then a gap notice) or disconnect (close 1013)');
  }
  return {
    maxBackpressure: c.number(s.maxBackpressure, at('maxBackpressure'), base.maxBackpressure, int(MIN_BACKPRESSURE, MAX_BACKPRESSURE),
      `an integer number of bytes from ${MIN_BACKPRESSURE} to ${MAX_BACKPRESSURE}`),
    slowConsumer,
    resumeHistory: c.number(s.resumeHistory, at('resumeHistory'), base.resumeHistory, int(1, MAX_RESUME_HISTORY),
      `a whole number of messages per channel from 1 to ${MAX_RESUME_HISTORY}`),
    resumeLingerS: c.number(s.resumeLingerS, at('resumeLingerS'), base.resumeLingerS, (n) => n >= 0 && n <= MAX_RESUME_LINGER_S,
      `a number of seconds from 0 to ${MAX_RESUME_LINGER_S}`),
    maxChannelsPerConnection: c.number(s.maxChannelsPerConnection, at('maxChannelsPerConnection'), base.maxChannelsPerConnection,
      int(1, MAX_CHANNELS_PER_CONNECTION), `a whole number from 1 to ${MAX_CHANNELS_PER_CONNECTION}`),
    maxMessageBytes: c.number(s.maxMessageBytes, at('maxMessageBytes'), base.maxMessageBytes, int(MIN_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
      `an integer number of bytes from ${MIN_MESSAGE_BYTES} to ${MAX_MESSAGE_BYTES}`),
    subscribeRate: rateSection(c, s.subscribeRate, at('subscribeRate'), base.subscribeRate, 'subscribe requests per second'),
    idleTimeoutS: c.number(s.idleTimeoutS, at('idleTimeoutS'), base.idleTimeoutS,
      (n) => n === 0 || (Number.isInteger(n) && n >= MIN_IDLE_TIMEOUT_S && n <= MAX_IDLE_TIMEOUT_S),
      `0 (off) or a whole number of seconds from ${MIN_IDLE_TIMEOUT_S} to ${MAX_IDLE_TIMEOUT_S}`),
    snapshotBytesRate: c.number(s.snapshotBytesRate, at('snapshotBytesRate'), base.snapshotBytesRate,
      int(MIN_SNAPSHOT_BYTES_RATE, MAX_SNAPSHOT_BYTES_RATE),
      `an integer number of bytes per second from ${MIN_SNAPSHOT_BYTES_RATE} to ${MAX_SNAPSHOT_BYTES_RATE} (bars snapshots over all connections)`),
  };
}
