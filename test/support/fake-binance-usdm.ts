/**
 * A fake Binance USDⓈ-M futures market-stream server for integration tests:
 * a `ws` server on 127.0.0.1 (ephemeral port) speaking what
 * ../shared/fixtures/binance-usdm/protocol.md records. It makes no market
 * data: tests hand it recorded combined frames, which it sends verbatim.
 *
 * - Routed combined endpoints `/public/stream` and `/market/stream`
 *   (optionally `?streams=a/b`); the retired unrouted `/stream` is still
 *   accepted but, as Binance does since 2026-04-23, delivers public streams
 *   only. Anything else is refused with HTTP 404.
 * - A stream is delivered only on its route: `@bookTicker`, `@depth*` and
 *   `@trade` on /public; everything else (`@aggTrade`, `@kline_*`,
 *   `@markPrice`, ...) on /market. A stream subscribed on the wrong route is
 *   acknowledged and stays silent — the failure mode reported after the split.
 * - Requests `{"method","params","id"}`: SUBSCRIBE / UNSUBSCRIBE →
 *   `{"result":null,"id"}`; LIST_SUBSCRIPTIONS; GET_PROPERTY `combined` →
 *   `{"result":true,"id"}`. Errors as in the documented table: code 3 invalid
 *   JSON, code 2 invalid request (incl. "too many parameters" past
 *   `maxStreamsPerConnection`), code 0 unknown property.
 * - More than `maxIncomingPerSecond` messages in a second closes the
 *   connection (1008).
 * - A ping frame every `pingIntervalMs` (Binance: 3 min); a ping unanswered
 *   for `pongTimeoutMs` (Binance: 10 min) drops the client.
 */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface FakeBinanceUsdmOptions {
  /** Server ping period (default 180 000 ms, as Binance). */
  pingIntervalMs?: number;
  /** A ping unanswered this long drops the client (default 600 000 ms). */
  pongTimeoutMs?: number;
  /** Streams per connection (default 200). */
  maxStreamsPerConnection?: number;
  /** Text messages per second per connection before it is closed (default 10). */
  maxIncomingPerSecond?: number;
}

export type UsdmRoute = 'public' | 'market';

/** The route that serves `stream` (public: book tickers, depth, trades; market: the rest). */
export function routeOf(stream: string): UsdmRoute {
  return /@(?:bookTicker|depth[0-9a-z@]*|rpiDepth[0-9a-z@]*|trade)$/.test(stream) || stream === '!bookTicker' ? 'public' : 'market';
}

class Client {
  readonly streams = new Set<string>();
  windowStart = 0;
  windowCount = 0;
  pongTimer: NodeJS.Timeout | undefined;
  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    readonly path: string,
    readonly route: UsdmRoute,
  ) {}
}

export class FakeBinanceUsdm {
  /** Every text message clients sent, in order, with the connection it came on (1, 2, …). */
  readonly received: { client: number; text: string }[] = [];
  /** Connections accepted since start. */
  connectionCount = 0;
  /** Request paths of the connections, in order of acceptance. */
  readonly paths: string[] = [];
  /** Pings sent and pongs that answered one. */
  pings = 0;
  pongs = 0;

  private readonly pingIntervalMs: number;
  private readonly pongTimeoutMs: number;
  private readonly maxStreams: number;
  private readonly maxIncoming: number;
  private wss: WebSocketServer | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly clients = new Set<Client>();

  constructor(options: FakeBinanceUsdmOptions = {}) {
    this.pingIntervalMs = options.pingIntervalMs ?? 180_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 600_000;
    this.maxStreams = options.maxStreamsPerConnection ?? 200;
    this.maxIncoming = options.maxIncomingPerSecond ?? 10;
  }

