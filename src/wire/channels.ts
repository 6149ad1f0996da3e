/**
 * Channel names of `/v1/stream`, parsed in one place for the server's channel
 * index (server/channels.ts), permissions (server/principal.ts, the config's
 * token patterns) and the client (client/channels.ts).
 *
 * Names: `trades:<exchange>:<symbol>`, `quotes:<exchange>:<symbol>`,
 * `bars:<exchange>:<symbol>:<tf>`, the rooms `system` and `alerts`, and the
 * strategy channels `predictions:<name>`, `signals:<name>`, `fills:<name>`
 * (no wildcards when subscribing; `signals:*` as a permission pattern). The
 * kind ends at the first `:` and the exchange at the second; symbols are the
 * exchange's native ids and may hold `:` (`BTC-PERP:USDT`), so a timeframe
 * starts after the last one. No segment may be empty. A canonical name has
 * the native symbol and the canonical timeframe (`bars:binance:BTCUSDT:1m`).
 *
 * `*` stands for a whole segment, never for part of one, never for the kind.
 * Three pattern flavours, each as its caller has always had it:
 *  - stream wildcards, server side (`parseWildcard`): `*` for the exchange
 *    and/or the symbol, never the timeframe; anything malformed throws
 *    UNKNOWN_CHANNEL (a bad timeframe INVALID_TIMEFRAME); the symbol is kept
 *    as given (the server resolves it on each exchange).
 *  - stream wildcards, client side (`parseLooseWildcard`,
 *    `looseWildcardMatches`): the same wildcards read leniently, since the
 *    server judges them: a malformed or partial `*` name is simply not a
 *    wildcard, a timeframe that is none stays as written, and symbols are
 *    compared loosely (`BTC-USDT` = `btcusdt`: the client cannot resolve them).
 *  - permissions (`parseChannelPattern`, `matchesChannel`): also `*` for the
 *    timeframe, `*` alone for everything, and the rooms; segments may not
 *    hold whitespace (nor `:` in the exchange); errors are returned as text
 *    for the config and the auth code to wrap; matched segment by segment,
 *    exactly, without allocating.
 */
import { ErrorCode, TickwireError } from '../errors.ts';
import { isTimeframe, parseTimeframe, type TimeframeName } from '../model/timeframes.ts';

/** The three market kinds; each market channel carries one. */
export type MarketKind = 'trades' | 'quotes' | 'bars';
/** The channels named by one segment after their kind: a price feed (`prices:BTC-USD`) and a portfolio (`portfolio:main`). */
export type NamedKind = 'prices' | 'portfolio';
/** What a channel carries: the three market kinds, the two rooms, feeds and portfolios. */

/** The strategy channels' kinds (src/wire/strategy-json.ts). */
export type StrategyKind = 'predictions' | 'signals' | 'fills';
/** What a channel carries: the three market kinds, the two rooms, feeds and portfolios, and the three strategy kinds. */
export type ChannelKind = MarketKind | 'system' | 'alerts' | NamedKind | StrategyKind;

/** Strategy names as the config accepts them (src/config/strategies.ts). */
const STRATEGY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The strategy kind `name` starts with (text before its first `:`), else undefined. */
export function strategyKindOf(name: string): StrategyKind | undefined {
  const c = name.indexOf(':');
  if (c < 0) return undefined;
  if (c === 11 && name.startsWith('predictions')) return 'predictions';
  if (c === 7 && name.startsWith('signals')) return 'signals';
  return c === 5 && name.startsWith('fills') ? 'fills' : undefined;
}

/** Is `name` a valid strategy name? (letters, digits, `.`, `-`, `_`; at most 64) */
export function isStrategyName(name: string): boolean {
  return STRATEGY_NAME.test(name);
}

/** Room of the exchanges' connection states. */
export const SYSTEM_ROOM = 'system';
/** Room of operational alerts. */
export const ALERTS_ROOM = 'alerts';

const COLON = 58;

