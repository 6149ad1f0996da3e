/**
 * `/v1/stream`: the WebSocket protocol (docs/protocol.md;
 * docs/protocol.md).
 *
 * Contract
 *  - Client ops are JSON text frames: `subscribe` (channels, wildcards, an
 *    optional bars `snapshot` of 1..1000, an optional `since` map to resume,
 *    an optional `epoch`), `unsubscribe`, `ping`. A message with any bad part
 *    is rejected whole (the first bad channel names the error), answered with
 *    `{"type":"error","id","code","message"}`, counted by code, and the
 *    connection stays usable.
 *  - Server messages are JSON text, or FlatBuffers binary frames
 *    (src/wire/fbs.ts) for a connection that asked with `?format=fbs` or the
 *    `tickwire.fbs` subprotocol. Each message is encoded once per format, and
 *    only in the formats its channel has subscribers in (or records history
 *    in); JSON and binary subscribers are on different uWS topics.
 *  - Channels (channels.ts) exist for everything the library serves, from the
 *    server's start; each channel's `seq` counts every message since then,
 *    subscribed or not, so seqs have no holes unless a `gap` says so, and
 *    `since` is exact. `subscribed` carries the server's `epoch` (random per
 *    process): seqs of another epoch mean nothing here.
 *  - Wildcards (`trades:binance:*`, `bars:*:BTCUSDT:1m`) expand over the
 *    known channels, filtered by what the principal may read; a channel that
 *    appears later and matches is joined and announced with
 *    `{"type":"subscribed","id":null,"channels":[it],"epoch"}`.
 *  - Snapshots are sent a slice a turn (snapshots.ts, snapshot-turns.ts):
 *    the ack first, then each bars channel's snapshot at its seq when sent,
 *    the channel off its topic until then and on it right after (the event
 *    loop is single-threaded: nothing is published between the snapshot and
 *    the first live message); then the `since` replays (those channels held
 *    off their topics too) and `system` states. The connection's later
 *    messages wait meanwhile (`conn.queued`), so its replies stay in order.
 *  - Resume: `since: {channel: seq}` replays seq+1.. from the channel's
 *    history (history.ts); what history no longer holds is announced first
 *    with `gap` reason `history`. History is recorded while a channel has
 *    subscribers and for `resumeLingerS` after the last one left (so a
 *    client that reconnects finds it); a replay larger than the half of
 *    `maxBackpressure` reserved for replies is cut at its oldest end (`gap`
 *    reason `slow_consumer`), and so are snapshots (snapshots.ts: also
 *    bounded by a byte rate per connection and per process). `since` on a
 *    channel skips its snapshot; with an `epoch` other than this server's,
 *    every `since` counts as 0. A library with an archive (a cluster edge)
 *    replays what is older than history from there first
 *    (archive-replay.ts).
 *  - Slow consumers (slow-consumer.ts): past 3/8 of `maxBackpressure` a
 *    connection's quotes and bars are conflated; past 1/2 the policy pauses
 *    it (`gap`) or closes it (1013); once drained it catches up with `gap`s.
 *  - Limits: `maxChannelsPerConnection` concrete channels; client messages up
 *    to `maxMessageBytes` (larger ones are answered INVALID_PARAMETER, over
 *    twice that uWS closes the connection, 1006), with at most
 *    MAX_WILDCARDS_PER_MESSAGE wildcards; `subscribeRate` subscribe and
 *    unsubscribe requests per connection (RATE_LIMITED), a request costing
 *    more tokens by the channels it looks at and the snapshot bytes it sends;
 *    `idleTimeoutS` without any frame from the client (uWS pings it first, a
 *    pong counts). The time each request holds the thread is measured
 *    (`tickwire_ws_request_seconds`).
 *  - Auth: the `authenticate` hook runs at the upgrade (401 with the JSON
 *    error body on failure); the principal must allow every concrete channel
 *    subscribed (UNAUTHORIZED); wildcards expand only over allowed channels.
 *  - A uWS socket is invalid after close (methods throw): every path checks
 *    `conn.closed` before touching it.
 *
 * The modules, one job each: stream-upgrade.ts (auth, format negotiation),
 * stream-requests.ts (client messages → validated requests),
 * subscriptions.ts (who holds which channel, counts, history recording),
 * stream-publisher.ts (the hot publish path), slow-consumer.ts and replay.ts
 * (conflation, pause, catch-up, resume), archive-replay.ts (resumes older
 * than history), stream-replies.ts (direct sends),
 * snapshots.ts and snapshot-turns.ts (snapshot budgets, slices and turns).
 * This file wires them into the uWS behaviour: options, then handlers.
 */
