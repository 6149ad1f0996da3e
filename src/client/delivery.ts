/**
 * Delivery to the subscriptions' handlers, per concrete channel: live
 * messages once and in seq order (duplicates dropped), holes reported as
 * gaps, bars repaired by a resync snapshot that delivers only what is new or
 * changed, `system` states after a subscribe to the subscriptions that asked.
 * The seq rules themselves are ChannelState's (channels.ts); the client
 * module comment states the whole contract.
 *
 * Live path: `live()` runs once per stream message; it allocates nothing of
 * its own (the handlers get the decoded message as it is).
 */
import { ErrorCode, TickwireError } from '../errors.ts';
import type {
  AlertMessage, BarJson, BarMessage, FillMessage, GapMessage, PredictionMessage, QuoteMessage, SignalMessage, SnapshotMessage, SystemMessage, TradeMessage,
} from '../wire/messages.ts';
import type { ChannelRegistry, ChannelState } from './channels.ts';
import type { Report } from './connection.ts';
import type { Requests, SnapshotWindow } from './requests.ts';
import type { Subscription } from './subscription.ts';
import type { ClientGap, ClientSnapshot, ClientStats } from './types.ts';

/** Hands the stream's messages to the handlers of the subscriptions holding their channel. */
export class Delivery {
  readonly #registry: ChannelRegistry;
  readonly #requests: Requests;
  readonly #stats: ClientStats;
  readonly #report: Report;

  constructor(registry: ChannelRegistry, requests: Requests, stats: ClientStats, report: Report) {
    this.#registry = registry;
    this.#requests = requests;
    this.#stats = stats;
    this.#report = report;
  }

  /** A trade, quote, bar, system, alert or strategy message: drop a duplicate, report a hole, else deliver. */
  live(m: TradeMessage | QuoteMessage | BarMessage | SystemMessage | AlertMessage | PredictionMessage | SignalMessage | FillMessage): void {
    const st = this.#registry.byName.get(m.channel) ?? this.#registry.adopt(m.channel);
    if (st === undefined) return; // after an unsubscribe, before the server saw it
    if (typeof m.seq !== 'number') {
      this.#stats.malformed++;
      return;
    }
    if (st.states !== null && m.type === 'system') {
      const run = st.states;
      if (run.seq === null || run.seq === m.seq) {
        // The current states after a subscribe: all at one seq, to the subscriptions that asked.
        run.seq = m.seq;
        if (st.lastSeq === null || m.seq > st.lastSeq) st.lastSeq = m.seq;
        for (const sub of run.subs) if (sub.live && st.subs.has(sub)) this.call(sub.handlers.system, m, st.name);
        return;
      }
      st.states = null;
    }
    const r = st.advance(m.seq);
    if (r === 'dup') {
      this.#stats.duplicatesDropped++;
      return;
    }
    if (r !== 'next') {
      if (st.kind === 'bars') this.#requests.wantResync(st, 'unannounced');
      else this.gap(st, { type: 'gap', channel: st.name, fromSeq: m.seq - r, toSeq: m.seq - 1, reason: 'unannounced' });
    }
    if (st.bars !== undefined && !st.bars.accept(m as BarMessage)) {
      this.#stats.unchangedBarsDropped++;
      return;
    }
    for (const sub of st.subs) {
      const h = sub.handlers;
      switch (m.type) {
        case 'trade':
          this.call(h.trade, m, st.name);
          break;
        case 'quote':
          this.call(h.quote, m, st.name);
          break;
        case 'bar':
          this.call(h.bar, m, st.name);
          break;
        case 'system':
          this.call(h.system, m, st.name);
          break;
        case 'alert':
          this.call(h.alert, m, st.name);
          break;
        case 'prediction':
          this.call(h.prediction, m, st.name);
          break;
        case 'signal':
          this.call(h.signal, m, st.name);
          break;
        case 'fill':
          this.call(h.fill, m, st.name);
          break;
      }
    }
  }