/** The kind of a feed or portfolio channel name (`prices:<feed>`, `portfolio:<id>`, the name not empty), else undefined. */
export function namedKindOf(name: string): NamedKind | undefined {
  if (name.startsWith('prices:') && name.length > 7) return 'prices';
  if (name.startsWith('portfolio:') && name.length > 10) return 'portfolio';
  return undefined;
}

// ── segments ─────────────────────────────────────────────────────────────

/** The market kind `name` starts with (the text before its first `:`, or all of it), else undefined. Allocates nothing. */
export function marketKindOf(name: string): MarketKind | undefined {
  const c = name.indexOf(':');
  const n = c < 0 ? name.length : c;
  if (n === 6) return name.startsWith('trades') ? 'trades' : name.startsWith('quotes') ? 'quotes' : undefined;
  return n === 4 && name.startsWith('bars') ? 'bars' : undefined;
}

/** Where the segments of a market channel name lie (start inclusive, end exclusive); filled by `locateSegments`. */
export interface SegmentBounds {
  exchangeStart: number;
  exchangeEnd: number;
  symbolStart: number;
  symbolEnd: number;
  /** Bars: the timeframe's first character; otherwise the name's length. */
  timeframeStart: number;
}

/** What `locateSegments` found. */
export const Shape = {
  OK: 0,
  /** Fewer than two `:` after the kind. */
  NO_SYMBOL: 1,
  /** A bars name without a `:` after its symbol. */
  NO_TIMEFRAME: 2,
  /** Every `:` is there but a segment is empty (the bounds are filled all the same). */
  EMPTY_SEGMENT: 3,
} as const;
export type Shape = (typeof Shape)[keyof typeof Shape];

/**
 * Find the segments of `name` after a kind of `kindLength` characters, into
 * `out`: the one scan of a channel name's colons every parser here uses.
 * Allocates nothing.
 */
export function locateSegments(name: string, kindLength: number, bars: boolean, out: SegmentBounds): Shape {
  if (name.charCodeAt(kindLength) !== COLON) return Shape.NO_SYMBOL;
  const exchangeStart = kindLength + 1;
  const exchangeEnd = name.indexOf(':', exchangeStart);
  if (exchangeEnd < 0) return Shape.NO_SYMBOL;
  const symbolEnd = bars ? name.lastIndexOf(':') : name.length;
  if (symbolEnd <= exchangeEnd) return Shape.NO_TIMEFRAME;
  out.exchangeStart = exchangeStart;
  out.exchangeEnd = exchangeEnd;
  out.symbolStart = exchangeEnd + 1;
  out.symbolEnd = symbolEnd;
  out.timeframeStart = bars ? symbolEnd + 1 : name.length;
  const empty = exchangeEnd === exchangeStart || symbolEnd === exchangeEnd + 1 || (bars && symbolEnd === name.length - 1);
  return empty ? Shape.EMPTY_SEGMENT : Shape.OK;
}

/** Scratch bounds for the parsers below (each uses them within one synchronous call). */
const AT: SegmentBounds = { exchangeStart: 0, exchangeEnd: 0, symbolStart: 0, symbolEnd: 0, timeframeStart: 0 };

// ── names ────────────────────────────────────────────────────────────────

/** The parts of a channel name; symbols may hold `:` (the timeframe is after the last one). */
export interface ChannelParts {
  kind: ChannelKind;
  exchange: string;
  symbol: string;
  /** Bars only (else ''); as written (not canonicalized). */
  timeframe: string;
  /** Strategy channels only: the strategy's name. */
  strategy?: string;
}

function partsAt(name: string, kind: MarketKind): ChannelParts & { kind: MarketKind } {
  return {
    kind,
    exchange: name.slice(AT.exchangeStart, AT.exchangeEnd),
    symbol: name.slice(AT.symbolStart, AT.symbolEnd),
    timeframe: kind === 'bars' ? name.slice(AT.timeframeStart) : '',
  };
}

