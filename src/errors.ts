/**
 * Typed errors. Every failure a user or a caller can act on carries a stable
 * machine `code`; match on the code, never on the message text.
 */

/** Stable error codes of the external contract (docs/protocol.md, "Errors"). */
export const ErrorCode = {
  EXCHANGE_NOT_FOUND: 'EXCHANGE_NOT_FOUND',
  SYMBOL_NOT_FOUND: 'SYMBOL_NOT_FOUND',
  INVALID_TIMEFRAME: 'INVALID_TIMEFRAME',
  INVALID_PARAMETER: 'INVALID_PARAMETER',
  INVALID_CONFIG: 'INVALID_CONFIG',
  UNKNOWN_CHANNEL: 'UNKNOWN_CHANNEL',
  EXCHANGE_NOT_RUNNING: 'EXCHANGE_NOT_RUNNING',
  RATE_LIMITED: 'RATE_LIMITED',
  /** The server holds its connection cap (`server.maxConnections`, per address or in all): HTTP 503. */
  TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
  /** No such route (HTTP). */
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** Authenticated, but the credential lacks the scope the route needs (`admin` for /v1/admin/*): HTTP 403. */
  FORBIDDEN: 'FORBIDDEN',
  /** A live change (admin route, reload, SIGHUP) that would be invalid: refused whole, nothing changed; the message says why (HTTP 409). */
  CHANGE_REFUSED: 'CHANGE_REFUSED',
  /** A subscription asked for a symbol on demand while its exchange feeds `onDemand.maxSymbols` of them already (or has no room left): docs/on-demand.md. */
  ON_DEMAND_LIMIT: 'ON_DEMAND_LIMIT',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  /** The bar database could not be opened or written (full disk, I/O error, permissions, read-only). */
  STORAGE_FAILED: 'STORAGE_FAILED',
  /** The bar database failed verification at start (truncated, overwritten, unreadable pages). */
  STORAGE_CORRUPT: 'STORAGE_CORRUPT',
  /** `/streamer` API: the symbol's exchange has not delivered its first data since start (HTTP 503). */
  STREAMER_NOT_INITIALIZED: 'STREAMER_NOT_INITIALIZED',
  /** `/streamer` API: the symbol's exchange is stopped, circuit-open, or disconnected past its staleness window (HTTP 503). */
  STREAMER_NOT_RUNNING: 'STREAMER_NOT_RUNNING',
  /** `--role feed|edge`: the NATS cluster could not be reached, or its streams could not be set up. */
  CLUSTER_UNAVAILABLE: 'CLUSTER_UNAVAILABLE',
  /** An adapter plugin listed under `plugins:` could not be found from the config file's folder (docs/plugins.md). */
  PLUGIN_NOT_FOUND: 'PLUGIN_NOT_FOUND',
  /** An adapter plugin declares an adapter contract version this tickwire does not support. */
  PLUGIN_CONTRACT: 'PLUGIN_CONTRACT',
  /** An adapter plugin loaded but breaks the adapter contract (a missing field or method, a bad option schema, a name clash). */
  PLUGIN_INVALID: 'PLUGIN_INVALID',
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
      `invalid timeframe ${showValue(given)}: expected one of ${accepted.join(' ')}`,
    );
    this.name = 'InvalidTimeframeError';
  }
}

/** Longest rendering of a given value in an error message: hostile input can be megabytes, or nested 30,000 levels deep. */
const MAX_SHOWN = 200;

/**
 * `v` as JSON for an error message, cut to MAX_SHOWN characters. Never
 * throws and costs O(MAX_SHOWN) whatever `v` is: JSON.stringify overflows
 * the stack on a value nested a few thousand levels deep (found by
 * test/fuzz), taking ~20 ms to do so, and throws on BigInt and cycles.
 */
