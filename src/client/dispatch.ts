/**
 * Incoming frames: decoded, counted, and routed by type. Live messages,
 * snapshots and gap notices go to delivery (delivery.ts); the replies to the
 * client's requests are handled here: `subscribed` attaches the concrete
 * channels to the subscriptions that asked (or, with id null, to the
 * wildcard they appeared under) and carries the server's epoch, whose change
 * voids every seq; `unsubscribed` re-joins what another subscription still
 * holds; `error` retries, drops a refused `since`, splits a refused batch or
 * ends the subscription (see the client module comment).
 *
 * Reply runs: what directly follows a `subscribed` reply (its snapshots, the
 * `system` states) belongs to it, until the next reply of any kind.
 */
import { ErrorCode, TickwireError } from '../errors.ts';
import { channelParts } from '../wire/channels.ts';
import type { ErrorMessage, StreamMessage, SubscribedMessage, UnsubscribedMessage } from '../wire/messages.ts';
import type { ChannelRegistry } from './channels.ts';
import type { Connection, Report } from './connection.ts';
import type { Delivery } from './delivery.ts';
import type { Emitter } from './emitter.ts';
import type { Request, Requests, SnapshotWindow } from './requests.ts';
import type { Subscription } from './subscription.ts';
import type { ClientEvents, ClientStats } from './types.ts';

const CODES = new Set<string>(Object.values(ErrorCode));

/** What the dispatcher works with: the client's parts it routes to. */
export interface DispatchParts {
  conn: Connection;
  registry: ChannelRegistry;
  requests: Requests;
  delivery: Delivery;
  events: Emitter<ClientEvents>;
  stats: ClientStats;
  report: Report;
}

/** Routes the stream's messages and owns what the replies establish: the epoch and the snapshot window. */
export class Dispatcher {
  readonly #conn: Connection;
  readonly #registry: ChannelRegistry;
  readonly #requests: Requests;
  readonly #delivery: Delivery;
  readonly #events: Emitter<ClientEvents>;
  readonly #stats: ClientStats;
  readonly #report: Report;
  #epoch: string | null = null;
  #window: SnapshotWindow | null = null;

  constructor(parts: DispatchParts) {
    this.#conn = parts.conn;
    this.#registry = parts.registry;
    this.#requests = parts.requests;
    this.#delivery = parts.delivery;
    this.#events = parts.events;
    this.#stats = parts.stats;
    this.#report = parts.report;
  }

  /** The server's epoch from the last `subscribed` reply; null before the first. */
  get epoch(): string | null {
    return this.#epoch;
  }

  /** The connection is gone: no snapshot of a reply on it will come. */
  dropWindow(): void {
    this.#window = null;
  }

  /** One frame from the socket: decode it (an undecodable one is counted and reported) and route it. */
  frame(data: unknown): void {
    let m: StreamMessage;
    try {
      m = parseFrame(data, this.#conn.decode);
    } catch (err) {
      this.#stats.malformed++;
      this.#report(new TickwireError(ErrorCode.INTERNAL_ERROR, `undecodable message from the server: ${(err as Error).message}`, { cause: err }), 'decoding');
      return;
    }
    this.#stats.messages++;
    switch (m.type) {
      case 'trade':
      case 'quote':
      case 'bar':
      case 'system':
      case 'alert':
      case 'prediction':
      case 'signal':
      case 'fill':
        this.#delivery.live(m);
        break;
      case 'snapshot':
        this.#delivery.snapshot(m, this.#window);
        break;
      case 'gap':
        this.#delivery.serverGap(m);
        break;
      case 'subscribed':
        this.#endReplyRuns();
        this.#onSubscribed(m);
        break;
      case 'unsubscribed':
        this.#endReplyRuns();
        this.#onUnsubscribed(m);
        break;
      case 'error':
        this.#endReplyRuns();
        this.#onError(m);
        break;
      case 'pong':
        this.#endReplyRuns();
        break;
      default:
        this.#stats.malformed++;
    }
  }

  /** A new reply: whatever followed the previous one (snapshots, system states) is over. */
  #endReplyRuns(): void {
    this.#window = null;
    const system = this.#registry.byName.get('system');
    if (system !== undefined) system.states = null;
  }

