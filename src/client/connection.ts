/**
 * The client's one stream connection: its lifecycle (idle → connecting →
 * open → reconnecting … → closed), the heartbeat, and reconnecting after a
 * backoff (src/client/backoff.ts). It knows nothing of channels: the owner
 * is told through three hooks when the socket opens (re-subscribe, before
 * the state turns `open`), when a frame arrives, and when the connection is
 * lost or closed (forget what was in flight on it).
 *
 * Timers owned here: the reconnect delay, the open deadline and the
 * heartbeat. A connection attempt that fails before opening is retried
 * forever; only `close()`, or a runtime with no WebSocket implementation (or
 * no binary decoder), ends the client. An upgrade the server refused with a
 * status the runtime reveals (Node's `ws` does, browsers do not) is reported
 * on `error` as its code and named in the `reconnecting` state's `error`:
 * 401 UNAUTHORIZED, 429 RATE_LIMITED, 503 TOO_MANY_CONNECTIONS (the server at
 * its connection cap, or shutting down); each is retried with the backoff.
 */
import { ErrorCode, TickwireError } from '../errors.ts';
import type { StreamMessage } from '../wire/messages.ts';
import type { Backoff } from './backoff.ts';
import type { Emitter } from './emitter.ts';
import { OPEN, socketErrorText, socketFactory, type Endpoints, type SocketFactory, type WebSocketConstructor, type WebSocketLike } from './socket.ts';
import type { ClientEvents, ClientStats, ConnectionState, StateChange, StreamFormat } from './types.ts';

/** What the connection tells its owner. */
export interface ConnectionHooks {
  /** The socket opened: send the subscriptions again (the state is still `connecting`/`reconnecting`). */
  opened(): void;
  /** A frame arrived on the current socket (text or binary, undecoded). */
  frame(data: unknown): void;
  /** The connection is gone (lost or closed): requests, timers and windows on it are void. */
  lost(): void;
}

/** How to reach the server and how patiently. */
export interface ConnectionOptions {
  endpoints: Endpoints;
  token: string | undefined;
  format: StreamFormat;
  /** The WebSocket class given in the client options, if any. */
  webSocket: WebSocketConstructor | undefined;
  backoff: Backoff;
  /** Ping interval, ms; 0 turns the heartbeat off. */
  heartbeatMs: number;
  openTimeoutMs: number;
}

/** Reports an error to the client's `error` listeners, saying where it happened. */
export type Report = (err: unknown, where: string) => void;

const CLOSE_NORMAL = 1000;
/** The statuses a refused upgrade may carry, the error code each stands for, and what to say. */
const REFUSALS: readonly [RegExp, ErrorCode, string][] = [
  [/\b401\b/, ErrorCode.UNAUTHORIZED, 'the server refused the credentials'],
  [/\b429\b/, ErrorCode.RATE_LIMITED, 'the server refused the connection'],
  [/\b503\b/, ErrorCode.TOO_MANY_CONNECTIONS, 'the server refused the connection (at its connection limit, or shutting down; retrying with backoff)'],
];

/** Private-use close code: the client gave up on a silent connection. */
const CLOSE_HEARTBEAT = 4000;
const NOOP = (): void => {};

/** The socket lifecycle of one TickwireClient: open, heartbeat, reconnect, close. */
export class Connection {
  readonly #o: ConnectionOptions;
  readonly #hooks: ConnectionHooks;
  readonly #events: Emitter<ClientEvents>;
  readonly #stats: ClientStats;
  readonly #report: Report;

  #state: ConnectionState = 'idle';
  #ws: WebSocketLike | null = null;
  #factory: Promise<SocketFactory> | undefined;
  #decode: ((bytes: Uint8Array) => StreamMessage) | undefined;
  /** Why the current attempt's socket failed, as far as the runtime said. */
  #socketError = '';
  #opened = 0;
  #heard = true;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #openTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #openWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #closing: Promise<void> | undefined;

  /** Nothing opens before `start()` or `connect()`. */
  constructor(options: ConnectionOptions, hooks: ConnectionHooks, events: Emitter<ClientEvents>, stats: ClientStats, report: Report) {
    this.#o = options;
    this.#hooks = hooks;
    this.#events = events;
    this.#stats = stats;
    this.#report = report;
  }

  /** The connection's state now. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** A socket exists (open or opening): a request made now may have reached the server. */
  get hasSocket(): boolean {
    return this.#ws !== null;
  }

  /** The socket is open: `send()` reaches the server. */
  get writable(): boolean {
    return this.#ws !== null && this.#ws.readyState === OPEN;
  }

  /** The FlatBuffers decoder, loaded before the first `fbs` connection; undefined on a JSON stream. */
  get decode(): ((bytes: Uint8Array) => StreamMessage) | undefined {
    return this.#decode;
  }

  /** Send a text frame on the open socket (callers check `writable` first). */
  send(text: string): void {
    this.#ws!.send(text);
  }