  /**
   * A bars snapshot: inside `window` (the one a new subscription asked for) all of it to that
   * subscription; else a resync, whose new or changed bars go to every subscription of the channel.
   */
  snapshot(m: SnapshotMessage, window: SnapshotWindow | null): void {
    const st = this.#registry.byName.get(m.channel);
    if (st === undefined || st.bars === undefined || !Array.isArray(m.bars)) return;
    const req = window !== null && window.channels.delete(m.channel) ? window.request : undefined;
    if (st.lastSeq === null || m.seq > st.lastSeq) st.lastSeq = m.seq;
    if (req?.kind === 'subscribe') {
      // The first snapshot of a new subscription: all of it, to that subscription only.
      for (const b of m.bars) st.bars.accept(b);
      for (const sub of req.subs) if (sub.live && st.subs.has(sub)) this.#deliverSnapshot(sub, st, m);
      return;
    }
    // A resync: only what is new or changed, to every subscription of the channel.
    const reason = st.resync ?? 'unannounced';
    const newest = st.bars.newestOpenTime;
    st.resync = null;
    st.resyncSent = false;
    const fresh = m.bars.filter((b) => st.bars!.accept(b));
    const first = m.bars[0];
    if (newest !== undefined && first !== undefined && st.tfMs > 0 && first.openTime > newest + st.tfMs) {
      this.gap(st, {
        type: 'gap', channel: st.name, fromSeq: 0, toSeq: null, reason, fromTime: newest + st.tfMs, toTime: first.openTime - st.tfMs,
      });
    }
    if (fresh.length === 0) return;
    const resync: ClientSnapshot = { type: 'snapshot', channel: m.channel, seq: m.seq, bars: fresh, resync: true };
    for (const sub of st.subs) this.#deliverSnapshot(sub, st, resync);
  }

  /** To the `snapshot` handler; without one, bar by bar to `bar` (as bar messages at the snapshot's seq). */
  #deliverSnapshot(sub: Subscription, st: ChannelState, m: ClientSnapshot): void {
    const h = sub.handlers;
    if (h.snapshot !== undefined) {
      this.call(h.snapshot, m, st.name);
      return;
    }
    if (h.bar === undefined) return;
    const { exchange, symbol, timeframe } = st.parts;
    for (const b of m.bars) this.call(h.bar, barMessage(st.name, m.seq, exchange, symbol, timeframe, b), st.name);
  }

  /** The server's gap notice: only the part not already had; bars channels resync instead. */
  serverGap(m: GapMessage): void {
    const st = this.#registry.byName.get(m.channel);
    if (st === undefined || typeof m.toSeq !== 'number') return;
    if (st.lastSeq !== null && m.toSeq <= st.lastSeq) return; // nothing we have not had
    const fromSeq = st.lastSeq === null ? m.fromSeq : Math.max(m.fromSeq, st.lastSeq + 1);
    st.lastSeq = m.toSeq;
    if (st.kind === 'bars') {
      this.#requests.wantResync(st, m.reason);
      return;
    }
    this.gap(st, fromSeq === m.fromSeq ? m : { ...m, fromSeq });
  }

  /** Report a gap to every subscription of the channel (and count it). */
  gap(st: ChannelState, gap: ClientGap): void {
    this.#stats.gaps++;
    for (const sub of st.subs) this.call(sub.handlers.gap, gap, st.name);
  }

  /** Call a user handler; one that throws is reported, never breaks delivery. */
  call<T>(fn: ((m: T) => void) | undefined, m: T, channel: string): void {
    if (fn === undefined) return;
    try {
      fn(m);
    } catch (err) {
      this.#report(new TickwireError(ErrorCode.INTERNAL_ERROR, `a handler for ${channel} threw: ${(err as Error)?.message ?? String(err)}`, { cause: err }), 'a handler');
    }
  }
}

/** A bar message built from a snapshot's bar, fields in the protocol's order. */
function barMessage(channel: string, seq: number, exchange: string, symbol: string, timeframe: string, b: BarJson): BarMessage {
  return { type: 'bar', channel, seq, exchange, symbol, timeframe, ...b };
}
