/**
 * A fake OKX v5 public WebSocket on 127.0.0.1 (ephemeral port) for
 * integration tests, speaking the protocol of ../shared/fixtures/okx/protocol.md:
 *  - `{"op":"subscribe","args":[..]}` acked one `{"event":"subscribe","arg":..}`
 *    per arg (R1); an arg naming an instrument it does not list is refused with
 *    OKX's error shape, code 60018; anything unparseable with code 60012
 *    (the error shape and codes are UNVERIFIED: not in the recorded data);
 *  - the text `ping` answered with the text `pong` (Q1);
 *  - with `idleCloseMs`, a connection on which nothing was sent either way for
 *    that long is closed, as OKX does after 30 s;
 *  - `send(frame)` pushes any text verbatim (recorded frames), `drop()` closes
 *    every connection from the server side.
 */
import { WebSocketServer, type WebSocket } from 'ws';

export interface FakeOkxOptions {
  /** Instruments the venue lists (default: any instId). */
  instIds?: readonly string[];
  /** Close connections idle for this long, ms (0, the default: never). */
  idleCloseMs?: number;
}

const CHANNELS = new Set(['trades', 'trades-all', 'bbo-tbt', 'tickers', 'books']);

export class FakeOkx {
  /** Base URL (the adapter adds `/ws/v5/public`). */
  readonly url: string;
  /** Every client message, in arrival order, over all connections. */
  readonly received: string[] = [];
  /** Local arrival time of each of `received`, ms. */
  readonly receivedAt: number[] = [];
  /** Request path of each connection. */
  readonly paths: string[] = [];
  connections = 0;
  /** Connections the fake closed for idleness. */
  idleCloses = 0;
  private readonly wss: WebSocketServer;
  private readonly instIds: Set<string> | undefined;
  private readonly idleCloseMs: number;
  private readonly sockets = new Map<WebSocket, { lastActive: number; timer: NodeJS.Timeout | undefined }>();

  private constructor(wss: WebSocketServer, options: FakeOkxOptions) {
    this.wss = wss;
    this.url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    this.instIds = options.instIds === undefined ? undefined : new Set(options.instIds);
    this.idleCloseMs = options.idleCloseMs ?? 0;
    wss.on('connection', (socket, req) => this.accept(socket, req.url ?? ''));
  }

  static async start(options: FakeOkxOptions = {}): Promise<FakeOkx> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    return new FakeOkx(wss, options);
  }

  /** The subscribe requests received, parsed. */
  subscribes(): { op: string; args: { channel: string; instId: string }[] }[] {
    return this.received.filter((t) => t.startsWith('{"op":"subscribe"')).map((t) => JSON.parse(t));
  }

  /** Push `frame` verbatim to every open connection. */
  send(frame: string): void {
    for (const s of this.sockets.keys()) this.write(s, frame);
  }

  /** Close every connection from the server side (a clean close handshake). */
  drop(code = 1001, reason = 'going away'): void {
    for (const s of this.sockets.keys()) s.close(code, reason);
  }

  async close(): Promise<void> {
    for (const [s, state] of this.sockets) {
      clearInterval(state.timer);
      s.terminate();
    }
    this.sockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private write(socket: WebSocket, frame: string): void {
    const state = this.sockets.get(socket);
    if (state === undefined || socket.readyState !== socket.OPEN) return;
    state.lastActive = performance.now();
    socket.send(frame);
  }

  private accept(socket: WebSocket, path: string): void {
    this.connections++;
    this.paths.push(path);
    const connId = `c${this.connections.toString(16).padStart(7, '0')}`;
    const state = { lastActive: performance.now(), timer: undefined as NodeJS.Timeout | undefined };
    this.sockets.set(socket, state);
    if (this.idleCloseMs > 0) {
      state.timer = setInterval(() => {
        if (performance.now() - state.lastActive <= this.idleCloseMs) return;
        clearInterval(state.timer);
        this.idleCloses++;
        socket.close(4000, 'no data for too long');
      }, Math.max(5, this.idleCloseMs / 5));
    }
    socket.on('close', () => {
      clearInterval(state.timer);
      this.sockets.delete(socket);
    });
    socket.on('error', () => {});
    socket.on('message', (raw) => {
      const text = raw.toString();
      this.received.push(text);
      this.receivedAt.push(performance.timeOrigin + performance.now());
      state.lastActive = performance.now();
      for (const reply of this.answer(text, connId)) this.write(socket, reply);
    });
  }

  /** The venue's answer to one client message. */
  private answer(text: string, connId: string): string[] {
    if (text === 'ping') return ['pong'];
    const invalid = () => [JSON.stringify({ event: 'error', code: '60012', msg: `Invalid request: ${text}`, connId })];
    let m: { op?: unknown; args?: unknown };
    try {
      m = JSON.parse(text);
    } catch {
      return invalid();
    }
    if (typeof m !== 'object' || m === null || (m.op !== 'subscribe' && m.op !== 'unsubscribe') || !Array.isArray(m.args)) return invalid();
    const op = m.op;
    return (m.args as { channel?: unknown; instId?: unknown }[]).map((a) => {
      const channel = a?.channel;
      const instId = a?.instId;
      if (typeof channel === 'string' && CHANNELS.has(channel) && typeof instId === 'string' && (this.instIds === undefined || this.instIds.has(instId))) {
        return JSON.stringify({ event: op, arg: { channel, instId }, connId });
      }
      return JSON.stringify({
        event: 'error',
        code: '60018',
        msg: `Wrong URL or channel:${String(channel)},instId:${String(instId)} doesn't exist. Please use the correct URL, channel and parameters referring to API document.`,
        connId,
      });
    });
  }
}