  /** Resolves once open (starting the connection when idle); rejects if `close()` comes first. */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(closedError());
    if (this.#state === 'open') return Promise.resolve();
    const opened = new Promise<void>((resolve, reject) => this.#openWaiters.push({ resolve, reject }));
    if (this.#state === 'idle') this.start();
    return opened;
  }

  /** Begin connecting (from `idle`). */
  start(): void {
    this.#setState({ state: 'connecting' });
    void this.#attempt();
  }

  /** Close for good (no reconnect); resolves when the socket is closed. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#setState({ state: 'closed' });
    this.#clearTimers();
    clearTimeout(this.#reconnectTimer);
    for (const w of this.#openWaiters.splice(0)) w.reject(closedError());
    const ws = this.#ws;
    this.#ws = null;
    this.#hooks.lost();
    if (ws === null) return (this.#closing = Promise.resolve());
    this.#closing = new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(force);
        resolve();
      };
      // A peer that never answers the close handshake must not hold close() up.
      const force = setTimeout(() => {
        terminate(ws);
        resolve();
      }, 2000);
      ws.onopen = NOOP;
      ws.onmessage = NOOP;
      ws.onerror = NOOP;
      ws.onclose = done;
      ws.close(CLOSE_NORMAL, 'client closed');
    });
    return this.#closing;
  }

  async #attempt(): Promise<void> {
    this.#reconnectTimer = undefined;
    if (this.#state === 'closed') return;
    let factory: SocketFactory;
    try {
      this.#factory ??= socketFactory(this.#o.webSocket);
      factory = await this.#factory;
      if (this.#o.format === 'fbs' && this.#decode === undefined) this.#decode = (await import('../wire/fbs.ts')).decodeMessage;
    } catch (err) {
      // No WebSocket implementation (or no decoder): retrying will not help.
      this.#factory = undefined;
      this.#report(err, 'loading the WebSocket implementation');
      void this.close();
      return;
    }
    if (this.#closed()) return; // close() may have come while loading
    let ws: WebSocketLike;
    this.#socketError = '';
    try {
      ws = factory.open(this.#o.endpoints, this.#o.format, this.#o.token);
    } catch (err) {
      this.#report(err, 'opening the WebSocket');
      this.#retry(1006, (err as Error).message);
      return;
    }
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.#onOpen(ws);
    ws.onmessage = (ev) => this.#onMessage(ws, ev.data);
    ws.onerror = (ev) => {
      this.#socketError = socketErrorText(ev);
    };
    ws.onclose = (ev) => this.#onClose(ws, ev.code, ev.reason || this.#socketError);
    this.#openTimer = setTimeout(() => {
      if (this.#ws !== ws || ws.readyState === OPEN) return;
      terminate(ws);
      this.#onClose(ws, 1006, `not open after ${this.#o.openTimeoutMs} ms`);
    }, this.#o.openTimeoutMs);
  }

  #onOpen(ws: WebSocketLike): void {
    if (this.#ws !== ws) return;
    clearTimeout(this.#openTimer);
    if (this.#opened++ > 0) this.#stats.reconnects++;
    this.#o.backoff.reset();
    this.#heard = true;
    if (this.#o.heartbeatMs > 0) this.#heartbeat = setInterval(() => this.#beat(ws), this.#o.heartbeatMs);
    this.#hooks.opened();
    // After the re-subscribe: a listener that subscribes now must not be sent twice.
    this.#setState({ state: 'open' });
    for (const w of this.#openWaiters.splice(0)) w.resolve();
  }

  #onMessage(ws: WebSocketLike, data: unknown): void {
    if (this.#ws !== ws) return;
    this.#heard = true;
    this.#hooks.frame(data);
  }

  #onClose(ws: WebSocketLike, code: number, reason: string): void {
    if (this.#ws !== ws) return;
    ws.onopen = NOOP;
    ws.onmessage = NOOP;
    ws.onclose = NOOP;
    ws.onerror = NOOP; // `ws` throws an error event nobody listens to: keep a listener
    this.#ws = null;
    if (this.#state === 'closed') return;
    let error: ErrorCode | undefined;
    if (this.#state !== 'open') {
      // Refused before opening: tell what the runtime knows (browsers know nothing).
      const refusal = REFUSALS.find(([status]) => status.test(reason));
      if (refusal !== undefined) {
        error = refusal[1];
        this.#report(new TickwireError(error, `${refusal[2]}: ${reason}`), 'connecting');
      }
    }
    this.#retry(code, reason, error);
  }

  /** Forget the lost connection's requests and timers, then reconnect after a backoff. */
  #retry(code: number, reason: string, error?: ErrorCode): void {
    this.#clearTimers();
    this.#hooks.lost();
    if (this.#state === 'closed') return;
    const delayMs = this.#o.backoff.next();
    const change: StateChange = { state: 'reconnecting', attempt: this.#o.backoff.attempt, delayMs, code, reason };
    if (error !== undefined) change.error = error;
    this.#setState(change);
    this.#reconnectTimer = setTimeout(() => void this.#attempt(), delayMs);
  }

  #clearTimers(): void {
    clearTimeout(this.#openTimer);
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /** Heartbeat: nothing heard since the last ping means a dead connection (half-open TCP): drop it and reconnect. */
  #beat(ws: WebSocketLike): void {
    if (this.#ws !== ws) return;
    if (!this.#heard) {
      terminate(ws);
      this.#onClose(ws, CLOSE_HEARTBEAT, `no answer to a ping within ${this.#o.heartbeatMs} ms`);
      return;
    }
    this.#heard = false;
    ws.send('{"op":"ping","id":"heartbeat"}');
  }

  /** A method, not a field read, so TypeScript does not narrow the state across an await. */
  #closed(): boolean {
    return this.#state === 'closed';
  }

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.#events.emit('state', change);
  }
}

/** The error of any use of a closed client. */
export function closedError(): TickwireError {
  return new TickwireError(ErrorCode.INVALID_PARAMETER, 'the client is closed: create a new TickwireClient');
}

/** Close without the handshake where the implementation can (`ws`), else normally. */
function terminate(ws: WebSocketLike): void {
  const t = (ws as { terminate?: () => void }).terminate;
  if (typeof t === 'function') t.call(ws);
  else ws.close();
}