export function showValue(v: unknown): string {
  const out: string[] = [];
  let left = MAX_SHOWN + 1;
  const put = (text: string): void => {
    out.push(text.length > left ? text.slice(0, left) : text);
    left -= text.length;
  };
  // Each level writes at least one character, so the recursion is at most MAX_SHOWN + 1 deep.
  const write = (x: unknown): void => {
    if (left <= 0) return;
    if (typeof x === 'object' && x !== null && typeof (x as { toJSON?: unknown }).toJSON === 'function') x = (x as { toJSON(): unknown }).toJSON();
    if (Array.isArray(x)) {
      put('[');
      for (let i = 0; i < x.length && left > 0; i++) {
        if (i > 0) put(',');
        write(x[i] === undefined ? null : x[i]);
      }
      put(']');
    } else if (typeof x === 'object' && x !== null) {
      put('{');
      let first = true;
      for (const key in x) {
        if (left <= 0) break;
        if (!Object.hasOwn(x, key) || (x as Record<string, unknown>)[key] === undefined) continue;
        if (!first) put(',');
        first = false;
        put(JSON.stringify(key.length > left ? key.slice(0, left) : key) + ':');
        write((x as Record<string, unknown>)[key]);
      }
      put('}');
    } else if (typeof x === 'string') {
      put(JSON.stringify(x.length > left ? x.slice(0, left) : x));
    } else if (typeof x === 'bigint') {
      put(`${x}n`);
    } else {
      put(JSON.stringify(x) ?? String(x));
    }
  };
  write(v);
  const text = out.join('');
  return left < 0 || text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

/** A parameter outside what the callee accepts (names the parameter, the value and the expectation). */
export class InvalidParameterError extends TickwireError {
  constructor(name: string, given: unknown, expected: string) {
    super(ErrorCode.INVALID_PARAMETER, `invalid ${name}: got ${showValue(given)}, expected ${expected}`);
    this.name = 'InvalidParameterError';
  }
}

/** Where a VenueRestError happened, as far as known, and what it came from. */
export interface VenueRestDetail {
  /** The request's URL. */
  url?: string;
  /** The answer's HTTP status. */
  status?: number;
  cause?: unknown;
  /** Default EXCHANGE_NOT_RUNNING; INVALID_PARAMETER when the request was refused before it was made. */
  code?: ErrorCode;
}

/**
 * A venue's REST API did not give what tickwire asked it for (gap recovery,
 * backfill): a network failure or timeout (`cause`), an error status, an
 * answer unlike what the venue documents, or a gap longer than it serves.
 * Code EXCHANGE_NOT_RUNNING, as the backfill's klines errors always had.
 */
export class VenueRestError extends TickwireError {
  /** The venue (`binance`, `okx`, …). */
  readonly venue: string;
  /** The request's URL; '' when the error is about no one request. */
  readonly url: string;
  /** The answer's HTTP status; 0 when there was none (network failure, timeout, no request). */
  readonly status: number;

  constructor(venue: string, message: string, detail: VenueRestDetail = {}) {
    super(detail.code ?? ErrorCode.EXCHANGE_NOT_RUNNING, message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.name = 'VenueRestError';
    this.venue = venue;
    this.url = detail.url ?? '';
    this.status = detail.status ?? 0;
  }
}

/**
 * The bar database failed: `STORAGE_FAILED` (open or write; `errno` names the
 * system error when there is one: ENOSPC, EIO, EACCES, EROFS…) or
 * `STORAGE_CORRUPT` (verification at start).
 */
export class StorageError extends TickwireError {
  /** The system error's name, e.g. 'ENOSPC'; undefined when there is none. */
  readonly errno: string | undefined;

  constructor(code: typeof ErrorCode.STORAGE_FAILED | typeof ErrorCode.STORAGE_CORRUPT, message: string, errno?: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StorageError';
    this.errno = errno;
  }
}

/**
 * An adapter plugin (`plugins:`, docs/plugins.md) that cannot be used:
 * PLUGIN_NOT_FOUND, PLUGIN_CONTRACT or PLUGIN_INVALID. The message starts
 * with the plugin as the config names it; `plugin` holds that name.
 */
export class PluginError extends TickwireError {
  /** The plugin as the config lists it (`tickwire-adapter-deribit`, `./adapters/my-venue.mjs`). */
  readonly plugin: string;

  constructor(code: typeof ErrorCode.PLUGIN_NOT_FOUND | typeof ErrorCode.PLUGIN_CONTRACT | typeof ErrorCode.PLUGIN_INVALID, plugin: string, problem: string, options?: { cause?: unknown }) {
    super(code, `plugin ${plugin}: ${problem}`, options);
    this.name = 'PluginError';
    this.plugin = plugin;
  }
}