/** Split a channel name (concrete or pattern: `*` is text here); rooms have empty segments; undefined when it has no known shape. */
export function channelParts(name: string): ChannelParts | undefined {
  if (name === SYSTEM_ROOM || name === ALERTS_ROOM) return { kind: name, exchange: '', symbol: '', timeframe: '' };
  const sk = strategyKindOf(name);
  if (sk !== undefined) {
    const strategy = name.slice(sk.length + 1);
    return strategy === '' ? undefined : { kind: sk, exchange: '', symbol: '', timeframe: '', strategy };
  }
  const kind = marketKindOf(name);
  if (kind === undefined || locateSegments(name, kind.length, kind === 'bars', AT) !== Shape.OK) return undefined;
  return partsAt(name, kind);
}

const FORMS = 'channels are trades:<exchange>:<symbol>, quotes:<exchange>:<symbol>, bars:<exchange>:<symbol>:<tf>, system, alerts, predictions:<strategy>, signals:<strategy>, fills:<strategy>';

/** The stream's UNKNOWN_CHANNEL error for `given`, saying why and listing the channel forms. */
export function unknownChannel(given: string, why: string): TickwireError {
  return new TickwireError(ErrorCode.UNKNOWN_CHANNEL, `unknown channel ${JSON.stringify(given)}: ${why} (${FORMS}; * may stand for a whole exchange or symbol)`);
}

/** Split a market channel name (`*` is text here) as the stream reads it; throws UNKNOWN_CHANNEL saying what is wrong (rooms included). */
export function marketChannelParts(given: string): ChannelParts & { kind: MarketKind } {
  const kind = marketKindOf(given);
  if (kind === undefined) {
    const c = given.indexOf(':');
    const text = c < 0 ? given : given.slice(0, c);
    throw unknownChannel(given, text === '*' ? 'the type cannot be a wildcard' : 'the type must be trades, quotes or bars');
  }
  if (locateSegments(given, kind.length, kind === 'bars', AT) !== Shape.OK) {
    throw unknownChannel(given, kind === 'bars' ? 'expected bars:<exchange>:<symbol>:<tf>' : `expected ${kind}:<exchange>:<symbol>`);
  }
  return partsAt(given, kind);
}

/** The name of a market channel; canonical when `symbol` is native and `timeframe` (bars only) canonical. */
export function channelName(kind: MarketKind, exchange: string, symbol: string, timeframe?: string): string {
  return timeframe === undefined ? `${kind}:${exchange}:${symbol}` : `${kind}:${exchange}:${symbol}:${timeframe}`;
}

// ── stream wildcards ─────────────────────────────────────────────────────

/** A subscribe wildcard as the server reads it: `*` for the exchange and/or the symbol. */
export interface WildcardPattern {
  /** Canonical text (the timeframe canonical; the symbol as given): what an unsubscribe names. */
  readonly text: string;
  readonly kind: MarketKind;
  /** null: any exchange. */
  readonly exchange: string | null;
  /** As given (native or normalized); null: any symbol. */
  readonly symbol: string | null;
  readonly timeframe: TimeframeName | undefined;
}

/**
 * `given` as a server-side wildcard; undefined when it has no `*` segment (a
 * concrete name). Throws UNKNOWN_CHANNEL when malformed or `*` is part of a
 * segment or the timeframe, INVALID_TIMEFRAME for an unknown timeframe.
 */
export function parseWildcard(given: string): WildcardPattern | undefined {
  if (!given.includes('*')) return undefined;
  const { kind, exchange, symbol, timeframe: tf } = marketChannelParts(given);
  if (tf.includes('*')) throw unknownChannel(given, 'the timeframe cannot be a wildcard');
  if ((exchange.includes('*') && exchange !== '*') || (symbol.includes('*') && symbol !== '*')) {
    throw unknownChannel(given, '* must stand for a whole segment');
  }
  if (exchange !== '*' && symbol !== '*') return undefined;
  const timeframe = kind === 'bars' ? parseTimeframe(tf).name : undefined;
  return {
    text: channelName(kind, exchange, symbol, timeframe),
    kind,
    exchange: exchange === '*' ? null : exchange,
    symbol: symbol === '*' ? null : symbol,
    timeframe,
  };
}

