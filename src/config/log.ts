/** The `log:` section: `level` (trace, debug, info, warn, error, fatal, silent; default info). `--log-level` overrides it. */
import { Checker } from '../check/checker.ts';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS } from '../log/levels.ts';
import type { LogConfig } from './types.ts';

const LOG_KEYS = ['level'] as const;

/** `log:`: how much the gateway writes to its log. */
export function logSection(c: Checker, value: unknown): LogConfig {
  const s = c.section(value, 'log', LOG_KEYS);
  return { level: c.oneOf(s.level, 'log.level', LOG_LEVELS, DEFAULT_LOG_LEVEL) };
}
