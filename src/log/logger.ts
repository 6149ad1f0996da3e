/**
 * The logger every part of tickwire writes to: pino (structured, one JSON
 * object a line), printed by pino-pretty when the output is a terminal.
 * Records carry an `event` field with a stable name (`feed.disconnected`,
 * `backfill.progress`, ...: docs/logging.md lists them) so a log pipeline can
 * match on it instead of on message text. Not on any hot path: the feeds log
 * connection events, never per frame.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { DEFAULT_LOG_LEVEL, type LogLevelName } from './levels.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Lowest level written (default info). */
  level?: LogLevelName;
  /** Where records go (default: stdout). Tests pass a stream to read them. */
  destination?: DestinationStream;
  /** Human-readable lines instead of JSON (default: when the destination is stdout and stdout is a terminal). */
  pretty?: boolean;
}

/** A logger writing JSON lines (or pretty lines on a terminal) at `level`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? DEFAULT_LOG_LEVEL;
  const usePretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  const base = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (usePretty) {
    // Synchronous: the CLI exits right after its last line, and a terminal is slow to matter anyway.
    const stream = pretty({ sync: true, colorize: options.destination === undefined, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', destination: options.destination ?? 1 });
    return pino(base, stream);
  }
  // Synchronous writes as well: a few records a second at most, and none lost when the process exits.
  return pino(base, options.destination ?? pino.destination({ fd: 1, sync: true }));
}

/** The library's logger when the embedder passes none: warnings and errors, as JSON lines on stderr. */
export function libraryLogger(): Logger {
  return createLogger({ level: 'warn', destination: process.stderr, pretty: false });
}
