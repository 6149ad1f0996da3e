/**
 * The client's subscribe and unsubscribe requests on the current connection:
 * ids, what each was for (so a reply or a refusal finds it), splitting into
 * messages of at most MAX_CHANNELS_PER_MESSAGE names and MAX_WILDCARDS_PER_MESSAGE
 * wildcards (`messageChunks`), the batched bars and
 * `system` resyncs, and re-sending a RATE_LIMITED request after a growing
 * pause. A request made while no socket is open is dropped: the next open
 * re-subscribes everything (`resubscribe()`).
 */
import { MAX_CHANNELS_PER_MESSAGE, MAX_SNAPSHOT, messageChunks } from '../wire/protocol.ts';
import type { ChannelRegistry, ChannelState, ResyncReason } from './channels.ts';
import type { Connection } from './connection.ts';
import type { Subscription } from './subscription.ts';
import type { ClientStats } from './types.ts';

/** One subscribe/unsubscribe message in flight, kept to re-send or split when refused. */
export interface Request {
  kind: 'subscribe' | 'resume' | 'resync' | 'unsubscribe';
  /** Subscriptions the reply's channels belong to (none for resync and unsubscribe). */
  subs: Subscription[];
  channels: string[];
  since: Record<string, number> | undefined;
  /** Left out after the server refused it (a new epoch whose seqs are behind ours). */
  sinceDropped: boolean;
  snapshot: number;
  /** RATE_LIMITED retries so far. */
  retries: number;
}

/** The snapshots following a `subscribed` reply belong to its request: the server sends them before anything else. */
export interface SnapshotWindow {
  request: Request;
  channels: Set<string>;
}

/** How far back a resync snapshot reaches beyond the newest bar delivered (late amendments of recent bars). */
const RESYNC_MARGIN_BARS = 3;
/** First pause before re-sending a RATE_LIMITED request, ms (doubles per retry, up to the reconnect maxMs). */
const RATE_LIMIT_PAUSE_MS = 500;

/** The requests in flight on the current connection, and the ways of making them. */
export class Requests {
  readonly #conn: Connection;
  readonly #registry: ChannelRegistry;
  readonly #stats: ClientStats;
  readonly #epoch: () => string | null;
  /** Longest pause before a RATE_LIMITED retry, ms (the reconnect maxMs). */
  readonly #maxPauseMs: number;
  /** By id. */
  readonly #inFlight = new Map<number, Request>();
  #nextId = 1;
  #resyncTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #retryTimers = new Set<ReturnType<typeof setTimeout>>();

  /** `epoch`: the server epoch the seqs in a `since` belong to. */
  constructor(conn: Connection, registry: ChannelRegistry, stats: ClientStats, epoch: () => string | null, maxPauseMs: number) {
    this.#conn = conn;
    this.#registry = registry;
    this.#stats = stats;
    this.#epoch = epoch;
    this.#maxPauseMs = maxPauseMs;
  }

  /** The request a reply with `id` answers, no longer in flight; undefined when unknown (or not a number). */
  take(id: unknown): Request | undefined {
    if (typeof id !== 'number') return undefined;
    const req = this.#inFlight.get(id);
    if (req !== undefined) this.#inFlight.delete(id);
    return req;
  }