/** A subscribe wildcard as the client reads it (`*` for a whole exchange or symbol segment). */
export interface LooseWildcard {
  /** The name as given. */
  readonly text: string;
  readonly kind: ChannelKind;
  /** null: any. */
  readonly exchange: string | null;
  /** null: any; else in loose form (`looseSymbol`). */
  readonly symbol: string | null;
  /** Bars: canonical when it is a timeframe, else as written; '' for other kinds. */
  readonly timeframe: string;
}

/** Symbols compared the way users write them: case and separators ignored (`BTC-USDT` = `btcusdt`). */
export function looseSymbol(s: string): string {
  return s.replace(/[^0-9A-Za-z]/g, '').toUpperCase();
}

/** The client-side wildcard of `name` when it holds a whole `*` exchange or symbol; undefined otherwise (the server judges it). */
export function parseLooseWildcard(name: string): LooseWildcard | undefined {
  const p = channelParts(name);
  if (p === undefined || (p.exchange !== '*' && p.symbol !== '*')) return undefined;
  const timeframe = p.kind === 'bars' && isTimeframe(p.timeframe) ? parseTimeframe(p.timeframe).name : p.timeframe;
  return {
    text: name,
    kind: p.kind,
    exchange: p.exchange === '*' ? null : p.exchange,
    symbol: p.symbol === '*' ? null : looseSymbol(p.symbol),
    timeframe,
  };
}

/** Does the concrete channel `name` fall under the client-side wildcard `w`? (a channel that appeared after subscribing) */
export function looseWildcardMatches(w: LooseWildcard, name: string): boolean {
  const p = channelParts(name);
  if (p === undefined || p.kind !== w.kind) return false;
  if (w.exchange !== null && w.exchange !== p.exchange) return false;
  if (w.symbol !== null && w.symbol !== looseSymbol(p.symbol)) return false;
  if (p.kind === 'bars') return isTimeframe(p.timeframe) && parseTimeframe(p.timeframe).name === w.timeframe;
  return true;
}

// ── permission patterns ──────────────────────────────────────────────────

/** A parsed permission pattern; `null` segments are `*` (any). */
export interface ChannelPattern {
  /** `trades`, `quotes`, `bars`, `system`, `alerts`, or `*` for everything. */
  readonly kind: string;
  readonly exchange: string | null;
  readonly symbol: string | null;
  /** Canonical timeframe (`1m`), bars only. */
  readonly timeframe: string | null;
  /** Strategy kinds: the strategy's name; null: any. */
  readonly strategy?: string | null;
}

const SEGMENT = /^[^\s*]+$/;
const EXCHANGE_SEGMENT = /^[^\s*:]+$/;
const PATTERN_FORMS =
  'expected *, system, alerts, trades:<exchange>:<symbol>, quotes:<exchange>:<symbol>, bars:<exchange>:<symbol>:<tf>, prices:<feed>, portfolio:<id>, predictions:<strategy>, signals:<strategy> or fills:<strategy>, with * for a whole segment';

/**
 * Parse one permission pattern; returns why it is invalid as a string (never
 * echoing more than the pattern itself). Exchange names are not checked
 * against the registry here: config validation does that, a JWT claim naming
 * an unknown exchange simply matches nothing.
 */
