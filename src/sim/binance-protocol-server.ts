/**
 * A local WebSocket server that speaks the Binance spot market-stream
 * protocol: tickwire's offline "simulated" exchange, and the fake Binance the
 * integration tests replay recorded frames through. It carries what it is
 * told to (`publish`, `sendRaw`); it makes no market data itself.
 *
 * Protocol facts implemented (../shared/fixtures/binance-spot/protocol.md,
 * control.jsonl, doc_frames.jsonl):
 * - Combined streams only: `/stream?streams=a/b/c` (pre-subscribed) or
 *   `/stream`; every payload goes out as `{"stream":"<name>","data":<payload>}`.
 *   Any other path answers HTTP 404. Stream names match exactly (lowercase
 *   symbol, camelCase channel: `btcusdt@bookTicker`).
 * - Requests `{"method","params","id"}`: SUBSCRIBE / UNSUBSCRIBE →
 *   `{"result":null,"id"}`, LIST_SUBSCRIPTIONS → `{"result":[...],"id"}`,
 *   SET_PROPERTY / GET_PROPERTY `combined` (false → bare payloads).
 *   `id` is a safe integer, an alphanumeric string of ≤ 36 chars, or null.
 * - Errors as in the docs' table: code 3 invalid JSON, code 2 invalid request,
 *   code 1 bad value type, code 0 unknown property; the request's `id` is
 *   echoed when it could be read.
 * - At most 1024 streams per connection: a SUBSCRIBE past it is refused with
 *   code 2 "too many parameters" (Binance's exact reply is undocumented) and a
 *   URL with more streams answers HTTP 400.
 * - At most 5 incoming messages per second, else the connection is closed
 *   (1008). Only text messages count here; Binance also counts ping/pong frames.
 * - A ping frame every 20 s; a client that has not answered with a pong
 *   carrying a pending ping's payload within 60 s is dropped (unsolicited
 *   pongs are accepted but keep no one alive).
 * - `shutdown()`: the `serverShutdown` event, then a close (1001).
 * - REST: `GET /api/v3/exchangeInfo` lists the symbols given to `list()` as
 *   `{"symbols":[{"symbol","status":"TRADING",...}]}` (the venue symbol list
 *   tickwire checks live additions against); no other REST route.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { InvalidParameterError } from '../errors.ts';

export interface BinanceProtocolServerOptions {
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: ephemeral). A restarted server reuses the port it had. */
  port?: number;
  /** Server ping period (default 20,000 ms, as Binance). */
  pingIntervalMs?: number;
  /** A ping unanswered this long drops the client (default 60,000 ms). */
  pongTimeoutMs?: number;
  /** Text messages per second per connection before it is closed (default 5; 0 = no limit). */
  maxIncomingPerSecond?: number;
  /** Streams per connection (default 1024). */
  maxStreamsPerConnection?: number;
  /** A client whose unsent backlog passes this many bytes is dropped as a slow consumer (default 16 MiB). */
  maxBufferedBytes?: number;
  /** Most recent client messages kept in `received` (default 10,000). */
  keepReceived?: number;
}

/** What a test sees of one accepted connection. */
export interface ClientInfo {
  /** 1, 2, … in order of acceptance since `start()`. */
  readonly id: number;
  /** The request URL, e.g. `/stream?streams=btcusdt@trade`. */
  readonly url: string;
  /** Streams given in the URL. */
  readonly streams: readonly string[];
}

/** Events of `BinanceProtocolServer` (all informational; tests may `once` them). */
export interface BinanceProtocolServerEvents {
  connection: [client: ClientInfo];
  subscribe: [streams: string[], clientId: number];
  unsubscribe: [streams: string[], clientId: number];
  message: [text: string, clientId: number];
  close: [clientId: number, code: number];
}

