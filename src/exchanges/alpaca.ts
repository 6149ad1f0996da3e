/**
 * Alpaca market data stream: US stocks (v2, IEX or SIP feed) and crypto (v1beta3, Alpaca's own venue).
 * Docs: https://docs.alpaca.markets/docs/streaming-market-data (common protocol, auth, limits)
 *       https://docs.alpaca.markets/docs/real-time-stock-pricing-data
 *       https://docs.alpaca.markets/docs/real-time-crypto-pricing-data
 * Protocol notes and documentation frames (no recorded real frames exist):
 * ../shared/fixtures/alpaca/protocol.md, doc_frames.jsonl, control.jsonl.
 *
 * - Every server frame is a JSON array of messages `[{"T":type,...},...]`.
 *   Control messages (`success`, `subscription`, `error`) arrive alone; data
 *   frames may batch many messages: each trade/quote goes to the handler.
 * - Handshake: the server greets with `success/connected`; the client must
 *   authenticate within 10 s (`{"action":"auth","key","secret"}`, acked by
 *   `success/authenticated`), then subscribe (`{"action":"subscribe",
 *   "trades":[..],"quotes":[..]}`, acked by `subscription` with the whole
 *   current subscription set). Alpaca names no request in its replies, so
 *   the adapter keeps the ids of its auth and subscribe requests and maps
 *   each reply (and each error code) to the request it answers.
 * - Trades `T:"t"`: `p` price and `s` size are JSON numbers, `t` an RFC-3339
 *   time with up to 9 fractional digits (kept to the millisecond, truncated).
 *   Stock trades carry no aggressor side (side 0); crypto trades carry `tks`,
 *   the taker side: "B" buyer (+1), "S" seller (-1).
 * - Quotes `T:"q"`: `bp bs ap as t`. A one-sided quote (price 0: no bid or
 *   no ask; the docs do not rule it out) is skipped, not malformed: a zero
 *   would distort the bars' mean spread.
 * - Trade ids (see `stockTradeId` / `cryptoTradeId`): stock ids are unique
 *   per reporting exchange `x` only, so the exchange is folded into the id;
 *   crypto ids exceed 2^53 (the docs' example is 3447222699101865076), so
 *   they are read from the text, not through a lossy double (rewritten to
 *   marked strings before JSON.parse: a frame spelling the marker, U+0001,
 *   itself is MALFORMED, as it could pass a string off as an id).
 * - Times, prices and sizes are held to the bounds of ./decode.ts.
 * - Limits: one concurrent connection per account and endpoint (a second
 *   gets error 406); 30 trade/quote channels on the free plans, unlimited on
 *   paid SIP/crypto plans; no documented client message rate nor maximum
 *   connection age. No application-level ping (the ws client answers
 *   protocol pings itself). Whether the server sends protocol pings is not
 *   documented: outside US market hours a stock feed may carry no frame for
 *   hours, so FeedConnection's `staleAfterMs` must allow for that.
 * - The secret is sent in the auth request and nowhere else: it is kept in a
 *   private field, never in `error`, and scrubbed from server error text.
 */
import type { FeedChannel } from '../config/types.ts';
import { InvalidParameterError } from '../errors.ts';
import { FrameKind, handQuote, handTrade, type AdapterCapabilities, type ClientRequest, type ExchangeAdapter, type FeedHandler } from './adapter.ts';
import { Rfc3339, isPlausibleMs, isQuantity, parseRfc3339Ms } from './decode.ts';

export type AlpacaAssetClass = 'stocks' | 'crypto';
/** Stock feeds: `iex` (free plan), `sip` (all US exchanges, paid), `test` (always-on fake stream, symbol FAKEPACA). */
export type AlpacaStockFeed = 'iex' | 'sip' | 'test';
/** Crypto feeds: `us` is the only one today. */
export type AlpacaCryptoFeed = 'us';
export type AlpacaFeed = AlpacaStockFeed | AlpacaCryptoFeed;

export interface AlpacaOptions {
  /** API key id and secret (`APCA-API-KEY-ID` / `APCA-API-SECRET-KEY`). */
  credentials: { key: string; secret: string };
  assetClass: AlpacaAssetClass;
  /** Picks `capabilities.defaultUrl` and the streams limit (default: `iex` for stocks, `us` for crypto). */
  feed?: AlpacaFeed;
}