export function parseChannelPattern(text: string): ChannelPattern | string {
  if (text === '*') return { kind: '*', exchange: null, symbol: null, timeframe: null };
  if (text === SYSTEM_ROOM || text === ALERTS_ROOM) return { kind: text, exchange: null, symbol: null, timeframe: null };
  const named = namedKindOf(text);
  if (named !== undefined) {
    const name = text.slice(named.length + 1);
    if (name !== '*' && !SEGMENT.test(name)) return `invalid ${named} name ${JSON.stringify(name)}, ${PATTERN_FORMS}`;
    return { kind: named, exchange: null, symbol: name === '*' ? null : name, timeframe: null };
  }
  const sk = strategyKindOf(text);
  if (sk !== undefined) {
    const name = text.slice(sk.length + 1);
    if (name !== '*' && !isStrategyName(name)) return `invalid strategy segment ${JSON.stringify(name)}, ${PATTERN_FORMS}`;
    return { kind: sk, exchange: null, symbol: null, timeframe: null, strategy: name === '*' ? null : name };
  }
  const kind = marketKindOf(text);
  if (kind === undefined) {
    const k = text.indexOf(':');
    return `unknown channel kind ${JSON.stringify(k < 0 ? text : text.slice(0, k))}, ${PATTERN_FORMS}`;
  }
  const shape = locateSegments(text, kind.length, kind === 'bars', AT);
  if (shape === Shape.NO_SYMBOL) return `missing the symbol segment, ${PATTERN_FORMS}`;
  if (shape === Shape.NO_TIMEFRAME) return `missing the timeframe segment, ${PATTERN_FORMS}`;
  const exchange = text.slice(AT.exchangeStart, AT.exchangeEnd);
  const symbol = text.slice(AT.symbolStart, AT.symbolEnd);
  let timeframe: string | null = null;
  if (kind === 'bars') {
    const tf = text.slice(AT.timeframeStart);
    if (tf !== '*') {
      if (!isTimeframe(tf)) return `unknown timeframe ${JSON.stringify(tf)}, expected a timeframe (1m, M1, ...) or *`;
      timeframe = parseTimeframe(tf).name;
    }
  }
  if (exchange !== '*' && !EXCHANGE_SEGMENT.test(exchange)) return `invalid exchange segment ${JSON.stringify(exchange)}, ${PATTERN_FORMS}`;
  if (symbol !== '*' && !SEGMENT.test(symbol)) return `invalid symbol segment ${JSON.stringify(symbol)}, ${PATTERN_FORMS}`;
  return { kind, exchange: exchange === '*' ? null : exchange, symbol: symbol === '*' ? null : symbol, timeframe };
}

/** Does `text` equal `ch.slice(from, to)`? (no substring allocated) */
function segmentIs(ch: string, from: number, to: number, text: string): boolean {
  return to - from === text.length && ch.startsWith(text, from);
}

/** True when the concrete channel `ch` matches the permission pattern `p`. Allocates nothing. */
export function matchesChannel(p: ChannelPattern, ch: string): boolean {
  const kind = p.kind;
  if (kind === '*') return true;
  if (!ch.startsWith(kind)) return false;
  if (kind === SYSTEM_ROOM || kind === ALERTS_ROOM) return ch.length === kind.length;
  if (kind === 'prices' || kind === 'portfolio') {
    if (ch.charCodeAt(kind.length) !== COLON || ch.length === kind.length + 1) return false;
    return p.symbol === null || segmentIs(ch, kind.length + 1, ch.length, p.symbol);
  }
  if (p.strategy !== undefined) {
    if (ch.charCodeAt(kind.length) !== COLON) return false;
    return p.strategy === null ? ch.length > kind.length + 1 : segmentIs(ch, kind.length + 1, ch.length, p.strategy);
  }
  const bars = kind === 'bars';
  if (locateSegments(ch, kind.length, bars, AT) !== Shape.OK) return false;
  if (p.exchange !== null && !segmentIs(ch, AT.exchangeStart, AT.exchangeEnd, p.exchange)) return false;
  if (bars && p.timeframe !== null && !segmentIs(ch, AT.timeframeStart, ch.length, p.timeframe)) return false;
  return p.symbol === null || segmentIs(ch, AT.symbolStart, AT.symbolEnd, p.symbol);
}
