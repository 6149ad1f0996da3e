/**
 * Typed errors. Every failure a user or a caller can act on carries a stable
 * machine `code`; match on the code, never on the message text.
 */

/** Stable error codes of the external contract (see ARCHITECTURE.md, "Serving"). */
export const ErrorCode = {
  EXCHANGE_NOT_FOUND: 'EXCHANGE_NOT_FOUND',
  SYMBOL_NOT_FOUND: 'SYMBOL_NOT_FOUND',
  INVALID_TIMEFRAME: 'INVALID_TIMEFRAME',
  INVALID_PARAMETER: 'INVALID_PARAMETER',
  INVALID_CONFIG: 'INVALID_CONFIG',
  UNKNOWN_CHANNEL: 'UNKNOWN_CHANNEL',
  EXCHANGE_NOT_RUNNING: 'EXCHANGE_NOT_RUNNING',
  RATE_LIMITED: 'RATE_LIMITED',
  /** No such route (HTTP). */
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHORIZED: 'UNAUTHORIZED',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error tickwire raises on purpose. */
export class TickwireError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TickwireError';
    this.code = code;
  }
}

/** A timeframe name that is neither a tickwire nor a MetaTrader timeframe. */
export class InvalidTimeframeError extends TickwireError {
  constructor(given: unknown, accepted: readonly string[]) {
    super(
      ErrorCode.INVALID_TIMEFRAME,
      `invalid timeframe ${JSON.stringify(given)}: expected one of ${accepted.join(' ')}`,
    );
    this.name = 'InvalidTimeframeError';
  }
}

/** A parameter outside what the callee accepts (names the parameter, the value and the expectation). */
export class InvalidParameterError extends TickwireError {
  constructor(name: string, given: unknown, expected: string) {
    super(ErrorCode.INVALID_PARAMETER, `invalid ${name}: got ${JSON.stringify(given)}, expected ${expected}`);
    this.name = 'InvalidParameterError';
  }
}