import { randomBytes } from 'node:crypto';
import type { TemplatedApp, WebSocketBehavior } from 'uWebSockets.js';
import { uws } from './uws.ts';
import type { Tickwire } from '../api/types.ts';
import type { StreamConfig } from '../config/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import type { ConfigChange } from '../model/events.ts';
import { FbsEncoder } from '../wire/fbs.ts';
import { closedMessage } from '../wire/json.ts';
import { UnauthorizedError } from './auth.ts';
import { ChannelIndex, type Channel } from './channels.ts';
import { ConnectionLimits, connectionCaps } from './connection-limits.ts';
import type { ServerMetrics } from './metrics.ts';
import { ANONYMOUS, type Authenticator } from './principal.ts';
import { ArchiveReplays, type ArchiveRead } from './archive-replay.ts';
import { historyBytes, replay } from './replay.ts';
import { SystemStates, type Alert } from './rooms.ts';
import { SlowConsumers } from './slow-consumer.ts';
import { attached, BufferLimits, CLOSE_GOING_AWAY, ConnState, HOLD_TOPIC, type Conn, type Id } from './stream-conn.ts';
import { sizeChannel, StreamPublisher } from './stream-publisher.ts';
import { StreamReplies } from './stream-replies.ts';
import { SnapshotBudget, type SnapshotJob } from './snapshots.ts';
import { Turns } from './snapshot-turns.ts';
import { chargeWork, readId, readMessage, readOp, RequestReader, takeRequest, type Op } from './stream-requests.ts';
import { StreamUpgrade } from './stream-upgrade.ts';
import { Subscriptions } from './subscriptions.ts';

/** Close reasons uWS (the pinned build) gives for the closes it makes itself (code 1006). */
const UWS_TOO_BIG = 'Received too big message';
const UWS_IDLE = 'WebSocket timed out from inactivity';
/** Requests a connection may send while one of its subscribes is being answered (each took its token too). */
const MAX_QUEUED = 64;
/** The slice of snapshots sent in the subscribe's own turn (after its parsing, joins and ack): half a later turn's. */
const FIRST_SLICE_BYTES = 64 * 1024;
const FIRST_SLICE_MS = 1;
/** How often history lingering and stuck paused connections are looked at, ms. */
const SWEEP_MS = 1000;

/** What `createServer` hands the stream. */
export interface StreamOptions {
  /** The `stream:` section, validated (createServer merges its overrides into the config's). */
  config: StreamConfig;
  onError: (err: unknown, where: string) => void;
  /** Credentials → principal at the upgrade (or a promise of one: a JWT checked against a JWKS); throws UNAUTHORIZED. Default: everyone is ANONYMOUS (allowed everything). */
  authenticate?: Authenticator;
  /** Connection caps, checked at the upgrade and counted on open and close. Default: none. */
  connections?: ConnectionLimits;
}

/** A subscribe whose snapshots are being sent, a slice a turn; its `since` replays and `system` states follow them. */
interface Answering {
  job: SnapshotJob;
  since: Map<Channel, number>;
  system: boolean;
  /** What the archive gave for `since` channels older than their history, once read (archive-replay.ts). */
  archived?: Map<Channel, ArchiveRead>;
}