  /** The connection is gone: nothing in flight will be answered, and no resync went out on the next one. */
  dropAll(): void {
    clearTimeout(this.#resyncTimer);
    this.#resyncTimer = undefined;
    for (const t of this.#retryTimers) clearTimeout(t);
    this.#retryTimers.clear();
    this.#inFlight.clear();
    for (const st of this.#registry.byName.values()) st.resyncSent = false;
  }

  /** Send a request on the open connection; when there is none it is dropped (the next open re-subscribes everything). */
  send(req: Request): void {
    if (!this.#conn.writable) return;
    const id = this.#nextId++;
    this.#inFlight.set(id, req);
    const msg: Record<string, unknown> = { op: req.kind === 'unsubscribe' ? 'unsubscribe' : 'subscribe', id, channels: req.channels };
    if (req.snapshot > 0) msg['snapshot'] = req.snapshot;
    if (req.since !== undefined && !req.sinceDropped) {
      msg['since'] = req.since;
      // The seqs are of this epoch: a restarted server counts them as 0 and replays all it holds.
      const epoch = this.#epoch();
      if (epoch !== null) msg['epoch'] = epoch;
    }
    this.#conn.send(JSON.stringify(msg));
  }

  /** A new subscription's first subscribe: its names as given, with its snapshot (in several messages past MAX_WILDCARDS_PER_MESSAGE wildcards). */
  subscribe(sub: Subscription): void {
    for (const channels of messageChunks(sub.given, (name) => name)) {
      this.send({ kind: 'subscribe', subs: [sub], channels, since: undefined, sinceDropped: false, snapshot: sub.snapshot, retries: 0 });
    }
  }

  /**
   * Re-subscribe `subs` with `since`: every concrete channel they hold, then their wildcards (last, so a
   * wildcard's expansion never joins a channel before the message that carries its `since`), at most
   * MAX_CHANNELS_PER_MESSAGE names and MAX_WILDCARDS_PER_MESSAGE wildcards per message. `only`: just those concrete channels, no wildcards.
   */
  resume(subs: Iterable<Subscription>, only?: ReadonlySet<string>): void {
    const entries: { sub: Subscription; name: string }[] = [];
    const placed = new Set<string>();
    const live = [...subs].filter((sub) => sub.live);
    for (const sub of live) {
      for (const name of sub.concrete) {
        if ((only === undefined || only.has(name)) && !placed.has(name)) {
          placed.add(name);
          entries.push({ sub, name });
        }
      }
    }
    if (only === undefined) {
      for (const sub of live) {
        for (const p of sub.patterns) {
          if (!placed.has(p.text)) {
            placed.add(p.text);
            entries.push({ sub, name: p.text });
          }
        }
      }
    }
    for (const chunk of messageChunks(entries, (e) => e.name)) {
      const since: Record<string, number> = {};
      let any = false;
      for (const { name } of chunk) {
        const last = this.#registry.byName.get(name)?.lastSeq;
        if (last !== undefined && last !== null) {
          since[name] = last;
          any = true;
        }
      }
      this.send({
        kind: 'resume',
        subs: [...new Set(chunk.map((e) => e.sub))],
        channels: chunk.map((e) => e.name),
        since: any ? since : undefined,
        sinceDropped: false,
        snapshot: 0,
        retries: 0,
      });
    }
  }

  /** Leave `names`, at most MAX_CHANNELS_PER_MESSAGE names and MAX_WILDCARDS_PER_MESSAGE wildcards per message. */
  unsubscribe(names: string[]): void {
    for (const channels of messageChunks(names, (name) => name)) {
      this.send({ kind: 'unsubscribe', subs: [], channels, since: undefined, sinceDropped: false, snapshot: 0, retries: 0 });
    }
  }

  /** After (re)connecting: resume what was acknowledged, subscribe what never was. */
  resubscribe(): void {
    const active: Subscription[] = [];
    for (const sub of this.#registry.subs) if (sub.state === 'active') active.push(sub);
    this.resume(active);
    for (const sub of this.#registry.subs) if (sub.state === 'pending') this.subscribe(sub);
  }

  /** Mark a channel for repair (keeping the first reason) and schedule the resyncs. */
  wantResync(st: ChannelState, reason: ResyncReason): void {
    if (st.resync === null) st.resync = reason;
    this.sendResyncs();
  }

  /**
   * Ask the channels that need repair again: bars with a snapshot deep enough to reach back to the
   * newest bar delivered, `system` for the current states. Batched: gaps come in bursts (a slow
   * consumer's catch-up), and each request costs one of the connection's subscribe tokens.
   */
  sendResyncs(): void {
    if (this.#resyncTimer !== undefined) return;
    this.#resyncTimer = setTimeout(() => {
      this.#resyncTimer = undefined;
      this.#sendResyncsNow();
    }, 0);
  }

  #sendResyncsNow(): void {
    if (!this.#conn.writable) return;
    const due: ChannelState[] = [];
    for (const st of this.#registry.byName.values()) if (st.resync !== null && !st.resyncSent && st.subs.size > 0) due.push(st);
    for (let i = 0; i < due.length; i += MAX_CHANNELS_PER_MESSAGE) {
      const chunk = due.slice(i, i + MAX_CHANNELS_PER_MESSAGE);
      let depth = 1;
      for (const st of chunk) {
        st.resyncSent = true;
        if (st.bars === undefined) continue;
        const newest = st.bars.newestOpenTime;
        const want = newest === undefined || st.tfMs === 0 ? 1 : Math.ceil((Date.now() - newest) / st.tfMs) + RESYNC_MARGIN_BARS;
        depth = Math.max(depth, Math.min(MAX_SNAPSHOT, want));
      }
      this.#stats.resyncs += chunk.length;
      this.send({ kind: 'resync', subs: [], channels: chunk.map((st) => st.name), since: undefined, sinceDropped: false, snapshot: depth, retries: 0 });
    }
  }

  /** Re-send a RATE_LIMITED request after a growing pause (on this connection; a reconnect re-subscribes anyway). */
  retryLater(req: Request): void {
    const pause = Math.min(this.#maxPauseMs, RATE_LIMIT_PAUSE_MS * 2 ** Math.min(req.retries, 16));
    req.retries++;
    const t = setTimeout(() => {
      this.#retryTimers.delete(t);
      if (req.kind === 'resync') {
        for (const name of req.channels) {
          const st = this.#registry.byName.get(name);
          if (st !== undefined) st.resyncSent = false;
        }
        this.sendResyncs();
      } else if (req.kind === 'unsubscribe' || req.subs.some((s) => s.live)) {
        this.send(req);
      }
    }, pause * (0.5 + Math.random() / 2));
    this.#retryTimers.add(t);
  }
}
