/**
 * The Binance combined-stream protocol, shared by spot (binance.ts) and
 * USDⓈ-M futures (binance-usdm.ts):
 *
 * - symbols are printed in upper case in the payload's `s`; streams are
 *   named `<lower-case symbol>@<stream>`;
 * - live `SUBSCRIBE` requests `{"method":"SUBSCRIBE","params":[..],"id":N}`,
 *   acked by id with `{"result":..,"id":N}`;
 * - errors `{"code":N,"msg":"..","id":N}`.
 *
 * What differs between the venues (routes, heartbeat, frame shapes, nested
 * errors, how strictly decimals are read) stays in the adapters.
 */
import { FrameKind, QuoteField, TradeField, type ClientRequest, type FeedHandler } from './adapter.ts';
import { isEpochMs, venueText } from './decode.ts';
import { hashString, literal, type FrameScanner } from './scan.ts';

/** The end of a combined-stream payload: the payload's object, then the frame's. */
const FRAME_END = literal('}}');

/** Char codes of the one-letter payload keys the fast paths read in place with `FrameScanner.key` (`,"s":` is `key(KEY.s)`). */
export const KEY = { s: 115, t: 116, p: 112, q: 113, T: 84, m: 109, M: 77, b: 98, B: 66, a: 97, A: 65, E: 69 } as const;

/**
 * Streams per SUBSCRIBE request: keeps each request small (on USDⓈ-M one
 * request per connection at its 200-stream budget); the request rate is paced
 * by the connection.
 */
export const STREAMS_PER_REQUEST = 200;

/**
 * The subscribed symbols, by name and by FNV hash of the name, for reading
 * `s` both from a parsed payload and in place from a frame (the fast path).
 * Built once per adapter and held as a field.
 *
 * By hash: an open-addressing table in typed arrays (linear probing, at most
 * a quarter full, rebuilt when a live addition would pass that), since a
 * `Map` lookup keyed by a uint32 hash is a builtin call on every frame.
 */
export class BinanceSymbols {
  /** Native symbol (as Binance prints it in `s`) → index. */
  private readonly index = new Map<string, number>();
  private readonly names: string[] = [];
  /** Hash table slots: the FNV hash, and the symbol's index + 1 (0: empty; -1: two symbols share the hash, use the slow path). */
  private hashes = new Uint32Array(16);
  private holders = new Int32Array(16);
  private used = 0;

  constructor(symbols: readonly string[]) {
    for (const symbol of symbols) this.add(symbol);
  }

  /** Number `symbol` next (a live addition); a name added again takes the new number. */
  add(symbol: string): number {
    const i = this.names.length;
    const name = symbol.toUpperCase();
    this.index.set(name, i);
    this.names.push(name);
    if ((this.used + 1) * 4 > this.hashes.length) this.rehash(this.hashes.length * 2);
    this.put(hashString(name), i);
    return i;
  }

  /** Record symbol `i` under hash `h` (see the slot values above). */
  private put(h: number, i: number): void {
    const mask = this.hashes.length - 1;
    let slot = h & mask;
    while (this.holders[slot] !== 0 && this.hashes[slot] !== h) slot = (slot + 1) & mask;
    const holder = this.holders[slot]!;
    if (holder === 0) this.used++;
    this.hashes[slot] = h;
    this.holders[slot] = holder === 0 || this.names[holder - 1] === this.names[i] ? i + 1 : -1;
  }

  /** Grow the table to `size` slots and put every name in again (a name added twice keeps its last number). */
  private rehash(size: number): void {
    this.hashes = new Uint32Array(size);
    this.holders = new Int32Array(size);
    this.used = 0;
    for (const [name, i] of this.index) this.put(hashString(name), i);
  }

  /**
   * Index of the symbol spelled at text[start, end), whose FNV-1a hash is
   * `hash` (FrameScanner.stringStart computes it as it reads): -1 when not
   * ours, -2 when undecidable here. The name is read again only to confirm it.
   */
  at(text: string, start: number, end: number, hash: number): number {
    if (start < 0) return -2;
    const hashes = this.hashes;
    const mask = hashes.length - 1;
    let slot = hash & mask;
    let holder: number;
    while ((holder = this.holders[slot]!) !== 0 && hashes[slot] !== hash) slot = (slot + 1) & mask;
    if (holder === 0) return -1;
    if (holder < 0) return -2;
    const i = holder - 1;
    const name = this.names[i]!;
    if (name.length !== end - start) return -1;
    for (let k = 0; k < name.length; k++) if (text.charCodeAt(start + k) !== name.charCodeAt(k)) return -1;
    return i;
  }

  /** Index of symbol `s`; -1 when a symbol that is not ours, -2 when not a string. */
  of(s: unknown): number {
    if (typeof s !== 'string') return -2;
    return this.index.get(s) ?? -1;
  }
}

/** `SUBSCRIBE` requests for `streams`, at most STREAMS_PER_REQUEST each, numbered by `nextId`. */
export function subscribeRequests(streams: readonly string[], nextId: () => number): ClientRequest[] {
  return streamRequests('SUBSCRIBE', streams, nextId);
}

/** `UNSUBSCRIBE` requests for `streams` (a live removal), batched as `subscribeRequests`. */
export function unsubscribeRequests(streams: readonly string[], nextId: () => number): ClientRequest[] {
  return streamRequests('UNSUBSCRIBE', streams, nextId);
}