/** The `/v1/stream` WebSocket behaviour (for `app.ws`) and the publisher of the library's events to it; see the module comment. */
export class StreamServer {
  readonly behavior: WebSocketBehavior<Conn>;
  /** Random id of this server's life (or the cluster data's: `Tickwire.epoch`); seqs restart with a new one. */
  readonly epoch: string;
  readonly #metrics: ServerMetrics;
  readonly #cfg: StreamConfig;
  readonly #onError: StreamOptions['onError'];
  readonly #limits: BufferLimits;
  /** One encoder for every binary message (each result is sent or copied before its next call). */
  readonly #fbs = new FbsEncoder();
  readonly #channels: ChannelIndex;
  readonly #subs: Subscriptions;
  readonly #replies: StreamReplies;
  readonly #slow: SlowConsumers;
  readonly #requests: RequestReader;
  readonly #upgrade: StreamUpgrade;
  readonly #publisher: StreamPublisher;
  readonly #snapshots: SnapshotBudget;
  readonly #conns = new Set<Conn>();
  /** Subscribes answered whose snapshots are still being sent (a slice a turn). */
  readonly #jobs = new Map<Conn, Answering>();
  /** Resumes older than history, read from `Tickwire.archive`; undefined without one. */
  readonly #archive: ArchiveReplays | undefined;
  /** Connections whose subscribe waits for the archive (their later requests wait in `conn.queued`). */
  readonly #archiving = new Set<Conn>();
  readonly #turns: Turns;
  readonly #counted: ConnectionLimits;
  readonly #sweepTimer: NodeJS.Timeout;
  #off: (() => void)[];
  /** Channels created from now on are matched against connections' wildcards. */
  #started = false;
  /** Every market channel records its history (`Tickwire.epoch` set: seqs outlive this server). */
  readonly #keepHistory: boolean;

  constructor(app: TemplatedApp, tickwire: Tickwire, metrics: ServerMetrics, options: StreamOptions) {
    const cfg = options.config;
    this.epoch = tickwire.epoch ?? randomBytes(8).toString('hex');
    this.#keepHistory = tickwire.epoch !== undefined;
    this.#archive = tickwire.archive === undefined ? undefined : new ArchiveReplays(tickwire.archive, this.#fbs);
    this.#metrics = metrics;
    this.#cfg = cfg;
    this.#onError = options.onError;
    this.#limits = new BufferLimits(cfg.maxBackpressure);
    this.#subs = new Subscriptions(cfg, this.#limits);
    this.#channels = new ChannelIndex(tickwire, (ch) => this.#created(ch));
    const system = new SystemStates(Object.values(tickwire.status().exchanges), Date.now());
    this.#replies = new StreamReplies(tickwire, metrics, this.#fbs, system, this.epoch);
    this.#slow = new SlowConsumers(cfg, metrics, this.#limits, this.#subs, this.#replies);
    this.#requests = new RequestReader(this.#channels, this.epoch, cfg.maxChannelsPerConnection);
    this.#snapshots = new SnapshotBudget(cfg, this.#limits);
    this.#turns = new Turns((conn) => this.#step(conn), (ms) => metrics.request('snapshot', ms));
    this.#counted = options.connections ?? new ConnectionLimits(connectionCaps({ maxConnections: Number.MAX_SAFE_INTEGER }, undefined));
    this.#upgrade = new StreamUpgrade(cfg, this.#limits, metrics, options.authenticate ?? (() => ANONYMOUS), options.onError, this.#counted);
    this.#publisher = new StreamPublisher(app, tickwire, metrics, this.#channels, this.#slow.budget, this.#fbs, system);
    this.#started = true;
    this.behavior = {
      // ── options ──
      compression: uws().DISABLED,
      // Twice the limit: a message up to there is answered INVALID_PARAMETER; past it uWS closes the connection.
      maxPayloadLength: cfg.maxMessageBytes * 2,
      maxBackpressure: cfg.maxBackpressure,
      // Typed as a number in this build's declarations; 0 is false: drop (we pause first), never close.
      closeOnBackpressureLimit: 0,
      idleTimeout: cfg.idleTimeoutS,
      sendPingsAutomatically: true,
      // ── handlers ──
      upgrade: (res, req, context) => this.#upgrade.handle(res, req, context),
      open: (ws) => {
        const conn = ws.getUserData();
        conn.ws = ws;
        ws.subscribe(HOLD_TOPIC);
        this.#conns.add(conn);
        this.#counted.opened(conn.address);
      },
      message: (ws, data, isBinary) => this.#message(ws.getUserData(), data, isBinary),
      drain: (ws) => this.#slow.drain(ws.getUserData()),
      close: (ws, code, message) => this.#closed(ws.getUserData(), code, message),
    };
    this.#off = this.#publisher.listen();
    this.#off.push(tickwire.on('change', (c) => this.#changed(c)));
    this.#sweepTimer = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweepTimer.unref();
  }