  #onSubscribed(m: SubscribedMessage): void {
    this.#checkEpoch(m.epoch);
    if (!Array.isArray(m.channels)) return;
    if (m.id === null) {
      this.#onAnnounced(m);
      return;
    }
    const req = this.#requests.take(m.id);
    if (req === undefined) return;
    const window = new Set<string>();
    const orphans: string[] = [];
    for (const name of m.channels) {
      const owners = req.kind === 'resync' ? [] : owned(req, name);
      let st = this.#registry.byName.get(name);
      if (st === undefined) {
        const parts = channelParts(name);
        if (owners.length === 0 || parts === undefined) {
          if (req.kind !== 'resync') orphans.push(name);
          continue;
        }
        st = this.#registry.add(name, parts, owners);
      }
      for (const sub of owners) {
        sub.concrete.add(name);
        st.subs.add(sub);
      }
      const fresh = req.sinceDropped || req.since?.[name] === undefined;
      if (st.kind === 'bars' && req.snapshot > 0 && fresh) window.add(name);
      // Re-joined without a replay: what changed meanwhile comes from a snapshot.
      if (st.kind === 'bars' && req.kind === 'resume' && fresh && st.resync === null) st.resync = 'history';
      if (st.kind === 'system' && fresh) {
        st.states = { subs: req.kind === 'subscribe' ? owners : [...st.subs], seq: null };
        if (req.kind === 'resync') {
          st.resync = null;
          st.resyncSent = false;
        }
      }
    }
    if (req.kind === 'subscribe' || req.kind === 'resume') {
      const epoch = typeof m.epoch === 'string' ? m.epoch : null;
      for (const sub of req.subs) {
        if (!sub.live) continue;
        const resumed = sub.state === 'active';
        sub.state = 'active';
        const channels = m.channels.filter((name) => this.#registry.byName.get(name)?.subs.has(sub) === true);
        this.#delivery.call(sub.handlers.subscribed, { channels, epoch, resumed }, sub.given.join(', '));
      }
    }
    if (window.size > 0) this.#window = { request: req, channels: window };
    if (orphans.length > 0) this.#requests.unsubscribe(orphans);
    this.#requests.sendResyncs();
  }

