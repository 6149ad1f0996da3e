/**
 * Reading the few fields a load subscriber needs (message type, `seq`,
 * `tradeId`) straight from a `/v1/stream` JSON message's bytes, without
 * JSON.parse: a subscriber thread takes tens of thousands of messages a
 * second and must not become the bottleneck it would blame on the gateway.
 * The soak's subscribers scan whole `ws` Buffers; the bench's scan the byte
 * range `[start, end)` of a received chunk in place (ws-client.ts).
 *
 * Relies on the server's field order (src/wire/json.ts): `{"type":"<t>",`
 * first, then `"channel"`, then `"seq"`; trades carry `"tradeId"` after the
 * symbol (the bench's hand-written baseline gateway writes the same order).
 * Anything else is reported as MessageType.OTHER and the caller falls back
 * to JSON.parse. The floor relay (bench/gateway-floor.ts) forwards the
 * exchange's own frames: `readExchangeTradeId` reads those.
 */

/** What a frame is, by the first letters of its `type`. */
export const MessageType = {
  TRADE: 1,
  BAR: 2,
  SNAPSHOT: 3,
  SUBSCRIBED: 4,
  GAP: 5,
  ERROR: 6,
  /** Anything else (quote, pong, unsubscribed, another shape). */
  OTHER: 0,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const TYPE_PREFIX = Buffer.from('{"type":"');
const T = TYPE_PREFIX.length;
const c = (s: string): number => s.charCodeAt(0);

/** The message type of the message at `buf[start, end)` (default: all of `buf`). */
export function messageType(buf: Uint8Array, start = 0, end = buf.length): MessageType {
  const n = end - start;
  if (n < T + 3) return MessageType.OTHER;
  for (let i = 0; i < T; i++) if (buf[start + i] !== TYPE_PREFIX[i]) return MessageType.OTHER;
  const a = buf[start + T];
  const b = buf[start + T + 1];
  if (a === c('t') && b === c('r') && n > T + 5 && buf[start + T + 5] === c('"')) return MessageType.TRADE; // "trade"
  if (a === c('b') && b === c('a') && n > T + 3 && buf[start + T + 3] === c('"')) return MessageType.BAR; // "bar"
  if (a === c('s') && b === c('n')) return MessageType.SNAPSHOT;
  if (a === c('s') && b === c('u')) return MessageType.SUBSCRIBED;
  if (a === c('g') && b === c('a')) return MessageType.GAP;
  if (a === c('e') && b === c('r')) return MessageType.ERROR;
  return MessageType.OTHER;
}

/**
 * The non-negative integer written right after one key of a message (the
 * key occurs once per message), for a stream of messages of one shape:
 * where the key was found last (its offset from the message's start) is
 * checked first, and only when it is not there (a seq or id grew a digit,
 * another message type) is the message searched. Measured on 2,000
 * recorded-shape messages (message type + trade id, node 20, this machine
 * under load average ~9): a `Buffer.indexOf` per message took 440–580 ns on
 * tickwire's trade (211 bytes) and 300–390 ns on the exchange's frame (165
 * bytes), more than the rest of a subscriber's work per message.
 */
class IntAfterKey {
  #at = -1;
  readonly #key: Buffer;

  constructor(key: string) {
    this.#key = Buffer.from(key);
  }

  /** The integer after the key in `buf[from, end)` (from: where the search may start); NaN when the key or digits are absent. */
  read(buf: Uint8Array, start: number, from: number, end: number): number {
    const key = this.#key;
    let at = start + this.#at;
    if (this.#at < 0 || at < from || !matchesAt(buf, at, key, end)) {
      at = Buffer.prototype.indexOf.call(buf, key, from);
      if (at < 0 || at + key.length > end) return NaN;
      this.#at = at - start;
    }
    let n = 0;
    let digits = 0;
    for (let i = at + key.length; i < end; i++) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
      digits++;
    }
    return digits === 0 ? NaN : n;
  }
}

/** True when `key` is at `buf[at]` and ends before `end`. */
function matchesAt(buf: Uint8Array, at: number, key: Buffer, end: number): boolean {
  if (at + key.length > end) return false;
  for (let i = 0; i < key.length; i++) if (buf[at + i] !== key[i]) return false;
  return true;
}

const SEQ = new IntAfterKey('"seq":');
const TRADE_ID = new IntAfterKey('"tradeId":');
const EXCHANGE_TRADE_ID = new IntAfterKey('"t":');

/** The `seq` of the trade, bar or snapshot message at `buf[start, end)`; NaN when absent. */
export function readSeq(buf: Buffer, start = 0, end = buf.length): number {
  return SEQ.read(buf, start, start + T, end);
}

/** The `tradeId` of the trade message at `buf[start, end)`; NaN when absent or null. */
export function readTradeId(buf: Buffer, start = 0, end = buf.length): number {
  return TRADE_ID.read(buf, start, start + T, end);
}

const EXCHANGE_FRAME_PREFIX = Buffer.from('{"stream":"');

/**
 * The trade id of a Binance combined-stream @trade frame at `buf[start, end)`
 * (`{"stream":…,"data":{"e":"trade",…,"t":<id>,…}}`, as the floor relay
 * forwards it); NaN when it is not one.
 */
export function readExchangeTradeId(buf: Buffer, start = 0, end = buf.length): number {
  const n = EXCHANGE_FRAME_PREFIX.length;
  if (end - start < n) return NaN;
  for (let i = 0; i < n; i++) if (buf[start + i] !== EXCHANGE_FRAME_PREFIX[i]) return NaN;
  return EXCHANGE_TRADE_ID.read(buf, start, start + n, end);
}
