/**
 * Slow consumers of `/v1/stream` (backpressure.ts measures, this decides).
 *
 * A connection whose buffer would pass 3/8 of `maxBackpressure` is
 * *conflating*: its quotes and bars channels leave their topics (trades and
 * rooms keep flowing). Past 1/2, the policy: `gap` pauses everything,
 * `disconnect` closes with 1013 "slow consumer". When its buffer has drained
 * below 1/8 (a `drain`, or the once-a-second sweep) it catches up, per
 * channel that advanced: trades get one `gap` (skip ahead, never conflated);
 * quotes get a `gap` for the superseded ones and the latest quote; bars get
 * their closed bars and the latest bar from history with `gap`s for the
 * superseded forming updates; rooms get everything history holds. The other
 * half of the limit is for direct replies to a paused client (stream-replies.ts).
 */
import type { StreamConfig } from '../config/types.ts';
import { SendBudget } from './backpressure.ts';
import type { Channel } from './channels.ts';
import type { ServerMetrics } from './metrics.ts';
import { replay } from './replay.ts';
import { attached, CLOSE_TRY_AGAIN_LATER, conflatable, ConnState, type BufferLimits, type Conn } from './stream-conn.ts';
import type { StreamReplies } from './stream-replies.ts';
import type { Subscriptions } from './subscriptions.ts';

/** Conflates, pauses or closes connections that fall behind, and catches them up once they drained. */
export class SlowConsumers {
  /** Live-traffic accounting: reports a connection congested before a publish could push it past its limit. */
  readonly budget: SendBudget<Conn>;
  readonly #cfg: StreamConfig;
  readonly #metrics: ServerMetrics;
  readonly #limits: BufferLimits;
  readonly #subs: Subscriptions;
  readonly #replies: StreamReplies;
  /** Connections conflating or paused (the sweep resumes one whose drain never came). */
  readonly #behind = new Set<Conn>();

  constructor(cfg: StreamConfig, metrics: ServerMetrics, limits: BufferLimits, subs: Subscriptions, replies: StreamReplies) {
    this.#cfg = cfg;
    this.#metrics = metrics;
    this.#limits = limits;
    this.#subs = subs;
    this.#replies = replies;
    this.budget = new SendBudget<Conn>(
      limits.conflate,
      (c) => c.ws!.getBufferedAmount(),
      (c) => this.#congested(c),
    );
  }

  /** A connection closed: stop measuring it. */
  forget(conn: Conn): void {
    this.budget.remove(conn);
    this.#behind.delete(conn);
  }

  /** uWS `drain`: a normal connection is measured again; a conflating or paused one catches up once below the resume threshold. */
  drain(conn: Conn): void {
    if (conn.closed) return;
    if (conn.state === ConnState.NORMAL) {
      if (conn.channels.size > 0) this.budget.track(conn);
      return;
    }
    if (conn.ws!.getBufferedAmount() <= this.#limits.resumeBelow) this.#catchUp(conn);
  }

  /** Once a second: catch up connections whose drain never came. */
  sweep(): void {
    // A copy: a catch-up can put the connection straight back into the set.
    for (const conn of [...this.#behind]) {
      if (!conn.closed && conn.state !== ConnState.NORMAL && conn.ws!.getBufferedAmount() <= this.#limits.resumeBelow) this.#catchUp(conn);
    }
  }

  /** The budget found `conn` congested: conflate its quotes and bars; if it already was, apply the slow-consumer policy. */
  #congested(conn: Conn): void {
    if (conn.closed) return;
    if (conn.state === ConnState.NORMAL) {
      for (const ch of conn.channels.keys()) if (conflatable(ch) && attached(conn, ch)) this.#subs.detach(conn, ch);
      conn.state = ConnState.CONFLATING;
      this.#behind.add(conn);
      this.#metrics.slowConsumer('conflating');
      conn.limit = this.#limits.live;
      this.budget.track(conn); // at the higher limit; may come straight back here
      return;
    }
    if (this.#cfg.slowConsumer === 'disconnect') {
      this.#metrics.slowConsumer('disconnected');
      conn.ws!.end(CLOSE_TRY_AGAIN_LATER, 'slow consumer');
      return;
    }
    for (const ch of conn.channels.keys()) if (!conflatable(ch) && attached(conn, ch)) this.#subs.detach(conn, ch);
    conn.state = ConnState.PAUSED;
    this.#metrics.slowConsumer('paused');
  }

  /** A conflating or paused connection drained: catch each detached channel up, then put it back on its topic. */
  #catchUp(conn: Conn): void {
    const ws = conn.ws!;
    const detached: Channel[] = [];
    // Channels pending a subscribe's answer stay off their topics: that answer catches them up.
    for (const ch of conn.channels.keys()) if (!attached(conn, ch) && !conn.pending.has(ch)) detached.push(ch);
    ws.cork(() => {
      // Catch-ups first, still detached (a close here leaves the counts consistent), then back on the topics.
      let room = this.#limits.replies - ws.getBufferedAmount();
      for (const ch of detached) {
        const last = conn.channels.get(ch)!;
        if (ch.kind === 'trades') {
          if (ch.seq > last) this.#replies.gap(conn, ch, last + 1, ch.seq, 'slow_consumer'); // skip ahead: trades are never conflated
        } else {
          room -= replay(this.#replies, conn, ch, last, false, room, 'slow_consumer');
        }
        if (conn.closed) return;
      }
      conn.state = ConnState.NORMAL;
      conn.limit = this.#limits.normal(conn);
      this.#behind.delete(conn);
      for (const ch of detached) this.#subs.attach(conn, ch);
    });
    if (!conn.closed && conn.state === ConnState.NORMAL && conn.channels.size > 0) this.budget.track(conn);
  }
}
