/**
 * Messages `/v1/stream` sends to one connection directly (not through a
 * topic), in the connection's format: acks, errors, pongs, gap notices, bars
 * snapshots and the `system` room's current states.
 *
 * Direct sends use the half of `maxBackpressure` above the live limit (see
 * slow-consumer.ts); a send uWS drops anyway (past the whole limit) closes
 * the connection with 1013: it would miss protocol messages.
 */
import type { Tickwire } from '../api/types.ts';
import type { FbsEncoder } from '../wire/fbs.ts';
import {
  BarTextVisitor,
  barJson,
  errorMessage,
  gapMessage,
  pongMessage,
  snapshotHead,
  subscribedMessage,
  unsubscribedMessage,
} from '../wire/json.ts';
import type { Channel } from './channels.ts';
import type { ServerMetrics } from './metrics.ts';
import { systemMessage, type SystemStates } from './rooms.ts';
import { CLOSE_TRY_AGAIN_LATER, SEND_DROPPED, type Conn, type Id } from './stream-conn.ts';

/** Why a `gap` notice is sent: the client was too slow, or history no longer holds what it asked for. */
export type GapReason = 'slow_consumer' | 'history';

/** Builds and sends the stream's direct replies to one connection, in its format. */
export class StreamReplies {
  readonly #tw: Tickwire;
  readonly #metrics: ServerMetrics;
  /** Shared with the publisher: every result is sent (or copied) before its next call. */
  readonly #fbs: FbsEncoder;
  readonly #system: SystemStates;
  readonly #epoch: string;
  readonly #snapshotVisitor = new BarTextVisitor(barJson);

  constructor(tw: Tickwire, metrics: ServerMetrics, fbs: FbsEncoder, system: SystemStates, epoch: string) {
    this.#tw = tw;
    this.#metrics = metrics;
    this.#fbs = fbs;
    this.#system = system;
    this.#epoch = epoch;
  }

  /** Send to one connection; a send uWS drops (past the limit) closes it: it would miss protocol messages. */
  send(conn: Conn, data: string | Uint8Array, binary: boolean): void {
    if (conn.closed) return;
    const ws = conn.ws!;
    if (ws.send(data, binary) === SEND_DROPPED) {
      this.#metrics.slowConsumer('disconnected');
      ws.end(CLOSE_TRY_AGAIN_LATER, 'slow consumer');
    }
  }

  /** `{"type":"error","id","code","message"}`: a rejected request (or a wildcard's channel past the limit). */
  error(conn: Conn, id: Id, code: string, message: string): void {
    this.send(conn, conn.binary ? this.#fbs.error(id, code, message) : errorMessage(id, code, message), conn.binary);
  }

  /** The ack of a subscribe (or a wildcard's new channel, id null), with this server's epoch. */
  subscribed(conn: Conn, id: Id, names: readonly string[]): void {
    this.send(conn, conn.binary ? this.#fbs.subscribed(id, names, this.#epoch) : subscribedMessage(id, names, this.#epoch), conn.binary);
  }

  /** The ack of an unsubscribe: the channels it removed. */
  unsubscribed(conn: Conn, id: Id, names: readonly string[]): void {
    this.send(conn, conn.binary ? this.#fbs.unsubscribed(id, names) : unsubscribedMessage(id, names), conn.binary);
  }

  /** The answer to a `ping`. */
  pong(conn: Conn, id: Id): void {
    this.send(conn, conn.binary ? this.#fbs.pong(id) : pongMessage(id), conn.binary);
  }

  /** A `gap` notice: seqs `fromSeq..toSeq` of `ch` will not be delivered; counted by reason. */
  gap(conn: Conn, ch: Channel, fromSeq: number, toSeq: number, reason: GapReason): void {
    this.#metrics.gap(reason);
    this.send(conn, conn.binary ? this.#fbs.gap(ch.name, fromSeq, toSeq, reason) : gapMessage(ch.name, fromSeq, toSeq, reason), conn.binary);
  }

  /** A bars channel's snapshot in the connection's format: its last `n` bars (the forming one last) at the channel's current seq. Built, not sent. */
  snapshot(conn: Conn, ch: Channel, n: number): string | Uint8Array {
    if (conn.binary) {
      // Copied: the encoder's buffer is reused before this is sent.
      return this.#fbs
        .snapshot(ch.name, ch.seq, (v) => this.#tw.visitBars(ch.exchange, ch.symbol, ch.timeframe!, v, { limit: n, published: true }))
        .slice();
    }
    const v = this.#snapshotVisitor;
    this.#tw.visitBars(ch.exchange, ch.symbol, ch.timeframe!, v, { limit: n, published: true });
    const text = snapshotHead(ch.name, ch.seq) + v.text + ']}';
    v.begin(); // let the text go
    return text;
  }

  /** Every exchange's current state on `system`, at the channel's current `seq` (the state as of that seq, like a snapshot). */
  systemStates(conn: Conn, seq: number): void {
    for (const s of this.#system.current()) {
      this.send(conn, conn.binary ? this.#fbs.system(seq, s) : systemMessage(seq, s), conn.binary);
    }
  }
}
