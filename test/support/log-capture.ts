/** A logger for tests: the JSON records it writes, parsed, in an array the test reads. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import type { LogLevelName } from '../../src/log/levels.ts';

export interface CapturedLog {
  /** Every record written so far, in order. */
  lines: Record<string, unknown>[];
  logger: Logger;
}

/** A real pino logger at `level` whose output is parsed into `lines`. */
export function captureLog(level: LogLevelName = 'debug'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level, destination }) };
}