const STOCK_FEEDS: readonly string[] = ['iex', 'sip', 'test'];
const CRYPTO_FEEDS: readonly string[] = ['us'];

/** The stream URL for an asset class and feed (defaults: stocks → iex, crypto → us). */
export function alpacaDefaultUrl(assetClass: AlpacaAssetClass, feed?: AlpacaFeed): string {
  if (assetClass === 'stocks') {
    const f = feed ?? 'iex';
    if (!STOCK_FEEDS.includes(f)) throw new InvalidParameterError('feed', feed, `one of ${STOCK_FEEDS.join(', ')} for stocks`);
    return `wss://stream.data.alpaca.markets/v2/${f}`;
  }
  if (assetClass === 'crypto') {
    const f = feed ?? 'us';
    if (!CRYPTO_FEEDS.includes(f)) throw new InvalidParameterError('feed', feed, `one of ${CRYPTO_FEEDS.join(', ')} for crypto`);
    return `wss://stream.data.alpaca.markets/v1beta3/crypto/${f}`;
  }
  throw new InvalidParameterError('assetClass', assetClass, "'stocks' or 'crypto'");
}

/**
 * Capabilities for an asset class and feed (see the file comment for sources).
 *  - maxStreamsPerConnection: 30 trade/quote channels on the free plans (IEX
 *    stocks, free crypto), documented; SIP (paid) is "no limit", given as
 *    `UNLIMITED`. The limit is the account's plan, which the adapter cannot
 *    see: a paid crypto plan is also unlimited.
 *  - maxMessagesPerSecond: not documented (unverified); 10 is a modest
 *    guess. The adapter sends two messages per connection.
 *  - maxConnectionAgeMs: not documented (no known forced disconnect); the
 *    longest Node timer (2^31 − 1 ms, ~24.8 days) so FeedConnection's
 *    rotation timer stays valid. Note that a rotation opens a second
 *    connection, which Alpaca refuses (406) while the first one lives.
 *  - tradeIdOrder 'any': stock ids come from many exchanges interleaved, and
 *    are folded with the exchange code; crypto ids look hashed (unverified).
 */
export function alpacaCapabilities(assetClass: AlpacaAssetClass, feed?: AlpacaFeed): AdapterCapabilities {
  return {
    name: 'alpaca',
    defaultUrl: alpacaDefaultUrl(assetClass, feed),
    channels: ['trades', 'quotes'],
    tradeIdOrder: 'any',
    maxStreamsPerConnection: assetClass === 'stocks' && feed === 'sip' ? UNLIMITED : 30,
    maxMessagesPerSecond: 10,
    maxConnectionAgeMs: 2 ** 31 - 1,
  };
}

/** "No limit" in a capability field (a finite number, so arithmetic and JSON stay sane). */
export const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** The request each documented error code answers (others: the pending request, if any). */
const AUTH = 1;
const SUBSCRIBE = 2;
const NONE = 3;
const ERROR_CODES: Readonly<Record<number, { answers: number; note: string }>> = {
  400: { answers: 0, note: 'a message sent did not follow the specification' },
  401: { answers: SUBSCRIBE, note: 'subscribe or unsubscribe sent before authentication' },
  402: { answers: AUTH, note: 'invalid credentials: check the key and secret' },
  403: { answers: AUTH, note: 'authenticated already in this session' },
  404: { answers: AUTH, note: 'no successful authentication within 10 s of connecting' },
  405: { answers: SUBSCRIBE, note: "the subscription would pass the plan's symbol limit; subscriptions unchanged" },
  406: { answers: AUTH, note: 'the account already has a session on this endpoint (one connection allowed)' },
  407: { answers: NONE, note: 'too slow to take the messages sent: the server disconnects' },
  408: { answers: AUTH, note: 'the account has no access to market data v2' },
  409: { answers: AUTH, note: 'the feed is not in the account’s subscription (e.g. sip on a free plan)' },
  500: { answers: 0, note: 'internal error at Alpaca' },
};

/** Where the handshake of the current connection stands. */
const PHASE_AUTH = 0;
const PHASE_SUBSCRIBE = 1;
const PHASE_STREAMING = 2;

