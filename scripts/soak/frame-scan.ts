/**
 * Reading the few fields the soak's subscribers need (message type, `seq`,
 * `tradeId`) straight from a `/v1/stream` JSON frame's bytes, without
 * JSON.parse: a subscriber thread takes tens of thousands of messages a
 * second and must not become the bottleneck it would blame on the gateway.
 *
 * Relies on the server's field order (src/server/json.ts): `{"type":"<t>",`
 * first, then `"channel"`, then `"seq"`; trades carry `"tradeId"` after the
 * symbol. Anything else is reported as MessageType.OTHER and the caller falls
 * back to JSON.parse.
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
const SEQ_KEY = Buffer.from('"seq":');
const TRADE_ID_KEY = Buffer.from('"tradeId":');
const T = TYPE_PREFIX.length;
const c = (s: string): number => s.charCodeAt(0);

/** The message type of a frame. */
export function messageType(buf: Uint8Array): MessageType {
  if (buf.length < T + 3) return MessageType.OTHER;
  for (let i = 0; i < T; i++) if (buf[i] !== TYPE_PREFIX[i]) return MessageType.OTHER;
  const a = buf[T];
  const b = buf[T + 1];
  if (a === c('t') && b === c('r') && buf[T + 5] === c('"')) return MessageType.TRADE; // "trade"
  if (a === c('b') && b === c('a') && buf[T + 3] === c('"')) return MessageType.BAR; // "bar"
  if (a === c('s') && b === c('n')) return MessageType.SNAPSHOT;
  if (a === c('s') && b === c('u')) return MessageType.SUBSCRIBED;
  if (a === c('g') && b === c('a')) return MessageType.GAP;
  if (a === c('e') && b === c('r')) return MessageType.ERROR;
  return MessageType.OTHER;
}

/** The non-negative integer written right after `key` (first occurrence at or after `from`); NaN when absent. */
function intAfter(buf: Buffer, key: Buffer, from: number): number {
  const at = buf.indexOf(key, from);
  if (at < 0) return NaN;
  let i = at + key.length;
  let n = 0;
  let digits = 0;
  for (; i < buf.length; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    digits++;
  }
  return digits === 0 ? NaN : n;
}

/** The `seq` of a trade, bar or snapshot frame; NaN when absent. */
export function readSeq(buf: Buffer): number {
  return intAfter(buf, SEQ_KEY, T);
}

/** The `tradeId` of a trade frame; NaN when absent or null. */
export function readTradeId(buf: Buffer): number {
  return intAfter(buf, TRADE_ID_KEY, T);
}
