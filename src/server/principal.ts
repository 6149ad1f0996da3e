/**
 * Who is asking, as the transports see it. `auth.ts` turns credentials into a
 * `Principal`; the HTTP routes and the `/v1/stream` WebSocket only ask it
 * whether a channel is allowed. Kept apart so neither transport depends on how
 * credentials are checked.
 *
 * Channel patterns (token `channels` in the config, the JWT `channels` claim):
 *  - `*` alone allows every channel, rooms included;
 *  - `trades:<exchange>:<symbol>`, `quotes:<exchange>:<symbol>`,
 *    `bars:<exchange>:<symbol>:<tf>` where `*` may stand for a whole segment
 *    (exchange, symbol or timeframe; never part of one, never the kind);
 *  - `system`, `alerts`: the rooms.
 * Symbols are the exchange's native ids (`BTCUSDT`, `XBT/USD`, and they may
 * hold `:`); a timeframe may be given as a MetaTrader alias (`M1` = `1m`).
 * Allowing `*` for the timeframe goes one step further than the stream's
 * subscribe wildcards (exchange and symbol only): a permission for "every bar
 * of binance" should not have to list each timeframe.
 */
import { ErrorCode, TickwireError } from '../errors.ts';
import { isTimeframe, parseTimeframe } from '../model/timeframes.ts';

/** What a transport hands over to be authenticated (empty strings when absent). */
export interface AuthRequest {
  /** The `Authorization` header (`Bearer <token or JWT>`). */
  authorization: string;
  /** The `Sec-WebSocket-Protocol` header: offered subprotocols, comma-separated (`tickwire.fbs, bearer.<token>`). */
  protocol: string;
  /** The raw query string, without `?` (`token=...` is accepted where headers cannot be set, e.g. browsers' WebSocket). */
  query: string;
  /** The `Origin` header (browsers). */
  origin: string;
  /** Remote address as text, for per-client rate limits and logs. */
  remoteAddress: string;
  /** The `Host` header, when known: an `Origin` naming this same host (the built-in dashboard) is always allowed. */
  host?: string;
}

/** An authenticated (or anonymous, when the server is open) client. */
export interface Principal {
  /** Stable name for logs, metrics and rate limits: the token's name, the JWT subject, or `anonymous`. */
  readonly name: string;
  /** True when this principal may read `channel` (a concrete channel name such as `trades:binance:BTCUSDT`). */
  allows(channel: string): boolean;
}

/** Authenticates a request; throws TickwireError `UNAUTHORIZED` when the credentials are missing or wrong. */
export type Authenticate = (request: AuthRequest) => Principal;

/** The principal of an open server: everything allowed. */
export const ANONYMOUS: Principal = { name: 'anonymous', allows: () => true };

// ── channel patterns ───────────────────────────────────────────────────────

/** A parsed channel pattern; `null` segments are `*` (any). */
export interface ChannelPattern {
  /** `trades`, `quotes`, `bars`, `system`, `alerts`, or `*` for everything. */
  readonly kind: string;
  readonly exchange: string | null;
  readonly symbol: string | null;
  /** Canonical timeframe (`1m`), bars only. */
  readonly timeframe: string | null;
}

const COLON = 58;
const ROOMS = ['system', 'alerts'];
const SEGMENT = /^[^\s*]+$/;
const EXCHANGE_SEGMENT = /^[^\s*:]+$/;
const PATTERN_FORMS = 'expected *, system, alerts, trades:<exchange>:<symbol>, quotes:<exchange>:<symbol> or bars:<exchange>:<symbol>:<tf>, with * for a whole segment';

/**
 * Parse one pattern; returns why it is invalid as a string (never echoing
 * more than the pattern itself). Exchange names are not checked against the
 * registry here: config validation does that, a JWT claim naming an unknown
 * exchange simply matches nothing.
 */