/** Per-message scratch record (validated first, handed out after: a frame is delivered whole or not at all). */
const STRIDE = 7;
const REC_SKIP = 0;
const REC_TRADE = 1;
const REC_QUOTE = 2;

/**
 * Trade ids of 16 or more digits, rewritten to strings before JSON.parse so
 * no digit is lost (crypto ids pass 2^53). Only a key can be preceded by
 * `{` or `,` and followed by `:` in valid JSON, so this never touches text
 * inside a string value. The marker character tells these apart from a
 * string id on the wire (a wrong type: malformed).
 */
const BIG_ID = /([{,]\s*"i"\s*:\s*)(\d{16,})(?=\s*[,}])/g;
const BIG_ID_MARK = '\u0001';
/** The marker as JSON writes it (a raw U+0001 is not valid JSON in the first place). */
const BIG_ID_MARK_ESCAPED = '\\u0001';
const BIG_ID_REPLACEMENT = `$1"\\u0001$2"`;

/** An Alpaca market data adapter for `symbols` (native spelling: `AAPL`, `BRK.B`, `BTC/USD`). */
export class AlpacaAdapter implements ExchangeAdapter {
  readonly capabilities: AdapterCapabilities;
  readonly assetClass: AlpacaAssetClass;
  ackId = NaN;
  error = '';
  /** Id of the auth request of the current connection (NaN before the first connect). */
  authRequestId = NaN;
  /** Id of the subscribe request of the current connection (NaN when nothing is subscribed). */
  subscribeRequestId = NaN;

  /** The auth request text: the only place the secret is kept. */
  readonly #authText: string;
  readonly #secret: string;
  private readonly index = new Map<string, number>();
  private readonly wantTrades: boolean;
  private readonly wantQuotes: boolean;
  private readonly subscribeText: string | undefined;
  private readonly crypto: boolean;
  private phase = PHASE_AUTH;
  private rec = new Float64Array(STRIDE * 16);

  constructor(symbols: readonly string[], channels: readonly FeedChannel[], options: AlpacaOptions) {
    const { credentials, assetClass, feed } = options ?? ({} as AlpacaOptions);
    if (assetClass !== 'stocks' && assetClass !== 'crypto') throw new InvalidParameterError('assetClass', assetClass, "'stocks' or 'crypto'");
    if (typeof credentials?.key !== 'string' || credentials.key.length === 0) {
      throw new InvalidParameterError('credentials.key', typeof credentials?.key, 'a non-empty string (the API key id)');
    }
    if (typeof credentials.secret !== 'string' || credentials.secret.length === 0) {
      // Never echo the value: name its type only.
      throw new InvalidParameterError('credentials.secret', typeof credentials.secret, 'a non-empty string (the API secret key)');
    }
    this.assetClass = assetClass;
    this.crypto = assetClass === 'crypto';
    this.capabilities = alpacaCapabilities(assetClass, feed);
    this.#secret = credentials.secret;
    this.#authText = JSON.stringify({ action: 'auth', key: credentials.key, secret: credentials.secret });
    const names: string[] = [];
    symbols.forEach((symbol, i) => {
      if (typeof symbol !== 'string' || symbol.trim() === '') throw new InvalidParameterError(`symbols[${i}]`, symbol, 'a non-empty symbol');
      const name = symbol.trim().toUpperCase();
      if (!this.index.has(name)) names.push(name);
      this.index.set(name, i);
    });
    this.wantTrades = channels.includes('trades');
    this.wantQuotes = channels.includes('quotes');
    if (names.length > 0 && (this.wantTrades || this.wantQuotes)) {
      const sub: { action: 'subscribe'; trades?: string[]; quotes?: string[] } = { action: 'subscribe' };
      if (this.wantTrades) sub.trades = names;
      if (this.wantQuotes) sub.quotes = names;
      this.subscribeText = JSON.stringify(sub);
    }
  }

  connectUrl(baseUrl: string): string {
    return baseUrl;
  }