  /** Listen on 127.0.0.1; resolves with the base URL (`ws://127.0.0.1:<port>`). */
  async start(): Promise<string> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: false,
      verifyClient: (info, done) => {
        const path = new URL(info.req.url ?? '/', 'http://localhost').pathname;
        if (path === '/public/stream' || path === '/market/stream' || path === '/stream') done(true);
        else done(false, 404, 'Not Found');
      },
    });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    wss.on('connection', (ws, req) => this.accept(ws, req.url ?? '/'));
    this.wss = wss;
    this.pingTimer = setInterval(() => this.pingAll(), this.pingIntervalMs);
    this.pingTimer.unref();
    return this.url;
  }

  /** Terminate every connection and close the listener. */
  async stop(): Promise<void> {
    clearInterval(this.pingTimer);
    const wss = this.wss;
    this.wss = undefined;
    for (const c of [...this.clients]) this.forget(c);
    if (wss === undefined) return;
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss!.address() as AddressInfo).port}`;
  }

  /** Live connections. */
  get connections(): number {
    return this.clients.size;
  }

  /** Streams of each live connection, in order of connection. */
  subscriptions(): string[][] {
    return [...this.clients].map((c) => [...c.streams]);
  }

  /** The parsed client requests with `method`, in order. */
  requests(method: string): { client: number; msg: { method: string; params?: unknown[]; id?: unknown } }[] {
    const out: { client: number; msg: { method: string; params?: unknown[]; id?: unknown } }[] = [];
    for (const r of this.received) {
      try {
        const msg = JSON.parse(r.text);
        if (msg?.method === method) out.push({ client: r.client, msg });
      } catch {
        // not JSON: not a request
      }
    }
    return out;
  }

  /**
   * Send a recorded combined frame (`{"stream":..,"data":..}`) verbatim to
   * every connection subscribed to its stream on the route that serves it.
   * Returns the number of connections it went to.
   */
  publishFrame(frame: string): number {
    const stream = (JSON.parse(frame) as { stream: string }).stream;
    const route = routeOf(stream);
    let n = 0;
    for (const c of this.clients) {
      if (!c.streams.has(stream) || c.route !== route || c.ws.readyState !== WebSocket.OPEN) continue;
      c.ws.send(frame);
      n++;
    }
    return n;
  }

  /** Send `text` verbatim to every connection (malformed frames too); returns the count. */
  sendRaw(text: string): number {
    let n = 0;
    for (const c of this.clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      c.ws.send(text);
      n++;
    }
    return n;
  }

  /** Close every connection from the server side: a close frame with `code`, or (no code) a dropped TCP connection. */
  dropConnections(code?: number): number {
    let n = 0;
    for (const c of [...this.clients]) {
      if (code !== undefined && c.ws.readyState === WebSocket.OPEN) c.ws.close(code, 'server closing');
      else c.ws.terminate();
      n++;
    }
    return n;
  }

  private accept(ws: WebSocket, url: string): void {
    const parsed = new URL(url, 'http://localhost');
    const route: UsdmRoute = parsed.pathname === '/market/stream' ? 'market' : 'public'; // unrouted: public only
    const c = new Client(++this.connectionCount, ws, parsed.pathname, route);
    this.paths.push(parsed.pathname);
    this.clients.add(c);
    for (const s of (parsed.searchParams.get('streams') ?? '').split('/')) if (s !== '') c.streams.add(s);
    ws.on('message', (data) => this.onMessage(c, data.toString()));
    ws.on('pong', () => {
      if (c.pongTimer === undefined) return; // unsolicited: keeps no one alive
      clearTimeout(c.pongTimer);
      c.pongTimer = undefined;
      this.pongs++;
    });
    ws.on('close', () => this.forget(c));
    ws.on('error', () => {});
  }

  private forget(c: Client): void {
    clearTimeout(c.pongTimer);
    this.clients.delete(c);
  }

  private pingAll(): void {
    for (const c of this.clients) {
      if (c.ws.readyState !== WebSocket.OPEN) continue;
      c.ws.ping(String(++this.pings));
      c.pongTimer ??= setTimeout(() => c.ws.terminate(), this.pongTimeoutMs);
      c.pongTimer.unref();
    }
  }

  private onMessage(c: Client, text: string): void {
    this.received.push({ client: c.id, text });
    const now = Date.now();
    if (now - c.windowStart >= 1000) {
      c.windowStart = now;
      c.windowCount = 0;
    }
    if (++c.windowCount > this.maxIncoming) {
      c.ws.close(1008, 'Too many requests');
      return;
    }
    let req: { method?: unknown; params?: unknown; id?: unknown };
    try {
      req = JSON.parse(text);
    } catch (err) {
      return this.reply(c, { code: 3, msg: `Invalid JSON: ${(err as Error).message}` });
    }
    const id = Number.isSafeInteger(req.id) && (req.id as number) >= 0 ? (req.id as number) : undefined;
    if (id === undefined) return this.reply(c, { code: 2, msg: 'Invalid request: request ID must be an unsigned integer' });
    const params = req.params;
    switch (req.method) {
      case 'SUBSCRIBE':
      case 'UNSUBSCRIBE': {
        if (!Array.isArray(params) || !params.every((p) => typeof p === 'string' && p !== '')) {
          return this.reply(c, { code: 2, msg: 'Invalid request: params must be an array of stream names', id });
        }
        if (req.method === 'SUBSCRIBE') {
          const added = params.filter((s) => !c.streams.has(s));
          if (c.streams.size + added.length > this.maxStreams) return this.reply(c, { code: 2, msg: 'Invalid request: too many parameters', id });
          for (const s of added) c.streams.add(s);
        } else {
          for (const s of params) c.streams.delete(s);
        }
        return this.reply(c, { result: null, id });
      }
      case 'LIST_SUBSCRIPTIONS':
        return this.reply(c, { result: [...c.streams], id });
      case 'GET_PROPERTY':
        if (!Array.isArray(params) || params[0] !== 'combined') return this.reply(c, { code: 0, msg: 'Unknown property', id });
        return this.reply(c, { result: true, id });
      default:
        return this.reply(c, { code: 2, msg: `Invalid request: unknown variant \`${String(req.method)}\``, id });
    }
  }

  private reply(c: Client, body: object): void {
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(body));
  }
}