const METHODS = ['SUBSCRIBE', 'UNSUBSCRIBE', 'LIST_SUBSCRIPTIONS', 'SET_PROPERTY', 'GET_PROPERTY'] as const;
const UNKNOWN_VARIANT_TAIL = `expected one of ${METHODS.map((m) => `\`${m}\``).join(', ')}`;
const ID_STRING = /^[A-Za-z0-9]{1,36}$/;
const CLOSE_POLICY = 1008;
const CLOSE_GOING_AWAY = 1001;

type RequestId = number | string | null;

/** Per-connection state. */
class Client {
  readonly streams = new Set<string>();
  combined = true;
  windowStart = 0;
  windowCount = 0;
  /** Payloads of pings not yet answered; the first one armed `pongTimer`. */
  pendingPings: string[] = [];
  pongTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    /** The TCP socket under `ws` (for `sendBurst`). */
    readonly socket: Duplex,
  ) {}
}

/** A fake Binance spot market-stream server on a real loopback socket. */
export class BinanceProtocolServer extends EventEmitter<BinanceProtocolServerEvents> {
  /** Every text message clients sent since `start()` (the last `keepReceived`). */
  readonly received: string[] = [];

  readonly #host: string;
  #port: number;
  readonly #pingIntervalMs: number;
  readonly #pongTimeoutMs: number;
  readonly #maxIncoming: number;
  readonly #maxStreams: number;
  readonly #maxBuffered: number;
  readonly #keepReceived: number;

  #http: Server | undefined;
  #wss: WebSocketServer | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #pingSeq = 0;
  #connectionCount = 0;
  readonly #clients = new Set<Client>();
  readonly #byStream = new Map<string, Set<Client>>();
  readonly #waiters = new Set<() => void>();
  /** What `GET /api/v3/exchangeInfo` lists. */
  readonly #listed = new Set<string>();

  constructor(options: BinanceProtocolServerOptions = {}) {
    super();
    this.#host = options.host ?? '127.0.0.1';
    this.#port = nonNegativeInt('port', options.port, 0);
    this.#pingIntervalMs = positiveInt('pingIntervalMs', options.pingIntervalMs, 20_000);
    this.#pongTimeoutMs = positiveInt('pongTimeoutMs', options.pongTimeoutMs, 60_000);
    this.#maxIncoming = nonNegativeInt('maxIncomingPerSecond', options.maxIncomingPerSecond, 5);
    this.#maxStreams = positiveInt('maxStreamsPerConnection', options.maxStreamsPerConnection, 1024);
    this.#maxBuffered = positiveInt('maxBufferedBytes', options.maxBufferedBytes, 16 << 20);
    this.#keepReceived = positiveInt('keepReceived', options.keepReceived, 10_000);
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────

  /** Listen; resolves with the port and `ws://host:port` base URL. */
  async start(): Promise<{ port: number; url: string }> {
    if (this.#http !== undefined) throw new Error('BinanceProtocolServer already started');
    // Room for 1024 stream names in the URL (Node's default header limit is 16 KiB).
    const http = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
      if (req.method === 'GET' && pathOf(req) === '/api/v3/exchangeInfo') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(this.#exchangeInfo());
        return;
      }
      const status = pathOf(req) === '/stream' ? 426 : 404;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 426 ? 'Upgrade Required' : 'Not Found');
    });
    const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: 1 << 20 });
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.#upgrade(wss, req, socket, head));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(this.#port, this.#host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    this.#http = http;
    this.#wss = wss;
    this.#port = (http.address() as AddressInfo).port;
    this.#connectionCount = 0;
    this.received.length = 0;
    this.#pingTimer = setInterval(() => this.#pingAll(), this.#pingIntervalMs).unref();
    return { port: this.#port, url: this.url };
  }

  /** Terminate every client, close the listener; leaves no handles. Pending `waitFor`s reject. */
  async stop(): Promise<void> {
    const http = this.#http;
    if (http === undefined) return;
    this.#http = undefined;
    clearInterval(this.#pingTimer);
    for (const c of this.#clients) c.ws.terminate();
    this.#wss?.close();
    this.#wss = undefined;
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
    for (const c of [...this.#clients]) this.#forget(c, 1006);
    for (const wake of [...this.#waiters]) wake();
  }

  /** `ws://host:port` once started. */
  get url(): string {
    return `ws://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  /** `http://host:port`: the REST base URL (`GET /api/v3/exchangeInfo`) once started. */
  get restUrl(): string {
    return this.url.replace(/^ws:/, 'http:');
  }

  /** Add `symbols` to what `GET /api/v3/exchangeInfo` lists. */
  list(symbols: Iterable<string>): void {
    for (const s of symbols) this.#listed.add(s);
  }

  /** Take `symbols` off the list (a venue delisting them). */
  delist(symbols: Iterable<string>): void {
    for (const s of symbols) this.#listed.delete(s);
  }

  #exchangeInfo(): string {
    const symbols = [...this.#listed].map((symbol) => ({ symbol, status: 'TRADING', baseAsset: symbol, quoteAsset: '' }));
    return JSON.stringify({ timezone: 'UTC', serverTime: Date.now(), rateLimits: [], exchangeFilters: [], symbols });
  }

  /** The bound port (the configured one before the first `start()`). */
  get port(): number {
    return this.#port;
  }

  // ── sending ────────────────────────────────────────────────────────────────

  /**
   * Send `{"stream":stream,"data":data}` to every client subscribed to
   * `stream`; a string `data` is inserted verbatim (recorded bytes kept).
   * Returns the number of clients sent to.
   */
  publish(stream: string, data: object | string): number {
    const subscribers = this.#byStream.get(stream);
    if (subscribers === undefined) return 0;
    const payload = typeof data === 'string' ? data : JSON.stringify(data);
    let combined: string | undefined;
    let sent = 0;
    for (const c of subscribers) {
      const text = c.combined ? (combined ??= `{"stream":${JSON.stringify(stream)},"data":${payload}}`) : payload;
      if (this.#send(c, text)) sent++;
    }
    return sent;
  }

  /** Send `text` verbatim to every client (whole recorded frames, malformed ones too); returns the count. */
  sendRaw(text: string): number {
    let sent = 0;
    for (const c of this.#clients) if (this.#send(c, text)) sent++;
    return sent;
  }

  /**
   * Send `texts` verbatim to every client as one burst: each client's frames
   * leave in one TCP write (its socket corked meanwhile), so a client reads
   * them together, as a venue's busy second arrives. Returns the clients sent to.
   */
  sendBurst(texts: readonly string[]): number {
    let sent = 0;
    for (const c of this.#clients) {
      c.socket.cork();
      let ok = true;
      for (const text of texts) if (!(ok = this.#send(c, text))) break;
      c.socket.uncork();
      if (ok) sent++;
    }
    return sent;
  }

  /**
   * Run `sends` (calls of `publish`, `sendRaw`, …) with every client's socket
   * corked, so what they send each client leaves in one TCP write, as a busy
   * venue's frames of one moment share a segment.
   */
  corked(sends: () => void): void {
    const sockets = [...this.#clients].map((c) => c.socket);
    for (const s of sockets) s.cork();
    try {
      sends();
    } finally {
      for (const s of sockets) s.uncork();
    }
  }

  /** True when some client is subscribed to `stream` (lets producers stay idle). */
  hasSubscribers(stream: string): boolean {
    return this.#byStream.has(stream);
  }

  // ── faults ─────────────────────────────────────────────────────────────────

  /**
   * Drop every client abruptly: without `code` the TCP connection is just
   * destroyed (clients see 1006); with `code` a close frame carrying it goes
   * first, without waiting for the client's reply. Returns the count.
   */
  dropConnections(code?: number): number {
    let n = 0;
    for (const c of this.#clients) {
      if (code !== undefined && c.ws.readyState === WebSocket.OPEN) c.ws.close(code);
      c.ws.terminate();
      n++;
    }
    return n;
  }

  /**
   * Send `{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":now}}`
   * to every client, then close each normally (1001). New connections are
   * still accepted (a reconnect lands here again). Returns the count.
   */
  shutdown(): number {
    const data = `{"e":"serverShutdown","E":${Date.now()}}`;
    const frame = `{"stream":"!serverShutdown","data":${data}}`;
    let n = 0;
    for (const c of this.#clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      c.ws.send(c.combined ? frame : data);
      c.ws.close(CLOSE_GOING_AWAY, 'server shutdown');
      n++;
    }
    return n;
  }

  // ── observability ──────────────────────────────────────────────────────────

  /** Live connections. */
  get connections(): number {
    return this.#clients.size;
  }

  /** Connections accepted since `start()`. */
  get connectionCount(): number {
    return this.#connectionCount;
  }

  /** The subscribed streams of each live client, in order of connection. */
  subscriptions(): string[][] {
    return [...this.#clients].map((c) => [...c.streams]);
  }

  /**
   * Resolve once `predicate()` holds, checked now and after every connection,
   * message, subscription change and close; reject after `timeoutMs`.
   */
  waitFor(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (predicate()) return resolve();
      const check = (): void => {
        if (predicate()) {
          finish();
          resolve();
        } else if (this.#http === undefined) {
          finish();
          reject(new Error('BinanceProtocolServer stopped while waiting'));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`waitFor: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
    });
  }

  // ── connection handling ────────────────────────────────────────────────────

  #upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', noop);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/stream') return refuseUpgrade(socket, 404, 'Not Found');
    const streams = [...new Set((url.searchParams.get('streams') ?? '').split('/').filter((s) => s !== ''))];
    if (streams.length > this.#maxStreams) return refuseUpgrade(socket, 400, 'Bad Request');
    wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, socket, req.url ?? '/', streams));
  }

  #accept(ws: WebSocket, socket: Duplex, url: string, streams: string[]): void {
    if (this.#http === undefined) {
      ws.terminate();
      return;
    }
    const c = new Client(++this.#connectionCount, ws, socket);
    this.#clients.add(c);
    for (const s of streams) this.#addStream(c, s);
    ws.on('message', (data) => this.#onMessage(c, data));
    ws.on('pong', (payload) => this.#onPong(c, payload));
    ws.on('close', (code) => this.#forget(c, code));
    ws.on('error', noop); // every error ends in 'close'
    this.emit('connection', { id: c.id, url, streams });
    this.#changed();
  }

  #forget(c: Client, code: number): void {
    if (!this.#clients.delete(c)) return;
    clearTimeout(c.pongTimer);
    for (const s of c.streams) this.#removeStream(c, s);
    this.emit('close', c.id, code);
    this.#changed();
  }

  #onMessage(c: Client, data: RawData): void {
    if (c.ws.readyState !== WebSocket.OPEN) return;
    const text = textOf(data); // binary frames are read as UTF-8 too
    this.received.push(text);
    if (this.received.length > 2 * this.#keepReceived) this.received.splice(0, this.received.length - this.#keepReceived);
    this.emit('message', text, c.id);
    if (this.#maxIncoming > 0) {
      const now = Date.now();
      if (now - c.windowStart >= 1000) {
        c.windowStart = now;
        c.windowCount = 0;
      }
      if (++c.windowCount > this.#maxIncoming) {
        c.ws.close(CLOSE_POLICY, 'Too many requests');
        this.#changed();
        return;
      }
    }
    this.#request(c, text);
    this.#changed();
  }

  /** Answer one client request (shapes and messages as in control.jsonl). */
  #request(c: Client, text: string): void {
    let req: unknown;
    try {
      req = JSON.parse(text);
    } catch (err) {
      return this.#error(c, 3, `Invalid JSON: ${(err as Error).message}`, undefined);
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      return this.#error(c, 2, 'Invalid request: expected a JSON object', undefined);
    }
    const r = req as Record<string, unknown>;
    const id = validId(r['id']) ? (r['id'] as RequestId) : undefined;
    const method = r['method'];
    if (method === undefined) return this.#error(c, 2, 'Invalid request: missing field `method`', id);
    if (typeof method !== 'string' || !(METHODS as readonly string[]).includes(method)) {
      return this.#error(c, 2, `Invalid request: unknown variant \`${String(method)}\`, ${UNKNOWN_VARIANT_TAIL}`, id);
    }
    if (id === undefined) return this.#error(c, 2, 'Invalid request: request ID must be an unsigned integer', undefined);
    const params = r['params'];

    switch (method) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        if (params === undefined) return this.#error(c, 2, 'Invalid request: missing field `params`', id);
        if (!Array.isArray(params) || !params.every((p) => typeof p === 'string' && p !== '')) {
          return this.#error(c, 2, 'Invalid request: params must be an array of stream names', id);
        }
        const streams = params as string[];
        if (method === 'SUBSCRIBE') {
          const added = new Set(streams.filter((s) => !c.streams.has(s)));
          if (c.streams.size + added.size > this.#maxStreams) return this.#error(c, 2, 'Invalid request: too many parameters', id);
          for (const s of added) this.#addStream(c, s);
          this.#reply(c, { result: null, id });
          this.emit('subscribe', streams, c.id);
        } else {
          for (const s of streams) if (c.streams.has(s)) this.#removeStream(c, s);
          this.#reply(c, { result: null, id });
          this.emit('unsubscribe', streams, c.id);
        }
        return;
      }
      case 'LIST_SUBSCRIPTIONS':
        if (params !== undefined && !(Array.isArray(params) && params.length === 0)) {
          return this.#error(c, 2, 'Invalid request: too many parameters', id);
        }
        return this.#reply(c, { result: [...c.streams], id });
      case 'SET_PROPERTY':
      case 'GET_PROPERTY': {
        const want = method === 'SET_PROPERTY' ? 2 : 1;
        if (!Array.isArray(params) || params.length < want) {
          return this.#error(c, 2, 'Invalid request: property name must be a string', id);
        }
        if (params.length > want) return this.#error(c, 2, 'Invalid request: too many parameters', id);
        if (typeof params[0] !== 'string') return this.#error(c, 2, 'Invalid request: property name must be a string', id);
        if (params[0] !== 'combined') return this.#error(c, 0, 'Unknown property', id);
        if (method === 'GET_PROPERTY') return this.#reply(c, { result: c.combined, id });
        if (typeof params[1] !== 'boolean') return this.#error(c, 1, 'Invalid value type: expected Boolean', id);
        c.combined = params[1];
        return this.#reply(c, { result: null, id });
      }
    }
  }

  #error(c: Client, code: number, msg: string, id: RequestId | undefined): void {
    this.#reply(c, id === undefined ? { code, msg } : { code, msg, id });
  }

  #reply(c: Client, body: object): void {
    this.#send(c, JSON.stringify(body));
  }

  /** Send to one open client; a client past `maxBufferedBytes` is dropped instead. */
  #send(c: Client, text: string): boolean {
    if (c.ws.readyState !== WebSocket.OPEN) return false;
    if (c.ws.bufferedAmount > this.#maxBuffered) {
      c.ws.terminate();
      return false;
    }
    c.ws.send(text);
    return true;
  }

  #addStream(c: Client, stream: string): void {
    c.streams.add(stream);
    let set = this.#byStream.get(stream);
    if (set === undefined) this.#byStream.set(stream, (set = new Set()));
    set.add(c);
  }

  #removeStream(c: Client, stream: string): void {
    c.streams.delete(stream);
    const set = this.#byStream.get(stream);
    if (set === undefined) return;
    set.delete(c);
    if (set.size === 0) this.#byStream.delete(stream);
  }

  // ── heartbeat ──────────────────────────────────────────────────────────────

  #pingAll(): void {
    for (const c of this.#clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      const payload = String(++this.#pingSeq);
      c.pendingPings.push(payload);
      if (c.pendingPings.length > 64) c.pendingPings.shift();
      c.ws.ping(payload);
      c.pongTimer ??= setTimeout(() => c.ws.terminate(), this.#pongTimeoutMs).unref();
    }
  }

  #onPong(c: Client, payload: Buffer): void {
    if (!c.pendingPings.includes(payload.toString('utf8'))) return; // unsolicited: keeps no one alive
    c.pendingPings.length = 0;
    clearTimeout(c.pongTimer);
    c.pongTimer = undefined;
  }

  #changed(): void {
    for (const check of [...this.#waiters]) check();
  }
}

// ── helpers ──────────────────────────────────────────────────────────────────

function validId(id: unknown): boolean {
  return id === null || Number.isSafeInteger(id) || (typeof id === 'string' && ID_STRING.test(id));
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://localhost').pathname;
}

/** Answer a failed upgrade with a plain HTTP status and close the socket. */
function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${reason.length}\r\n\r\n${reason}`);
}

function textOf(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}

function noop(): void {}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidParameterError(name, value, 'a positive integer');
  return value;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidParameterError(name, value, 'an integer >= 0');
  return value;
}
