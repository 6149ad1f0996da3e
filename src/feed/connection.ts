/**
 * FeedConnection: one WebSocket connection to a venue, kept alive. Written
 * once for every adapter:
 *  - subscribe requests paced within the venue's messages-per-second limit,
 *    acks matched by request id;
 *  - reconnect with exponential backoff and full jitter, capped; the backoff
 *    resets once a connection has delivered data;
 *  - re-subscription after every reconnect (the adapter rebuilds requests);
 *  - heartbeat: the `ws` client answers server pings itself, and sends the
 *    adapter's client heartbeat where the venue wants one; a connection with
 *    no frame and no ping for `staleAfterMs` is judged dead and replaced;
 *  - authentication first where the venue needs it: a request marked
 *    `awaitAck` holds the subscribe requests back until it is acknowledged;
 *  - rotation before the venue's maximum connection age and on the venue's
 *    shutdown notice, make-before-break (see `handover`).
 * Each frame goes to the adapter's `parse`; what it finds goes to the handler.
 * A frame the adapter calls MALFORMED, a binary frame and a text frame that
 * is not UTF-8 are counted (`parseErrors`) and the connection goes on.
 */
import { isUtf8 } from 'node:buffer';
import WebSocket from 'ws';
import { FrameKind, type ClientRequest, type ExchangeAdapter, type FeedHandler } from '../exchanges/adapter.ts';
import { Jitter, JitteredBackoff } from '../model/backoff.ts';
import type { LogSink } from '../log/record.ts';
import { urlForLogs } from '../log/redact.ts';
import { nowMs, ReadClock } from '../model/clock.ts';
import { describeConnectFailure, type ConnectFailure } from './connect-failure.ts';
import type { ConnectionOptions, ConnectionState } from './protocol.ts';


/** What the connection reports to its owner (all optional). */
export interface ConnectionEvents {
  onState?(state: ConnectionState): void;
  /** A frame arrived at local time `recvTs` (ms); called right before it is parsed. */
  onReceive?(recvTs: number): void;
  /** After each frame (the owner publishes what the handler wrote), with the frame's kind. */
  onFrame?(kind: FrameKind, recvTs: number): void;
  onError?(message: string): void;
  /** Connection events worth a log line (connects, failures with their cause, reconnects, the circuit). */
  onLog?: LogSink;
}

/** The longest delay a Node timer honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * What a text frame that is not valid UTF-8 is passed on as: counted as a
 * parse error like a binary frame, and the connection goes on (RFC 6455 says
 * fail it with 1007; a market-data feed would lose every frame until the
 * reconnect for one corrupt frame, so tickwire counts it instead).
 */
const NOT_UTF8 = Symbol('text frame that is not UTF-8');

/** Error frames logged per connection; the rest are counted in `lastError` only. */
const ERROR_FRAMES_LOGGED = 5;

/** Longest a replaced connection is kept during a handover, ms. */
const HANDOVER_DEADLINE_MS = 10_000;

export class FeedConnection {
  /** Reconnects since start (not counting the first connect). */
  reconnects = 0;
  /** Frames received since start. */
  frames = 0;
  parseErrors = 0;
  /** Local time of the last frame, ms (NaN before the first). */
  lastFrameAt = NaN;
  /** Local time of the last sign of life (open, frame or ping), ms (0 before the first): where an outage began. */
  get lastAlive(): number {
    return this.lastAliveAt;
  }
  /** Request ids sent and not yet acknowledged. */
  readonly pendingAcks = new Set<number>();

  private readonly adapter: ExchangeAdapter;
  private readonly url: string;
  /** `url` without its query and user info (a token may sit there): what the log shows. */
  private readonly logUrl: string;
  private readonly handler: FeedHandler;
  private readonly events: ConnectionEvents;
  /** Frames' receive time: one clock read per socket read (every frame of it arrived at once). */
  private readonly readClock = new ReadClock();
  /** Reconnect delays: full jitter unless the options say equal (../model/backoff.ts). */
  private readonly backoff: JitteredBackoff;
  private readonly staleAfterMs: number;
  private readonly rotateAfterMs: number;
  private readonly circuitAfterFailures: number;
  private readonly circuitCooldownMs: number;
  /** Connections in a row that closed without delivering data. */
  private failures = 0;
  private ws: WebSocket | undefined;
  /** The previous connection during a handover: still delivering until the new one does. */
  private retiring: WebSocket | undefined;
  private retireTimer: NodeJS.Timeout | undefined;
  private running = false;
  private nextRequestId = 1;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private rotateTimer: NodeJS.Timeout | undefined;
  private paceTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The request whose ACK releases the rest of the subscribe sequence. */
  private afterAck: { id: number; next: () => void } | undefined;
  private lastAliveAt = 0;
  /** The state last reported to the owner (a repeat is not reported again). */
  private reported: ConnectionState | undefined;
  private gotData = false;
  /** Why the current socket is failing, from its 'error' event, for the 'close' that follows (ws reports 1006 there). */
  private failure: ConnectFailure | undefined;
  /** Connection attempts since the last one that delivered data. */
  private attempts = 0;
  /** Error frames logged on the current connection (a venue repeating one must not flood the log). */
  private errorFramesLogged = 0;

