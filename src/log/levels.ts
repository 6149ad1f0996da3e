/**
 * Log levels, as `--log-level` and the config's `log.level` name them: pino's
 * levels, lowest first, and `silent` (nothing). Plain data any layer may read.
 */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** The level when neither the command line nor the config names one. */
export const DEFAULT_LOG_LEVEL: LogLevelName = 'info';