  /** `subscribed` with id null: the server joined us to a channel that appeared under one of our wildcards. */
  #onAnnounced(m: SubscribedMessage): void {
    const epoch = typeof m.epoch === 'string' ? m.epoch : null;
    const orphans: string[] = [];
    for (const name of m.channels) {
      const known = this.#registry.byName.get(name);
      const st = known ?? this.#registry.adopt(name);
      if (st === undefined) {
        orphans.push(name); // its wildcard was unsubscribed meanwhile
        continue;
      }
      if (known !== undefined) continue;
      for (const sub of st.subs) this.#delivery.call(sub.handlers.subscribed, { channels: [name], epoch, resumed: false }, name);
    }
    if (orphans.length > 0) this.#requests.unsubscribe(orphans);
  }

  /** A new epoch: the server restarted and its seqs start over; old seqs are void. */
  #checkEpoch(epoch: unknown): void {
    if (typeof epoch !== 'string' || epoch === this.#epoch) return;
    const previous = this.#epoch;
    this.#epoch = epoch;
    if (previous !== null) {
      for (const st of this.#registry.byName.values()) {
        const last = st.lastSeq;
        st.lastSeq = null;
        if (st.kind === 'bars') {
          if (last !== null || st.bars!.size > 0) st.resync = 'restart';
        } else if (st.kind === 'system') {
          // No notice: asking again brings every exchange's current state.
          st.resync = 'restart';
        } else {
          this.#delivery.gap(st, { type: 'gap', channel: st.name, fromSeq: (last ?? 0) + 1, toSeq: null, reason: 'restart' });
        }
      }
    }
    this.#events.emit('epoch', { epoch, previous });
  }

  #onUnsubscribed(m: UnsubscribedMessage): void {
    this.#requests.take(m.id);
    if (!Array.isArray(m.channels)) return;
    // A wildcard unsubscribed on the server takes its expansion along: re-join what another subscription still holds.
    const still = new Set<string>();
    const holders = new Set<Subscription>();
    for (const name of m.channels) {
      const st = this.#registry.byName.get(name);
      if (st === undefined || st.subs.size === 0) continue;
      still.add(name);
      for (const sub of st.subs) holders.add(sub);
    }
    if (still.size > 0) this.#requests.resume(holders, still);
  }

  #onError(m: ErrorMessage): void {
    const code = CODES.has(m.code) ? (m.code as ErrorCode) : ErrorCode.INTERNAL_ERROR;
    const err = new TickwireError(code, String(m.message));
    const req = this.#requests.take(m.id);
    if (req === undefined) {
      this.#report(err, 'the stream');
      return;
    }
    if (code === ErrorCode.RATE_LIMITED) {
      this.#requests.retryLater(req);
      return;
    }
    if (req.since !== undefined && !req.sinceDropped && code === ErrorCode.INVALID_PARAMETER) {
      // Most likely a new server whose seqs are behind ours; its `subscribed` will tell (epoch).
      req.sinceDropped = true;
      this.#requests.send(req);
      return;
    }
    if (req.kind === 'unsubscribe') {
      this.#report(err, 'unsubscribing');
      return;
    }
    if (req.kind === 'resync') {
      for (const name of req.channels) {
        const st = this.#registry.byName.get(name);
        if (st !== undefined) {
          st.resync = null;
          st.resyncSent = false;
        }
      }
      this.#report(err, 'resyncing bars');
      return;
    }
    const live = req.subs.filter((s) => s.live);
    if (req.kind === 'resume' && live.length > 1) {
      // One bad channel refuses the whole batch: let each subscription get its own answer.
      for (const sub of live) this.#requests.resume([sub]);
      return;
    }
    for (const sub of live) this.#fail(sub, err);
  }

  /** The server refused `sub`: end it, leave the channels only it held, and tell its `error` handler. */
  #fail(sub: Subscription, err: TickwireError): void {
    if (!sub.live) return;
    sub.state = 'failed';
    this.#registry.subs.delete(sub);
    const dropped = this.#registry.release(sub);
    if (dropped.length > 0 && this.#conn.state === 'open') this.#requests.unsubscribe(dropped);
    if (sub.handlers.error !== undefined) this.#delivery.call(sub.handlers.error, err, sub.given.join(', '));
    else this.#report(err, 'a subscription');
  }
}

/** Which of the request's subscriptions a channel in its reply belongs to. */
function owned(req: Request, name: string): Subscription[] {
  const out: Subscription[] = [];
  for (const sub of req.subs) {
    if (!sub.live) continue;
    if (req.kind === 'subscribe' || sub.concrete.has(name) || sub.given.includes(name) || sub.claims(name)) out.push(sub);
  }
  return out;
}

/** A frame as a protocol message: JSON text, or FlatBuffers bytes through `decode`; throws when it is neither. */
export function parseFrame(data: unknown, decode: ((bytes: Uint8Array) => StreamMessage) | undefined): StreamMessage {
  let m: unknown;
  if (typeof data === 'string') m = JSON.parse(data);
  else {
    if (decode === undefined) throw new Error('a binary frame on a JSON stream');
    if (data instanceof ArrayBuffer) m = decode(new Uint8Array(data));
    else if (ArrayBuffer.isView(data)) m = decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    else throw new Error(`unexpected frame data ${typeof data}`);
  }
  if (typeof m !== 'object' || m === null || typeof (m as { type?: unknown }).type !== 'string') throw new Error('not a protocol message');
  return m as StreamMessage;
}