  constructor(adapter: ExchangeAdapter, baseUrl: string, handler: FeedHandler, events: ConnectionEvents = {}, options: ConnectionOptions = {}) {
    this.adapter = adapter;
    this.url = adapter.connectUrl(baseUrl);
    this.logUrl = urlForLogs(this.url);
    this.handler = handler;
    this.events = events;
    const jitter = options.backoffJitter === 'equal' ? Jitter.EQUAL : Jitter.FULL;
    this.backoff = new JitteredBackoff(options.backoffBaseMs ?? 500, options.backoffMaxMs ?? 30_000, jitter, options.random ?? Math.random);
    this.staleAfterMs = options.staleAfterMs ?? 60_000;
    // Node fires a timer longer than 2^31 − 1 ms at once: venues allowing longer connections rotate at that age.
    this.rotateAfterMs = Math.min(MAX_TIMER_MS, Math.max(1_000, adapter.capabilities.maxConnectionAgeMs - (options.rotateMarginMs ?? 600_000)));
    this.circuitAfterFailures = options.circuitAfterFailures ?? 10;
    this.circuitCooldownMs = options.circuitCooldownMs ?? 300_000;
  }

  /** Connect, and keep connected until `stop()`. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  /** Close the connection and every timer; no reconnect follows. */
  stop(): void {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    this.retire();
    this.dropSocket();
    this.report('stopped');
  }

  /**
   * A live change: `build` changes the adapter's subscriptions and returns
   * the requests that apply them; they are sent now (paced) when connected,
   * else the next connect's `subscribeRequests` already carry the change.
   */
  request(build: (nextId: () => number) => ClientRequest[]): void {
    const requests = build(() => this.nextRequestId++);
    if (this.ws !== undefined && this.ws.readyState === WebSocket.OPEN && requests.length > 0) this.sendPaced(requests);
  }

  /**
   * Make before break, for planned reconnects (rotation, the venue's shutdown
   * notice): open and subscribe a new connection while the old one keeps
   * delivering, and close the old one once the new one delivers data (or
   * after `HANDOVER_DEADLINE_MS`). Trade-id de-duplication absorbs the overlap,
   * so no trade is lost to the handover.
   */
  handover(reason: string): void {
    if (!this.running || this.retiring !== undefined || this.ws === undefined) return;
    this.events.onError?.(reason);
    this.events.onLog?.({ level: 'info', event: 'feed.handover', msg: `new connection to ${this.logUrl} before closing the old one: ${reason}`, fields: { url: this.logUrl, reason } });
    this.clearTimers();
    this.retiring = this.ws;
    this.ws = undefined;
    this.retireTimer = setTimeout(() => this.retire(), HANDOVER_DEADLINE_MS);
    this.retireTimer.unref();
    this.reconnects++;
    this.connect();
  }

  /** Drop the current connection and reconnect at once (a dead connection). */
  reconnectNow(reason: string): void {
    if (!this.running) return;
    this.events.onError?.(reason);
    this.events.onLog?.({ level: 'warn', event: 'feed.reconnecting', msg: `reconnecting to ${this.logUrl} at once: ${reason}`, fields: { url: this.logUrl, reason } });
    this.dropSocket();
    if (this.retiring === undefined) this.report('reconnecting');
    this.backoff.reset();
    this.scheduleReconnect(0, false);
  }