function streamRequests(method: 'SUBSCRIBE' | 'UNSUBSCRIBE', streams: readonly string[], nextId: () => number): ClientRequest[] {
  const requests: ClientRequest[] = [];
  for (let i = 0; i < streams.length; i += STREAMS_PER_REQUEST) {
    const id = nextId();
    requests.push({ id, text: JSON.stringify({ method, params: streams.slice(i, i + STREAMS_PER_REQUEST), id }) });
  }
  return requests;
}

/** Whether `m` answers a request: `{"result":..,"id":..}`. */
export function isReply(m: Record<string, unknown>): boolean {
  return 'result' in m && 'id' in m;
}

/** The request id a reply or error names; NaN when it names none. */
export function replyId(m: Record<string, unknown>): number {
  return typeof m['id'] === 'number' ? m['id'] : NaN;
}

/** `<venue> error <code>: <msg>` of an error object `{"code":N,"msg":".."}`; undefined when `err` is not one. */
export function errorText(venue: string, err: Record<string, unknown>): string | undefined {
  return typeof err['code'] === 'number' && typeof err['msg'] === 'string' ? `${venue} error ${err['code']}: ${venueText(err['msg'])}` : undefined;
}

/**
 * Where the fast parsers leave each number in the scanner's slots
 * (FrameScanner.numbers) for endFastTrade and endFastQuote to read: numbers
 * stay in typed memory instead of crossing calls as boxed doubles. `SKIP`
 * takes the ones no one reads.
 */
export const SLOT = { TS: 0, ID: 1, PRICE: 2, SIZE: 3, BID: 1, BID_SIZE: 2, ASK: 3, ASK_SIZE: 4, SKIP: 7 } as const;

/** Read `,"t":id,"p":"price","q":"size"` into their slots (the order both trade streams send); false when the frame says otherwise. */
export function readTradeFields(sc: FrameScanner): boolean {
  if (!sc.key(KEY.t)) return false;
  sc.int(SLOT.ID);
  if (!sc.key(KEY.p)) return false;
  sc.decimalString(SLOT.PRICE);
  if (!sc.key(KEY.q)) return false;
  sc.decimalString(SLOT.SIZE);
  return true;
}

/** Read a bookTicker's `,"b":…,"B":…,"a":…,"A":…` into their slots; false when the frame says otherwise. */
export function readBookSides(sc: FrameScanner): boolean {
  if (!sc.key(KEY.b)) return false;
  sc.decimalString(SLOT.BID);
  if (!sc.key(KEY.B)) return false;
  sc.decimalString(SLOT.BID_SIZE);
  if (!sc.key(KEY.a)) return false;
  sc.decimalString(SLOT.ASK);
  if (!sc.key(KEY.A)) return false;
  sc.decimalString(SLOT.ASK_SIZE);
  return true;
}

/**
 * The end of a trade read in place (spot and USDⓈ-M fast paths, whatever
 * their field order): the payload and frame close there and the fields make
 * a trade, then it is handed on; else -1, and the JSON path decides.
 * `symbol` is BinanceSymbols.at's answer (-1 not subscribed, -2 unreadable).
 */
export function endFastTrade(sc: FrameScanner, handler: FeedHandler, symbol: number, buyerIsMaker: number): number {
  const n = sc.numbers;
  const ts = n[SLOT.TS]!;
  const id = n[SLOT.ID]!;
  const price = n[SLOT.PRICE]!;
  const size = n[SLOT.SIZE]!;
  if (!sc.literal(FRAME_END) || !sc.atEnd() || symbol === -2 || !isEpochMs(ts) || !(id >= 0) || !(price > 0) || !(size > 0)) return -1;
  if (symbol < 0) return FrameKind.IGNORED;
  const f = handler.fields; // slot to slot: no number leaves typed memory
  f[TradeField.TS] = ts;
  f[TradeField.PRICE] = price;
  f[TradeField.SIZE] = size;
  f[TradeField.ID] = id;
  handler.trade(symbol, buyerIsMaker === 1 ? -1 : 1);
  return FrameKind.DATA;
}

/** The same for a bookTicker read in place; `ts` NaN where the venue sends no time (spot), else checked by the caller. */
export function endFastQuote(sc: FrameScanner, handler: FeedHandler, symbol: number): number {
  const n = sc.numbers;
  const bid = n[SLOT.BID]!;
  const bidSize = n[SLOT.BID_SIZE]!;
  const ask = n[SLOT.ASK]!;
  const askSize = n[SLOT.ASK_SIZE]!;
  if (!sc.literal(FRAME_END) || !sc.atEnd() || symbol === -2 || !(bid > 0) || !(ask > 0) || !(bidSize >= 0) || !(askSize >= 0)) return -1;
  if (symbol < 0) return FrameKind.IGNORED;
  const f = handler.fields;
  f[QuoteField.TS] = n[SLOT.TS]!;
  f[QuoteField.BID] = bid;
  f[QuoteField.BID_SIZE] = bidSize;
  f[QuoteField.ASK] = ask;
  f[QuoteField.ASK_SIZE] = askSize;
  handler.quote(symbol);
  return FrameKind.DATA;
}
