/**
 * A fake Kraken spot WebSocket v2 on 127.0.0.1 (ephemeral port) for
 * integration tests. It speaks the documented v2 protocol
 * (../shared/fixtures/kraken/protocol.md):
 *  - a `status` frame on connect (the v2 status channel; shape from the docs,
 *    not among the fixtures);
 *  - subscribe requests answered one response per symbol, `req_id` echoed;
 *    pairs it does not list are refused with the documented failure shape
 *    ("Currency pair not supported …"); anything else is a "Malformed request";
 *  - `{"channel":"heartbeat"}` every `heartbeatMs` once a connection has a
 *    subscription; `{"method":"ping"}` answered with `pong`;
 *  - `send(frame)` pushes any text verbatim (recorded frames), `drop()` closes
 *    every connection from the server side.
 */
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeKrakenOptions {
  /** Pairs the venue lists (default: BTC/USD, ETH/USD, MATIC/USD, ALGO/USD). */
  pairs?: readonly string[];
  /** Heartbeat period once subscribed, ms (default 1000, as Kraken; 0: none). */
  heartbeatMs?: number;
}

const DEFAULT_PAIRS = ['BTC/USD', 'ETH/USD', 'MATIC/USD', 'ALGO/USD'];

export class FakeKraken {
  /** Base URL (the adapter adds `/v2`). */
  readonly url: string;
  /** Every client message, in arrival order, over all connections. */
  readonly received: string[] = [];
  /** Local arrival time of each of `received`, ms. */
  readonly receivedAt: number[] = [];
  /** Request path of each connection. */
  readonly paths: string[] = [];
  connections = 0;
  private readonly wss: WebSocketServer;
  private readonly pairs: Set<string>;
  private readonly heartbeatMs: number;
  private readonly sockets = new Set<WebSocket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(wss: WebSocketServer, options: FakeKrakenOptions) {
    this.wss = wss;
    this.url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    this.pairs = new Set(options.pairs ?? DEFAULT_PAIRS);
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    wss.on('connection', (socket, req) => this.accept(socket, req.url ?? ''));
  }

  static async start(options: FakeKrakenOptions = {}): Promise<FakeKraken> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return new FakeKraken(wss, options);
  }

  /** Client messages that parse as JSON with `method`. */
  requests(method = 'subscribe'): { method: string; params?: { channel: string; symbol: string[] }; req_id?: number }[] {
    return this.received.flatMap((text) => {
      try {
        const m = JSON.parse(text);
        return m?.method === method ? [m] : [];
      } catch {
        return [];
      }
    });
  }

  /** Push `frame` verbatim to every open connection. */
  send(frame: string): void {
    for (const s of this.sockets) if (s.readyState === s.OPEN) s.send(frame);
  }

  /** Close every connection from the server side (a clean close handshake). */
  drop(code = 1001, reason = 'going away'): void {
    for (const s of this.sockets) s.close(code, reason);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.clear();
    for (const s of this.sockets) s.terminate();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket, path: string): void {
    this.connections++;
    this.paths.push(path);
    this.sockets.add(socket);
    let heartbeat: NodeJS.Timeout | undefined;
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (heartbeat !== undefined) {
        clearInterval(heartbeat);
        this.timers.delete(heartbeat);
      }
    });
    socket.on('error', () => {});
    socket.send(
      JSON.stringify({ channel: 'status', type: 'update', data: [{ api_version: 'v2', connection_id: this.connections, system: 'online', version: '2.0.0' }] }),
    );
    socket.on('message', (raw) => {
      const text = raw.toString();
      this.received.push(text);
      this.receivedAt.push(performance.timeOrigin + performance.now());
      const reply = this.answer(text);
      for (const r of reply.frames) socket.send(r);
      if (reply.subscribed && heartbeat === undefined && this.heartbeatMs > 0) {
        heartbeat = setInterval(() => socket.readyState === socket.OPEN && socket.send('{"channel":"heartbeat"}'), this.heartbeatMs);
        this.timers.add(heartbeat);
      }
    });
  }

  /** The venue's answer to one client message. */
  private answer(text: string): { frames: string[]; subscribed: boolean } {
    const time = new Date().toISOString();
    let m: { method?: unknown; params?: { channel?: unknown; symbol?: unknown; snapshot?: unknown }; req_id?: unknown };
    try {
      m = JSON.parse(text);
    } catch {
      m = {};
    }
    const reqId = typeof m?.req_id === 'number' ? { req_id: m.req_id } : {};
    if (m?.method === 'ping') return { frames: [JSON.stringify({ method: 'pong', ...reqId, time_in: time, time_out: time })], subscribed: false };
    const params = m?.params;
    const channel = params?.channel;
    if (m?.method !== 'subscribe' || (channel !== 'trade' && channel !== 'ticker') || !Array.isArray(params?.symbol)) {
      return { frames: [JSON.stringify({ error: 'Malformed request', method: typeof m?.method === 'string' ? m.method : 'error', ...reqId, success: false, time_in: time, time_out: time })], subscribed: false };
    }
    let subscribed = false;
    const frames = (params.symbol as unknown[]).map((symbol) => {
      if (typeof symbol === 'string' && this.pairs.has(symbol)) {
        subscribed = true;
        const snapshot = typeof params.snapshot === 'boolean' ? params.snapshot : channel === 'ticker';
        return JSON.stringify({ method: 'subscribe', result: { channel, snapshot, symbol }, success: true, time_in: time, time_out: time, ...reqId });
      }
      return JSON.stringify({ error: `Currency pair not supported ${String(symbol)}`, method: 'subscribe', success: false, symbol, time_in: time, time_out: time, ...reqId });
    });
    return { frames, subscribed };
  }
}
