/**
 * Rate-limited logging for events a client can cause at will (auth
 * refusals, slow consumers cut): at most `burst` records per key and window;
 * the rest are counted and the next record written for that key carries
 * `suppressed: <count>`. Keys are bounded (`maxKeys`, oldest dropped), so an
 * attacker cycling addresses cannot grow memory.
 */
import type { Logger } from 'pino';
import type { LogFields, RecordLevel } from './record.ts';

export interface LogRateOptions {
  /** Records per key per window (default 5). */
  burst?: number;
  /** Window length, ms (default 60 000). */
  windowMs?: number;
  /** Keys remembered at most (default 1024). */
  maxKeys?: number;
  /** Clock, ms (tests pass their own). */
  now?: () => number;
}

interface Window {
  start: number;
  written: number;
  suppressed: number;
}

export class RateLimitedLog {
  private readonly logger: Logger;
  private readonly burst: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** Insertion-ordered: the first key is the oldest, dropped first. */
  private readonly windows = new Map<string, Window>();

  constructor(logger: Logger, options: LogRateOptions = {}) {
    this.logger = logger;
    this.burst = options.burst ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxKeys = options.maxKeys ?? 1024;
    this.now = options.now ?? Date.now;
  }

  /** Write the record unless `key` has had its burst in this window; true when written. */
  log(level: RecordLevel, key: string, event: string, msg: string, fields: LogFields = {}): boolean {
    const now = this.now();
    let w = this.windows.get(key);
    if (w === undefined || now - w.start >= this.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
      w = { start: now, written: 0, suppressed };
      this.windows.set(key, w);
    }
    if (w.written >= this.burst) {
      w.suppressed++;
      return false;
    }
    w.written++;
    const extra = w.suppressed > 0 ? { suppressed: w.suppressed } : {};
    w.suppressed = 0;
    this.logger[level]({ event, ...fields, ...extra }, msg);
    return true;
  }
}
