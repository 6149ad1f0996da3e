/**
 * A `/v1/stream` connection's state (the uWS user data), its slow-consumer
 * states and buffer thresholds, and the WebSocket constants the stream's
 * modules share (stream.ts wires them; this file has no behaviour of its own
 * beyond reading that state).
 *
 * A uWS socket is invalid after close (methods throw): every path checks
 * `conn.closed` before touching `conn.ws`.
 */
import type { WebSocket } from 'uWebSockets.js';
import type { WildcardPattern } from '../wire/channels.ts';
import { TOPIC_TREE_PENDING, type BudgetSlot } from './backpressure.ts';
import type { Channel } from './channels.ts';
import type { Principal } from './principal.ts';
import type { TokenBucket } from './rate-limit.ts';

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_TRY_AGAIN_LATER = 1013;
/** `WebSocket.send` result: dropped, the socket was past maxBackpressure. */
export const SEND_DROPPED = 2;
/** Largest server-to-client WebSocket frame header, bytes. */
export const WS_FRAME_HEADER = 10;
/**
 * A topic every connection holds and nothing is published to. uWS frees a
 * socket's subscriber state when it leaves its last topic and drops the
 * messages still queued for it there (measured): holding this one keeps
 * messages published before a pause or an unsubscribe on their way.
 */
export const HOLD_TOPIC = '\u0000tickwire:hold';

/** A connection's slow-consumer state. */
export const ConnState = {
  /** Every channel on its topic. */
  NORMAL: 0,
  /** Quotes and bars off their topics (conflated to the latest on catch-up); trades and rooms flowing. */
  CONFLATING: 1,
  /** Everything off its topics (policy `gap`). */
  PAUSED: 2,
} as const;
export type ConnState = (typeof ConnState)[keyof typeof ConnState];

/** Per-connection state: the uWS user data (uWS.js hands back the socket object itself, with these fields). */
export interface Conn extends BudgetSlot {
  closed: boolean;
  ws: WebSocket<Conn> | null;
  /** FlatBuffers binary frames instead of JSON text. */
  binary: boolean;
  principal: Principal;
  /** Remote address (text), as the connection caps count it. */
  address: string;
  state: ConnState;
  /** Subscribed channels → the last seq delivered or announced when the channel left its topic (read on catch-up). */
  channels: Map<Channel, number>;
  /** Wildcards subscribed: channels created later that match are joined. */
  patterns: WildcardPattern[];
  /** Subscribe and unsubscribe requests. */
  bucket: TokenBucket;
  /** Budget limit now (conflate threshold, or the policy threshold while conflating): see BufferLimits.normal. */
  limit: number;
  /** Largest message its market channels can publish (the budget's allowance for uWS's per-subscriber queue). */
  largest: number;
  /** Bars channels held off their topics until their snapshot is sent (snapshot-turns.ts). */
  pending: Set<Channel>;
  /** While a subscribe's snapshots are being sent: the requests (pings too) that came since, answered in order after them; null otherwise. */
  queued: QueuedRequest[] | null;
}

/** A request (ping included) that came while an earlier subscribe's snapshots were being sent (its token already taken). */
export interface QueuedRequest {
  op: 'subscribe' | 'unsubscribe' | 'ping';
  id: Id;
  msg: Record<string, unknown>;
}

/** The `id` a client gave its request, echoed in the reply. */
export type Id = number | string | null;

/** Quotes and bars may be conflated to their latest value; trades and rooms never. */
export function conflatable(ch: Channel): boolean {
  return ch.kind === 'quotes' || ch.kind === 'bars';
}

/** Is `ch` on its topic for `conn` in the connection's current state? */
export function attached(conn: Conn, ch: Channel): boolean {
  if (conn.pending.size > 0 && conn.pending.has(ch)) return false;
  return conn.state === ConnState.NORMAL || (conn.state === ConnState.CONFLATING && !conflatable(ch));
}

/** The uWS topic `conn` receives `ch` on (one per format). */
export function topicOf(conn: Conn, ch: Channel): string {
  return conn.binary ? ch.fbsTopic : ch.name;
}

/** A connection's buffer thresholds, fixed fractions of `maxBackpressure` (slow-consumer.ts explains them). */
export class BufferLimits {
  /** Budget limits: conflate quotes and bars past this… */
  readonly conflate: number;
  /** …apply the slow-consumer policy past this… */
  readonly live: number;
  /** …catch up once the buffer is below this. */
  readonly resumeBelow: number;
  /** The half above `live` kept for direct replies (snapshots, replays, gap notices). */
  readonly replies: number;

  constructor(maxBackpressure: number) {
    this.live = Math.floor(maxBackpressure / 2);
    this.conflate = Math.floor((maxBackpressure * 3) / 8);
    this.resumeBelow = Math.floor(maxBackpressure / 8);
    this.replies = maxBackpressure - this.live;
  }

  /**
   * The budget limit of a connection in NORMAL state: conflating starts when
   * its *buffered* bytes pass 3/8 of maxBackpressure, so the allowance for
   * uWS's per-subscriber queue (TOPIC_TREE_PENDING × largest, counted by the budget) is added
   * on top. Counting it here instead would make a small limit with large
   * messages congested at an empty buffer, flapping on every catch-up. The
   * policy threshold (CONFLATING) counts it: that one protects the hard limit.
   */
  normal(conn: Conn): number {
    return this.conflate + TOPIC_TREE_PENDING * conn.largest;
  }
}