  /** Auth (held until acked), then one subscribe with every symbol. Called once per connection. */
  subscribeRequests(nextId: () => number): ClientRequest[] {
    this.phase = PHASE_AUTH;
    this.authRequestId = nextId();
    const requests: ClientRequest[] = [{ id: this.authRequestId, text: this.#authText, awaitAck: true }];
    this.subscribeRequestId = NaN;
    if (this.subscribeText !== undefined) {
      this.subscribeRequestId = nextId();
      requests.push({ id: this.subscribeRequestId, text: this.subscribeText });
    }
    return requests;
  }

  /** The secret-free form, for logs and `console.log(adapter)`. */
  toJSON(): object {
    return { name: this.capabilities.name, assetClass: this.assetClass, symbols: [...this.index.keys()] };
  }

  /**
   * The general path only: JSON.parse, then every field checked. Measured on
   * the documentation frames: ~2 µs for a one-trade frame (JSON.parse ~1.2,
   * the big-id rewrite ~0.2), ~5 µs for three quotes. An in-place scanner
   * like Binance's can follow if SIP rates ever call for it.
   */
  parse(frame: string, handler: FeedHandler): FrameKind {
    // The marker must come from the rewrite alone: a frame spelling it itself could pass a string as an id.
    if (frame.includes(BIG_ID_MARK_ESCAPED)) return this.malformed('U+0001 in a frame (Alpaca sends no control characters)');
    let msgs: unknown;
    try {
      msgs = JSON.parse(frame.replace(BIG_ID, BIG_ID_REPLACEMENT));
    } catch {
      return this.malformed('not JSON');
    }
    if (!Array.isArray(msgs)) return this.malformed('not an array of messages');
    const n = msgs.length;
    if (n === 0) return this.malformed('empty array');
    if (n === 1) {
      const m = msgs[0] as unknown;
      if (typeof m === 'object' && m !== null) {
        const type = (m as Record<string, unknown>)['T'];
        if (type === 'success' || type === 'subscription' || type === 'error') return this.control(type, m as Record<string, unknown>);
      }
    }
    if (this.rec.length < n * STRIDE) this.rec = new Float64Array(n * STRIDE * 2);
    const rec = this.rec;
    let handed = 0;
    // Pass 1: validate every message and keep what it says.
    for (let k = 0; k < n; k++) {
      const m = msgs[k] as unknown;
      const at = k * STRIDE;
      rec[at] = REC_SKIP;
      if (typeof m !== 'object' || m === null || Array.isArray(m)) return this.malformed(`message ${k} is not an object`);
      const d = m as Record<string, unknown>;
      const type = d['T'];
      if (typeof type !== 'string') return this.malformed(`message ${k} has no type T`);
      if (type === 't') {
        const why = this.trade(d, at);
        if (why !== '') return this.malformed(`trade ${k}: ${why}`);
      } else if (type === 'q') {
        const why = this.quote(d, at);
        if (why !== '') return this.malformed(`quote ${k}: ${why}`);
      } else if (type === 'success' || type === 'subscription' || type === 'error') {
        return this.malformed(`control message ${k} inside a batch`);
      }
      // Any other type (bars b/d/u, statuses s, LULD l, corrections c, cancels x,
      // imbalances i, order books o, news n, and types added later) is of no interest.
      if (rec[at] !== REC_SKIP) handed++;
    }
    if (handed === 0) return FrameKind.IGNORED;
    // Pass 2: hand everything out.
    for (let k = 0; k < n; k++) {
      const at = k * STRIDE;
      const kind = rec[at];
      if (kind === REC_TRADE) handTrade(handler, rec[at + 1]!, rec[at + 2]!, rec[at + 3]!, rec[at + 4]!, rec[at + 5]!, rec[at + 6]!);
      else if (kind === REC_QUOTE) handQuote(handler, rec[at + 1]!, rec[at + 2]!, rec[at + 3]!, rec[at + 4]!, rec[at + 5]!, rec[at + 6]!);
    }
    return FrameKind.DATA;
  }

  /** Validate trade `d` into rec[at..]; returns why it is malformed, '' when valid. */
  private trade(t: Record<string, unknown>, at: number): string {
    const sym = t['S'];
    if (typeof sym !== 'string') return 'no symbol S';
    const price = t['p'];
    const size = t['s'];
    if (!isQuantity(price) || price === 0) return 'bad price p';
    if (!isQuantity(size) || size === 0) return 'bad size s';
    const ts = typeof t['t'] === 'string' ? parseRfc3339Ms(t['t'], Rfc3339.ANY) : NaN;
    if (!isPlausibleMs(ts)) return 'bad time t';
    if (!optionalStrings(t['c'])) return 'bad conditions c';
    let side = 0;
    let id: number;
    if (this.crypto) {
      id = cryptoTradeId(t['i']);
      const tks = t['tks'];
      if (tks === 'B') side = 1;
      else if (tks === 'S') side = -1;
      else if (tks !== undefined) return 'bad taker side tks';
      if (!optionalString(t['x'])) return 'bad exchange x';
    } else {
      const x = t['x'];
      if (typeof x !== 'string' || x.length === 0) return 'bad exchange x';
      if (!optionalString(t['z'])) return 'bad tape z';
      id = stockTradeId(t['i'], x);
    }
    if (id !== id) return 'bad id i';
    const symbol = this.index.get(sym);
    if (symbol === undefined || !this.wantTrades) return '';
    const rec = this.rec;
    rec[at] = REC_TRADE;
    rec[at + 1] = symbol;
    rec[at + 2] = ts;
    rec[at + 3] = price;
    rec[at + 4] = size;
    rec[at + 5] = side;
    rec[at + 6] = id;
    return '';
  }

  /** Validate quote `d` into rec[at..]; returns why it is malformed, '' when valid. */
  private quote(q: Record<string, unknown>, at: number): string {
    const sym = q['S'];
    if (typeof sym !== 'string') return 'no symbol S';
    const bid = q['bp'];
    const bidSize = q['bs'];
    const ask = q['ap'];
    const askSize = q['as'];
    if (!isQuantity(bid)) return 'bad bid price bp';
    if (!isQuantity(ask)) return 'bad ask price ap';
    if (!isQuantity(bidSize)) return 'bad bid size bs';
    if (!isQuantity(askSize)) return 'bad ask size as';
    const ts = typeof q['t'] === 'string' ? parseRfc3339Ms(q['t'], Rfc3339.ANY) : NaN;
    if (!isPlausibleMs(ts)) return 'bad time t';
    if (!optionalStrings(q['c'])) return 'bad conditions c';
    if (!optionalString(q['bx'])) return 'bad bid exchange bx';
    if (!optionalString(q['ax'])) return 'bad ask exchange ax';
    if (!optionalString(q['z'])) return 'bad tape z';
    const symbol = this.index.get(sym);
    if (symbol === undefined || !this.wantQuotes || bid === 0 || ask === 0) return ''; // not ours, or one-sided
    const rec = this.rec;
    rec[at] = REC_QUOTE;
    rec[at + 1] = symbol;
    rec[at + 2] = ts;
    rec[at + 3] = bid;
    rec[at + 4] = bidSize;
    rec[at + 5] = ask;
    rec[at + 6] = askSize;
    return '';
  }

  private control(type: 'success' | 'subscription' | 'error', m: Record<string, unknown>): FrameKind {
    if (type === 'success') {
      const msg = m['msg'];
      if (typeof msg !== 'string') return this.malformed('success without msg');
      if (msg === 'authenticated') {
        this.phase = PHASE_SUBSCRIBE;
        this.ackId = this.authRequestId;
        return FrameKind.ACK;
      }
      return FrameKind.IGNORED; // "connected": the greeting
    }
    if (type === 'subscription') {
      for (const key of ['trades', 'quotes']) if (!optionalStrings(m[key])) return this.malformed(`subscription with a bad ${key} list`);
      this.phase = PHASE_STREAMING;
      this.ackId = this.subscribeRequestId;
      return FrameKind.ACK;
    }
    const code = m['code'];
    const msg = m['msg'];
    if (typeof code !== 'number' || !Number.isInteger(code) || (msg !== undefined && typeof msg !== 'string')) {
      return this.malformed('error without an integer code');
    }
    const known = ERROR_CODES[code];
    const answers = known === undefined || known.answers === 0 ? this.pendingRequest() : known.answers;
    this.ackId = answers === AUTH ? this.authRequestId : answers === SUBSCRIBE ? this.subscribeRequestId : NaN;
    const text = this.scrub(typeof msg === 'string' ? msg.slice(0, 200) : '');
    this.error = `alpaca error ${code}${text !== '' ? ` (${text})` : ''}${known !== undefined ? `: ${known.note}` : ''}`;
    return FrameKind.ERROR;
  }

  /** The request awaiting its answer in the current handshake phase. */
  private pendingRequest(): number {
    return this.phase === PHASE_AUTH ? AUTH : this.phase === PHASE_SUBSCRIBE ? SUBSCRIBE : NONE;
  }

  /** Server text with the secret removed, should the server ever echo it. */
  private scrub(text: string): string {
    return text.includes(this.#secret) ? text.split(this.#secret).join('***') : text;
  }

  private malformed(why: string): FrameKind {
    this.error = `alpaca: ${why}`;
    return FrameKind.MALFORMED;
  }
}

/** Absent, or a string. */
function optionalString(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}

/** Absent, or an array of strings (conditions, subscription lists). */
function optionalStrings(v: unknown): boolean {
  if (v === undefined) return true;
  if (!Array.isArray(v)) return false;
  for (const s of v) if (typeof s !== 'string') return false;
  return true;
}

const TWO_47 = 2 ** 47;

/**
 * A stock trade's id for de-duplication: Alpaca's `i` is unique only per
 * reporting exchange (SIP trade ids are assigned by each exchange), so two
 * exchanges may print the same `i` for the same symbol. The exchange code is
 * folded in: `(i mod 2^47) · 64 + code`, code 1–26 for the one-letter codes
 * A–Z (0 for anything else). Exact below 2^53; decode with `floor(id / 64)`
 * and `id % 64`. NaN when `i` is not a non-negative integer.
 */
export function stockTradeId(i: unknown, exchange: string): number {
  let low: number;
  if (typeof i === 'number') {
    if (!Number.isSafeInteger(i) || i < 0) return NaN;
    low = i % TWO_47;
  } else if (isMarkedBigId(i)) {
    low = Number(BigInt.asUintN(47, BigInt(i.slice(1))));
  } else {
    return NaN;
  }
  const c = exchange.length === 1 ? exchange.charCodeAt(0) - 64 : 0;
  return low * 64 + (c >= 1 && c <= 26 ? c : 0);
}

/**
 * A crypto trade's id: `i` itself when below 2^53, otherwise its low 53 bits,
 * read exactly from the digits (ids like 3447222699101865076 would round to a
 * multiple of 512 as a double, merging distinct trades). Distinct ids within
 * 2^53 of each other stay distinct. NaN when `i` is not a non-negative integer.
 */
export function cryptoTradeId(i: unknown): number {
  if (typeof i === 'number') return Number.isSafeInteger(i) && i >= 0 ? i : NaN;
  if (isMarkedBigId(i)) return Number(BigInt.asUintN(53, BigInt(i.slice(1))));
  return NaN;
}

/** A big id as the BIG_ID rewrite leaves it: the marker, then 16 or more digits (so BigInt cannot throw). */
function isMarkedBigId(i: unknown): i is string {
  if (typeof i !== 'string' || i.length < 17 || i.charCodeAt(0) !== 1) return false;
  for (let k = 1; k < i.length; k++) {
    const d = i.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return false;
  }
  return true;
}

// ---- Wire types (as documented; every field is validated in parse) ----

/** Trade `T:"t"`. Stocks: `x z c`; crypto: `tks`. */
export interface AlpacaTrade {
  T: 't';
  S: string;
  /** Trade id: per exchange for stocks; may pass 2^53 for crypto. */
  i: number;
  /** Reporting exchange code (stocks). */
  x?: string;
  p: number;
  s: number;
  /** RFC-3339, up to nanoseconds. */
  t: string;
  /** Trade conditions (stocks). */
  c?: string[];
  /** Tape A/B/C (stocks). */
  z?: string;
  /** Taker side, "B" or "S" (crypto). */
  tks?: 'B' | 'S';
}

/** Quote `T:"q"`. Stocks also `bx ax c z`. */
export interface AlpacaQuote {
  T: 'q';
  S: string;
  bx?: string;
  bp: number;
  bs: number;
  ax?: string;
  ap: number;
  as: number;
  t: string;
  c?: string[];
  z?: string;
}

/** Control messages; always alone in their array. */
export type AlpacaControl =
  | { T: 'success'; msg: 'connected' | 'authenticated' }
  | { T: 'subscription'; trades?: string[]; quotes?: string[]; bars?: string[]; [channel: string]: unknown }
  | { T: 'error'; code: number; msg: string };