  private connect(): void {
    // During a handover the old connection still delivers: no state change until the new one is up.
    if (this.retiring === undefined) this.report(this.reconnects === 0 && this.frames === 0 ? 'connecting' : 'reconnecting');
    this.gotData = false;
    this.failure = undefined;
    this.errorFramesLogged = 0;
    this.attempts++;
    this.pendingAcks.clear();
    // UTF-8 is checked in 'message' below, not by ws: ws would fail the whole connection (1007) on one bad frame.
    let opened = false; // this socket opened (and 'connected' was reported for it)
    const ws = new WebSocket(this.url, { handshakeTimeout: 10_000, perMessageDeflate: false, skipUTF8Validation: true });
    this.ws = ws;
    ws.on('open', () => {
      if (this.ws !== ws) return;
      this.lastAliveAt = nowMs();
      opened = true;
      this.events.onLog?.({ level: 'info', event: 'feed.connected', msg: `connected to ${this.logUrl}${this.attempts > 1 ? ` (attempt ${this.attempts})` : ''}`, fields: { url: this.logUrl, attempt: this.attempts } });
      this.report('connected');
      this.sendPaced(this.adapter.subscribeRequests(() => this.nextRequestId++));
      this.armHeartbeat();
      this.armStaleTimer();
      this.rotateTimer = setTimeout(() => this.handover('rotating connection before the venue’s maximum age'), this.rotateAfterMs);
      this.rotateTimer.unref();
    });
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws && this.retiring !== ws) return;
      this.onMessage(ws, isBinary ? data : isUtf8(data as Buffer) ? data.toString() : NOT_UTF8);
    });
    ws.on('ping', () => {
      this.lastAliveAt = nowMs();
    });
    ws.on('error', (err) => {
      // The cause (DNS, TCP, TLS, the upgrade's HTTP status); the 'close' that follows reports it.
      if (this.ws === ws) this.failure = describeConnectFailure(err);
    });
    ws.on('close', (code, reason) => {
      if (this.retiring === ws) {
        this.retire();
        return;
      }
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.clearTimers();
      if (!this.running) return;
      // Down from now, not from the reconnect attempt after the backoff: the owner bounds the outage by it.
      // (A handover's new socket failing before it opens is no drop: the old one delivers on.)
      if (opened) this.report('reconnecting');
      const closeText = `${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}`;
      const failure = this.failure;
      this.failure = undefined;
      const message = failure === undefined ? `connection closed (${closeText})` : `connection failed: ${failure.cause} (close ${closeText})`;
      this.events.onError?.(message);
      this.events.onLog?.({
        level: 'warn',
        event: 'feed.disconnected',
        msg: message,
        fields: { url: this.logUrl, closeCode: code, closeReason: reason.toString(), ...failure?.fields, hadData: this.gotData },
      });
      if (!this.gotData) this.failures++; // (an ACK on this connection already reset the count)
      if (this.failures >= this.circuitAfterFailures) {
        // Circuit breaker: stop hammering a venue that keeps failing; one try per cool-down (half-open).
        const circuit = `circuit open after ${this.failures} failed connections (last: ${message}); next try in ${Math.round(this.circuitCooldownMs / 1000)} s`;
        this.report('circuit_open');
        this.events.onError?.(circuit);
        this.events.onLog?.({ level: 'error', event: 'feed.circuit_open', msg: circuit, fields: { url: this.logUrl, failures: this.failures, retryInMs: this.circuitCooldownMs } });
        this.scheduleReconnect(this.circuitCooldownMs, false);
        return;
      }
      this.scheduleReconnect(this.backoff.next());
    });
  }

  private onMessage(socket: WebSocket, data: unknown): void {
    const recvTs = this.readClock.now(); // the socket read's time: one clock read per read, not per frame
    this.frames++;
    this.lastFrameAt = recvTs;
    this.lastAliveAt = recvTs;
    if (typeof data !== 'string') {
      this.parseErrors++;
      this.events.onError?.(data === NOT_UTF8 ? 'text frame that is not UTF-8' : 'binary frame from a text protocol');
      this.events.onFrame?.(FrameKind.MALFORMED, recvTs);
      return;
    }
    this.events.onReceive?.(recvTs);
    let kind: FrameKind;
    let threw: string | undefined;
    try {
      kind = this.adapter.parse(data, this.handler);
    } catch (err) {
      // parse never throws by contract; an adapter plugin's that does costs one frame, not the worker.
      kind = FrameKind.MALFORMED;
      threw = `parse threw: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300);
    }
    switch (kind) {
      case FrameKind.DATA:
        if (!this.gotData && socket === this.ws) {
          this.gotData = true;
          this.attempts = 0;
          this.backoff.reset(); // a healthy connection: the next failure starts the backoff afresh
          this.failures = 0; // and the circuit closes
          if (this.retiring !== undefined) this.retire(); // the new connection delivers: the old one may go
        }
        break;
      case FrameKind.ACK:
        this.pendingAcks.delete(this.adapter.ackId);
        // An acknowledged subscription is a working connection even where the market is quiet.
        if (socket === this.ws) this.failures = 0;
        if (this.afterAck !== undefined && this.afterAck.id === this.adapter.ackId && socket === this.ws) this.afterAck.next();
        break;
      case FrameKind.ERROR:
        this.pendingAcks.delete(this.adapter.ackId);
        this.events.onError?.(this.adapter.error);
        // The venue refused something (a subscription, a login): logged, at most ERROR_FRAMES_LOGGED per connection.
        if (this.errorFramesLogged++ < ERROR_FRAMES_LOGGED) {
          this.events.onLog?.({ level: 'warn', event: 'feed.venue_error', msg: `the venue answered with an error: ${this.adapter.error}`, fields: { url: this.logUrl, error: this.adapter.error } });
        }
        break;
      case FrameKind.MALFORMED:
        this.parseErrors++;
        this.events.onError?.(threw ?? this.adapter.error);
        break;
      case FrameKind.SHUTDOWN:
        this.events.onFrame?.(kind, recvTs);
        this.handover('venue announced a shutdown');
        return;
    }
    this.events.onFrame?.(kind, recvTs);
  }

  /**
   * Send requests no faster than the venue allows (one slot kept for its
   * pings/pongs). A request marked `awaitAck` holds the rest back until its
   * ACK arrives (an ERROR instead leaves them unsent: the venue refused).
   */
  private sendPaced(requests: ClientRequest[]): void {
    const perSecond = Math.max(1, this.adapter.capabilities.maxMessagesPerSecond - 1);
    const gapMs = Math.ceil(1000 / perSecond);
    const ws = this.ws;
    let i = 0;
    const sendNext = () => {
      this.afterAck = undefined;
      if (this.ws !== ws || ws === undefined || ws.readyState !== WebSocket.OPEN || i >= requests.length) return;
      const r = requests[i++]!;
      this.pendingAcks.add(r.id);
      ws.send(r.text);
      if (i >= requests.length) return;
      if (r.awaitAck === true) {
        this.afterAck = { id: r.id, next: sendNext };
        return;
      }
      this.paceTimer = setTimeout(sendNext, gapMs);
      this.paceTimer.unref();
    };
    sendNext();
  }

  /** Send the client heartbeat every interval while connected (venues that do not ping). */
  /** Tell the owner the connection's state, once per change. */
  private report(state: ConnectionState): void {
    if (state === this.reported) return;
    this.reported = state;
    this.events.onState?.(state);
  }

  private armHeartbeat(): void {
    const hb = this.adapter.heartbeat;
    const ws = this.ws;
    if (hb === undefined || ws === undefined) return;
    this.heartbeatTimer = setInterval(() => {
      if (this.ws === ws && ws.readyState === WebSocket.OPEN) ws.send(hb.text);
    }, hb.intervalMs);
    this.heartbeatTimer.unref();
  }

  private armStaleTimer(): void {
    const check = () => {
      if (nowMs() - this.lastAliveAt > this.staleAfterMs) {
        this.reconnectNow(`no frame or ping for ${this.staleAfterMs} ms`);
        return;
      }
      this.staleTimer = setTimeout(check, Math.min(this.staleAfterMs, 5_000));
      this.staleTimer.unref();
    };
    this.staleTimer = setTimeout(check, Math.min(this.staleAfterMs, 5_000));
    this.staleTimer.unref();
  }

  /** Reconnect after `delayMs`; `announce` logs the attempt (the circuit and reconnectNow log their own). */
  private scheduleReconnect(delayMs: number, announce = true): void {
    clearTimeout(this.reconnectTimer);
    if (announce) {
      this.events.onLog?.({ level: 'info', event: 'feed.reconnecting', msg: `reconnecting to ${this.logUrl} in ${Math.round(delayMs)} ms (attempt ${this.attempts + 1})`, fields: { url: this.logUrl, delayMs: Math.round(delayMs), attempt: this.attempts + 1 } });
    }
    this.reconnectTimer = setTimeout(() => {
      if (!this.running) return;
      this.reconnects++;
      this.connect();
    }, delayMs);
  }

  /** Close the connection being replaced, if any. */
  private retire(): void {
    clearTimeout(this.retireTimer);
    const ws = this.retiring;
    this.retiring = undefined;
    if (ws !== undefined) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
    }
  }

  private dropSocket(): void {
    this.clearTimers();
    const ws = this.ws;
    this.ws = undefined;
    if (ws !== undefined) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
    }
  }

  private clearTimers(): void {
    clearTimeout(this.staleTimer);
    clearTimeout(this.rotateTimer);
    clearTimeout(this.paceTimer);
    clearInterval(this.heartbeatTimer);
    this.afterAck = undefined;
  }
}
