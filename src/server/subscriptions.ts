/**
 * Subscription bookkeeping of `/v1/stream`: which channels each connection
 * holds and whether each is on its uWS topic, the per-channel subscriber
 * counts the publisher reads (`subs*`: subscribed, paused ones included;
 * `live*`: attached to the topic now), and the resume history that follows
 * them.
 *
 * History is recorded, per format, while a channel has subscribers in that
 * format and for `resumeLingerS` after the last one left (so a client that
 * reconnects finds it); `sweep` ends lingers that ran out. `Channel.encode`
 * says which formats the publisher encodes: those history records.
 *
 * A channel given to `keep` records JSON history from its start and never
 * stops (a cluster edge: a client that lost another edge resumes here).
 *
 * Nothing here sends: the caller acks, replays and tracks the budget.
 */
import type { StreamConfig } from '../config/types.ts';
import { ChannelHistory, WireFormat } from './history.ts';
import { ENCODE_FBS, ENCODE_JSON, type Channel } from './channels.ts';
import { attached, ConnState, topicOf, type BufferLimits, type Conn } from './stream-conn.ts';

/** Joins and leaves connections to channels and keeps the counts and histories that follow. */
export class Subscriptions {
  readonly #cfg: StreamConfig;
  readonly #limits: BufferLimits;
  /** Channels recording history (the sweep ends a linger; the metrics sum their bytes). */
  readonly #recording = new Set<Channel>();
  /** Channels that record whether subscribed or not (`keep`). */
  readonly #kept = new Set<Channel>();
  #count = 0;

  constructor(cfg: StreamConfig, limits: BufferLimits) {
    this.#cfg = cfg;
    this.#limits = limits;
  }

  /** Channel subscriptions over all connections. */
  get count(): number {
    return this.#count;
  }

  /** Bytes of messages held in resume histories. */
  get historyBytes(): number {
    let n = 0;
    for (const ch of this.#recording) n += ch.history?.bytes ?? 0;
    return n;
  }

  /** Subscribe `conn` to `ch` (delivered from the next message on). */
  join(conn: Conn, ch: Channel): void {
    conn.channels.set(ch, ch.seq);
    this.#count++;
    // Rooms are rare and sized per message: they do not widen the allowance.
    if (ch.format !== undefined && ch.maxBytes > conn.largest) {
      conn.largest = ch.maxBytes;
      if (conn.state === ConnState.NORMAL) conn.limit = this.#limits.normal(conn);
    }
    // History records each format its subscribers use, from the next message on.
    if (ch.history === null) {
      ch.history = new ChannelHistory(this.#cfg.resumeHistory, ch.fbsBytes);
      this.#recording.add(ch);
    }
    ch.history.record(conn.binary ? WireFormat.FBS : WireFormat.JSON, ch.seq + 1);
    ch.encode = (ch.history.records(WireFormat.JSON) ? ENCODE_JSON : 0) | (ch.history.records(WireFormat.FBS) ? ENCODE_FBS : 0);
    ch.idleSince = NaN;
    this.#subsDelta(conn, ch, 1, NaN);
    if (attached(conn, ch)) this.attach(conn, ch);
  }

  /** Record `ch`'s history (JSON) from its next message on, subscribed or not, for as long as the server runs. */
  keep(ch: Channel): void {
    ch.history ??= new ChannelHistory(this.#cfg.resumeHistory, ch.fbsBytes);
    ch.history.record(WireFormat.JSON, ch.seq + 1);
    ch.encode |= ENCODE_JSON;
    this.#recording.add(ch);
    this.#kept.add(ch);
  }

  /** Unsubscribe `conn` from `ch` (no-op when it does not have it). */
  leave(conn: Conn, ch: Channel, now: number): void {
    if (!conn.channels.has(ch)) return;
    if (attached(conn, ch)) {
      conn.ws!.unsubscribe(topicOf(conn, ch));
      this.#liveDelta(conn, ch, -1);
    }
    conn.channels.delete(ch);
    this.#count--;
    this.#subsDelta(conn, ch, -1, now);
  }

  /** A closed connection lets go of every channel: only the counts (uWS drops a closed socket's topics itself). */
  leaveAll(conn: Conn, now: number): void {
    for (const ch of conn.channels.keys()) {
      if (attached(conn, ch)) this.#liveDelta(conn, ch, -1);
      this.#subsDelta(conn, ch, -1, now);
    }
    this.#count -= conn.channels.size;
    conn.channels.clear();
  }

  /** Put `ch` (held) on its topic for `conn`. */
  attach(conn: Conn, ch: Channel): void {
    conn.ws!.subscribe(topicOf(conn, ch));
    this.#liveDelta(conn, ch, 1);
  }

  /** Take `ch` off its topic for `conn`, remembering its seq as delivered (everything published so far is on its way). */
  detach(conn: Conn, ch: Channel): void {
    conn.ws!.unsubscribe(topicOf(conn, ch));
    this.#liveDelta(conn, ch, -1);
    conn.channels.set(ch, ch.seq);
  }

  /** End history lingers that ran out by `now` (performance.now()). */
  sweep(now: number): void {
    const linger = this.#cfg.resumeLingerS * 1000;
    for (const ch of this.#recording) {
      if (ch.subsJson + ch.subsFbs === 0 && now - ch.idleSince >= linger && !this.#kept.has(ch)) this.#stopRecording(ch);
    }
  }

  #liveDelta(conn: Conn, ch: Channel, d: number): void {
    if (conn.binary) ch.liveFbs += d;
    else ch.liveJson += d;
  }

  /** Subscriber counts; the last one leaving starts the history linger (or ends the history at once when it is 0). */
  #subsDelta(conn: Conn, ch: Channel, d: number, now: number): void {
    if (conn.binary) ch.subsFbs += d;
    else ch.subsJson += d;
    if (d > 0 || ch.subsJson + ch.subsFbs > 0) return;
    ch.idleSince = now;
    // Channels recording on their own (strategy channels) are not in #recording and keep their history; nor do kept ones (a cluster edge's).
    if (this.#cfg.resumeLingerS === 0 && this.#recording.has(ch) && !this.#kept.has(ch)) this.#stopRecording(ch);
  }

  #stopRecording(ch: Channel): void {
    ch.history = null;
    ch.encode = 0;
    ch.idleSince = NaN;
    this.#recording.delete(ch);
  }
}