export function parseChannelPattern(text: string): ChannelPattern | string {
  if (text === '*') return { kind: '*', exchange: null, symbol: null, timeframe: null };
  if (ROOMS.includes(text)) return { kind: text, exchange: null, symbol: null, timeframe: null };
  const k = text.indexOf(':');
  const kind = k < 0 ? text : text.slice(0, k);
  if (kind !== 'trades' && kind !== 'quotes' && kind !== 'bars') return `unknown channel kind ${JSON.stringify(kind)}, ${PATTERN_FORMS}`;
  const e = text.indexOf(':', k + 1);
  if (e < 0) return `missing the symbol segment, ${PATTERN_FORMS}`;
  const exchange = text.slice(k + 1, e);
  let symbol: string;
  let timeframe: string | null = null;
  if (kind === 'bars') {
    const t = text.lastIndexOf(':');
    if (t <= e) return `missing the timeframe segment, ${PATTERN_FORMS}`;
    symbol = text.slice(e + 1, t);
    const tf = text.slice(t + 1);
    if (tf !== '*') {
      if (!isTimeframe(tf)) return `unknown timeframe ${JSON.stringify(tf)}, expected a timeframe (1m, M1, ...) or *`;
      timeframe = parseTimeframe(tf).name;
    }
  } else {
    symbol = text.slice(e + 1);
  }
  if (exchange !== '*' && !EXCHANGE_SEGMENT.test(exchange)) return `invalid exchange segment ${JSON.stringify(exchange)}, ${PATTERN_FORMS}`;
  if (symbol !== '*' && !SEGMENT.test(symbol)) return `invalid symbol segment ${JSON.stringify(symbol)}, ${PATTERN_FORMS}`;
  return { kind, exchange: exchange === '*' ? null : exchange, symbol: symbol === '*' ? null : symbol, timeframe };
}

/** Does `text` equal `ch.slice(from, to)`? (no substring allocated) */
function segmentIs(ch: string, from: number, to: number, text: string): boolean {
  return to - from === text.length && ch.startsWith(text, from);
}

/** True when the concrete channel `ch` matches `p`. Allocates nothing. */
export function matchesChannel(p: ChannelPattern, ch: string): boolean {
  const kind = p.kind;
  if (kind === '*') return true;
  if (!ch.startsWith(kind)) return false;
  if (kind === 'system' || kind === 'alerts') return ch.length === kind.length;
  if (ch.charCodeAt(kind.length) !== COLON) return false;
  const exStart = kind.length + 1;
  const exEnd = ch.indexOf(':', exStart);
  if (exEnd <= exStart) return false;
  if (p.exchange !== null && !segmentIs(ch, exStart, exEnd, p.exchange)) return false;
  const symStart = exEnd + 1;
  let symEnd = ch.length;
  if (kind === 'bars') {
    const tfStart = ch.lastIndexOf(':') + 1;
    symEnd = tfStart - 1;
    if (tfStart === ch.length) return false;
    if (p.timeframe !== null && !segmentIs(ch, tfStart, ch.length, p.timeframe)) return false;
  }
  if (symEnd <= symStart) return false;
  return p.symbol === null || segmentIs(ch, symStart, symEnd, p.symbol);
}

/**
 * Compile a list of patterns into one `allows` test (a bare `*` anywhere: a
 * constant true). Throws TickwireError INVALID_PARAMETER naming the first bad
 * pattern.
 */
export function compileChannelPatterns(patterns: readonly string[]): (channel: string) => boolean {
  const parsed: ChannelPattern[] = [];
  for (const text of patterns) {
    const p = parseChannelPattern(text);
    if (typeof p === 'string') throw new TickwireError(ErrorCode.INVALID_PARAMETER, `invalid channel pattern ${JSON.stringify(text)}: ${p}`);
    if (p.kind === '*') return () => true;
    parsed.push(p);
  }
  return (channel) => {
    for (let i = 0; i < parsed.length; i++) if (matchesChannel(parsed[i]!, channel)) return true;
    return false;
  };
}