  /** Open connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Channel subscriptions over all connections. */
  get subscriptions(): number {
    return this.#subs.count;
  }

  /** Bytes of messages held in resume histories. */
  get historyBytes(): number {
    return this.#subs.historyBytes;
  }

  /** The largest buffered amount of any connection now, bytes (bounded by maxBackpressure). */
  get maxBuffered(): number {
    let max = 0;
    for (const c of this.#conns) if (!c.closed) max = Math.max(max, c.ws!.getBufferedAmount());
    return max;
  }

  /** Publish an alert on the `alerts` room; throws INVALID_PARAMETER for a bad one. Returns it as published. */
  publishAlert(input: unknown): Alert & { seq: number } {
    return this.#publisher.publishAlert(input);
  }

  /** Stop listening to the library and close every connection (1001 going away). Idempotent. */
  close(): void {
    this.#upgrade.closing = true;
    clearInterval(this.#sweepTimer);
    this.#turns.stop();
    for (const off of this.#off) off();
    this.#off = [];
    for (const conn of [...this.#conns]) {
      if (!conn.closed) conn.ws!.end(CLOSE_GOING_AWAY, 'server shutting down');
    }
  }

  // ── connection lifecycle ───────────────────────────────────────────────

  /**
   * A channel was created: size its binary form; when the seqs outlive this
   * process (`Tickwire.epoch`: a cluster edge), record its history from now
   * on, so a client that lost another edge resumes here; after start-up,
   * join connections whose wildcards match it.
   */
  #created(ch: Channel): void {
    sizeChannel(this.#fbs, ch);
    if (this.#keepHistory && ch.format !== undefined) this.#subs.keep(ch);
    if (!this.#started) return;
    for (const conn of this.#conns) {
      if (conn.closed || conn.patterns.length === 0) continue;
      const p = conn.patterns.find((q) => this.#channels.matches(q, ch));
      if (p === undefined || !conn.principal.allows(ch.name)) continue;
      if (conn.channels.size >= this.#cfg.maxChannelsPerConnection) {
        this.#metrics.rejected(ErrorCode.INVALID_PARAMETER);
        this.#replies.error(conn, null, ErrorCode.INVALID_PARAMETER,
          `new channel ${ch.name} matches ${p.text} but this connection is at its limit of ${this.#cfg.maxChannelsPerConnection} channels`);
        continue;
      }
      this.#replies.subscribed(conn, null, [ch.name]);
      this.#subs.join(conn, ch);
      if (!conn.closed && conn.state === ConnState.NORMAL) this.#slow.budget.track(conn);
    }
  }

  /**
   * A live change: published on `system`; a removed symbol's or exchange's
   * channels send their subscribers a last `closed` (binary: an
   * `Unsubscribed` with no id) and let them go; a symbol fed again opens its
   * channels to wildcards; an added exchange's channels are created (and
   * join the wildcards that match them).
   */
  #changed(c: ConfigChange): void {
    this.#publisher.publishChange(c);
    if (c.action === 'exchange_added') {
      this.#channels.addExchange(c.exchange);
      return;
    }
    if (c.action === 'symbol_added' && c.symbol !== null) {
      for (const ch of this.#channels.reopenSymbol(c.exchange, c.symbol)) this.#created(ch);
      return;
    }
    const closing = c.action === 'exchange_removed' ? this.#channels.closeExchange(c.exchange) : c.symbol === null ? [] : this.#channels.closeSymbol(c.exchange, c.symbol);
    const now = performance.now();
    for (const ch of closing) {
      for (const conn of this.#conns) {
        if (conn.closed || !conn.channels.has(ch)) continue;
        this.#replies.send(conn, conn.binary ? this.#fbs.unsubscribed(null, [ch.name]) : closedMessage(ch.name, c.cause === 'idle' ? 'idle' : 'removed'), conn.binary);
        this.#subs.leave(conn, ch, now);
      }
    }
  }

  #closed(conn: Conn, code: number, message: ArrayBuffer): void {
    conn.closed = true;
    conn.ws = null;
    this.#slow.forget(conn);
    this.#subs.leaveAll(conn, performance.now());
    const a = this.#jobs.get(conn);
    if (a !== undefined) {
      this.#jobs.delete(conn);
      this.#snapshots.settle(a.job); // gives back the bytes not sent
    }
    conn.pending.clear();
    conn.queued = null;
    conn.patterns = [];
    this.#conns.delete(conn);
    this.#counted.closed(conn.address);
    if (code === 1006) {
      const why = Buffer.from(message).toString();
      if (why === UWS_TOO_BIG) {
        this.#metrics.rejected(ErrorCode.INVALID_PARAMETER);
        this.#metrics.wsClosed('message_too_big');
      } else if (why === UWS_IDLE) {
        this.#metrics.wsClosed('idle_timeout');
      }
    }
  }

  /** Once a second: end history lingers that ran out; catch up connections whose drain never came. */
  #sweep(): void {
    this.#subs.sweep(performance.now());
    this.#slow.sweep();
  }

  // ── client messages ────────────────────────────────────────────────────

  #message(conn: Conn, data: ArrayBuffer, isBinary: boolean): void {
    if (conn.closed) return;
    let id: Id = null;
    // The smaller of wall time and the process's CPU time: on a loaded machine the thread may be
    // preempted mid-handler (wall time grows), or GC threads run beside it (process CPU grows).
    const wall = performance.now();
    const cpu = process.cpuUsage();
    let op: Op = 'ping';
    try {
      const msg = readMessage(data, isBinary, this.#cfg.maxMessageBytes);
      id = readId(msg['id']);
      op = readOp(msg['op']);
      if (op !== 'ping') takeRequest(conn);
      if (conn.queued === null) this.#request(conn, op, id, msg);
      else if (conn.queued.length < MAX_QUEUED) conn.queued.push({ op, id, msg });
      else throw new TickwireError(ErrorCode.RATE_LIMITED, `${MAX_QUEUED} requests are already waiting for an earlier subscribe's snapshots; retry later`);
    } catch (err) {
      this.#reject(conn, id, err);
    }
    if (op === 'ping') return;
    const used = process.cpuUsage(cpu);
    this.#metrics.request(op, Math.min(performance.now() - wall, (used.user + used.system) / 1000));
  }

  #request(conn: Conn, op: Op, id: Id, msg: Record<string, unknown>): void {
    if (op === 'subscribe') this.#subscribe(conn, id, msg);
    else if (op === 'unsubscribe') this.#unsubscribe(conn, id, msg);
    else this.#replies.pong(conn, id);
  }

  /** One turn of `conn`'s deferred work, corked: a slice of its subscribe's snapshots, or one request that waited. True when more is left. */
  #step(conn: Conn): boolean {
    // Corked, as uWS corks a message handler: otherwise every send is its own write (measured: 400 snapshots, 16–28 ms instead of a few).
    conn.ws!.cork(() => {
      const a = this.#jobs.get(conn);
      if (a !== undefined) {
        try {
          this.#sendSnapshots(conn, a);
        } catch (err) {
          this.#jobs.delete(conn);
          this.#onError(err, '/v1/stream snapshot');
          if (!conn.closed) conn.ws!.end(CLOSE_GOING_AWAY, 'internal error');
        }
        return;
      }
      const next = conn.queued?.shift();
      if (next === undefined) return;
      try {
        this.#request(conn, next.op, next.id, next.msg);
      } catch (err) {
        this.#reject(conn, next.id, err);
      }
    });
    if (conn.closed) return false;
    if (this.#jobs.has(conn) || (conn.queued !== null && conn.queued.length > 0)) return true;
    if (this.#archiving.has(conn)) return false; // its requests keep waiting: the archive's answer adds it again
    conn.queued = null;
    return false;
  }

  /** A slice of a subscribe's snapshots; each channel goes on its topic right after its snapshot (live from its seq + 1). When all are sent: settled, then `#replays`. True then. */
  #sendSnapshots(conn: Conn, a: Answering, bytes?: number, ms?: number): boolean {
    const done = this.#snapshots.slice(this.#replies, a.job, (ch) => {
      conn.pending.delete(ch);
      conn.channels.set(ch, ch.seq);
      if (attached(conn, ch)) this.#subs.attach(conn, ch);
    }, bytes, ms);
    if (!done) return false;
    this.#jobs.delete(conn);
    this.#metrics.snapshotBytes(this.#snapshots.settle(a.job));
    this.#replays(conn, a);
    return true;
  }

  /**
   * The end of a subscribe's answer: `since` replays (those channels held off
   * their topics until now) and the `system` states. Resumes older than
   * their channel's history first wait for the archive (`#readArchive`).
   */
  #replays(conn: Conn, a: Answering): void {
    if (a.archived === undefined && this.#archive !== undefined && !conn.closed) {
      const older = [...a.since].filter(([ch, after]) => this.#archive!.needs(conn, ch, after));
      if (older.length > 0) {
        this.#readArchive(conn, a, older);
        return;
      }
    }
    // At most the reply half of the limit, less what is already buffered.
    let room = conn.closed ? 0 : this.#limits.replies - conn.ws!.getBufferedAmount();
    for (const [ch, since] of a.since) {
      let after = since;
      const read = a.archived?.get(ch);
      if (read !== undefined) {
        // History's part is the newest: the archive's gets what it leaves.
        room -= this.#archive!.send(this.#replies, conn, ch, read, room - historyBytes(conn, ch, read.through));
        after = read.through;
      }
      room -= replay(this.#replies, conn, ch, after, true, room, 'history');
      if (conn.closed || !conn.pending.delete(ch)) continue;
      conn.channels.set(ch, ch.seq);
      if (attached(conn, ch)) this.#subs.attach(conn, ch);
    }
    if (a.system) this.#replies.systemStates(conn, this.#channels.system.seq);
    if (!conn.closed && conn.state === ConnState.NORMAL) this.#slow.budget.track(conn);
  }

  /**
   * Read the archive part of `older` resumes (one subscribe's budget, its
   * channels in order), then finish the answer in one corked turn and let the
   * requests that waited go on. Every `since` channel stays off its topic
   * meanwhile; the connection's later requests wait in `conn.queued`.
   */
  #readArchive(conn: Conn, a: Answering, older: [Channel, number][]): void {
    const archive = this.#archive!;
    const archived = new Map<Channel, ArchiveRead>();
    for (const [ch] of a.since) {
      if (!conn.pending.has(ch)) {
        if (conn.channels.has(ch) && attached(conn, ch)) this.#subs.detach(conn, ch);
        conn.pending.add(ch);
      }
    }
    conn.queued ??= [];
    this.#archiving.add(conn);
    void (async () => {
      let budget = archive.budget;
      for (const [ch, after] of older) {
        if (budget <= 0 || conn.closed) break;
        const read = await archive.read(conn, ch, after, budget);
        archived.set(ch, read);
        budget -= read.events.length;
        if (!conn.closed) chargeWork(conn, read.events.length);
      }
    })()
      .catch((err: unknown) => this.#onError(err, '/v1/stream archive'))
      .finally(() => {
        this.#archiving.delete(conn);
        if (conn.closed) return;
        a.archived = archived;
        conn.ws!.cork(() => {
          try {
            this.#replays(conn, a);
          } catch (err) {
            this.#onError(err, '/v1/stream archive');
            if (!conn.closed) conn.ws!.end(CLOSE_GOING_AWAY, 'internal error');
          }
        });
        if (!conn.closed) this.#turns.add(conn);
      });
  }

  #reject(conn: Conn, id: Id, err: unknown): void {
    let code: string;
    let message: string;
    if (err instanceof TickwireError) {
      code = err.code;
      message = err.message;
      if (err instanceof UnauthorizedError) this.#metrics.authFailure('ws', err.reason);
    } else {
      this.#onError(err, '/v1/stream message');
      code = ErrorCode.INTERNAL_ERROR;
      message = 'internal error';
    }
    this.#metrics.rejected(code);
    this.#replies.error(conn, id, code, message);
  }

  #subscribe(conn: Conn, id: Id, m: Record<string, unknown>): void {
    const { channels, patterns, work, snapshot, since } = this.#requests.subscribe(conn, m);
    chargeWork(conn, work);
    // Admit snapshots before changing anything, so a refusal (RATE_LIMITED) rejects the whole message.
    const bars = snapshot > 0 ? channels.filter((ch) => ch.kind === 'bars' && !since.has(ch)) : [];
    const a: Answering = { job: this.#snapshots.start(conn, bars, snapshot), since, system: false };
    a.system = channels.includes(this.#channels.system) && !since.has(this.#channels.system);
    // A channel waiting for its snapshot, or for its replay when snapshots go first, is off its topic until it is sent.
    const held = bars.length > 0 ? [...bars, ...since.keys()] : [];
    for (const ch of held) {
      if (conn.channels.has(ch) && attached(conn, ch)) this.#subs.detach(conn, ch);
      conn.pending.add(ch);
    }
    for (const ch of channels) if (!conn.channels.has(ch)) this.#subs.join(conn, ch);
    for (const p of patterns) if (!conn.patterns.some((q) => q.text === p.text)) conn.patterns.push(p);

    this.#replies.subscribed(conn, id, channels.map((ch) => ch.name));
    if (bars.length === 0) {
      this.#replays(conn, a);
      return;
    }
    // The first slice now; the rest a slice a turn, this connection's later messages waiting (its replies stay in order).
    if (this.#sendSnapshots(conn, a, FIRST_SLICE_BYTES, FIRST_SLICE_MS) || conn.closed) return;
    this.#jobs.set(conn, a);
    conn.queued ??= [];
    this.#turns.add(conn);
  }

  #unsubscribe(conn: Conn, id: Id, m: Record<string, unknown>): void {
    const { channels, patterns, work } = this.#requests.unsubscribe(conn, m);
    const removed = new Set<Channel>();
    let looked = work;
    for (const p of patterns) {
      conn.patterns = conn.patterns.filter((q) => q.text !== p.text);
      looked += this.#channels.matchHeld(p, conn.channels, removed);
    }
    chargeWork(conn, looked);
    for (const ch of channels) if (!removed.has(ch)) removed.add(ch);
    const now = performance.now();
    for (const ch of removed) this.#subs.leave(conn, ch, now);
    if (conn.channels.size === 0) this.#slow.budget.remove(conn);
    const names = [...removed].map((ch) => ch.name);
    this.#replies.unsubscribed(conn, id, names);
  }
}
