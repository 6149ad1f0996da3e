/**
 * A fake Bybit v5 public WebSocket for integration tests: a `ws` server on
 * 127.0.0.1 (ephemeral port) speaking what ../shared/fixtures/bybit/
 * protocol.md and control.jsonl record. It makes no market data: tests hand
 * it recorded frames, which it sends verbatim.
 *
 * - Paths `/v5/public/{spot,linear,inverse,option}`; anything else is refused
 *   with HTTP 404.
 * - `{"op":"subscribe","args":[..],"req_id":".."}`:
 *   more than 10 args on spot → the recorded refusal
 *   `{"success":false,"ret_msg":"args size >10","conn_id":..,"op":"subscribe"}`
 *   (no req_id, as recorded); a request naming a topic `rejectTopic` refuses
 *   → `{"success":false,"ret_msg":"Invalid topic: <topic>",..,"req_id",..}` and
 *   none of its topics is taken; otherwise the spot ack
 *   `{"success":true,"ret_msg":"subscribe","conn_id","req_id","op":"subscribe"}`.
 * - `{"op":"ping"}` → the spot pong `{"success":true,"ret_msg":"pong","conn_id","op":"ping"}`.
 * - Bybit never pings. A connection with neither a client ping nor data for
 *   `idleTimeoutMs` is closed (Bybit: 10 minutes).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface FakeBybitOptions {
  /** No client ping and no data for this long closes the connection (default 600 000 ms). */
  idleTimeoutMs?: number;
  /** Topics the fake refuses, as an unknown symbol would be. */
  rejectTopic?: (topic: string) => boolean;
}

const SPOT_ARGS_PER_REQUEST = 10;

class Client {
  readonly topics = new Set<string>();
  readonly connId = randomUUID();
  idleTimer: NodeJS.Timeout | undefined;
  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    readonly category: string,
  ) {}
}

export class FakeBybit {
  /** Every text message clients sent, in order, with the connection it came on (1, 2, …). */
  readonly received: { client: number; text: string }[] = [];
  /** Connections accepted since start. */
  connectionCount = 0;
  /** Pongs sent. */
  pongs = 0;

  private readonly idleTimeoutMs: number;
  private readonly rejectTopic: (topic: string) => boolean;
  private wss: WebSocketServer | undefined;
  private readonly clients = new Set<Client>();

  constructor(options: FakeBybitOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 600_000;
    this.rejectTopic = options.rejectTopic ?? (() => false);
  }

  /** Listen on 127.0.0.1; resolves with the base URL (`ws://127.0.0.1:<port>`). */
  async start(): Promise<string> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      perMessageDeflate: false,
      verifyClient: (info, done) => {
        const path = new URL(info.req.url ?? '/', 'http://localhost').pathname;
        if (/^\/v5\/public\/(?:spot|linear|inverse|option)$/.test(path)) done(true);
        else done(false, 404, 'Not Found');
      },
    });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    wss.on('connection', (ws, req) => this.accept(ws, new URL(req.url ?? '/', 'http://localhost').pathname.split('/').at(-1)!));
    this.wss = wss;
    return this.url;
  }

  /** Terminate every connection and close the listener. */
  async stop(): Promise<void> {
    const wss = this.wss;
    this.wss = undefined;
    for (const c of this.clients) this.forget(c);
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

  /** Topics of each live connection, in order of connection. */
  subscriptions(): string[][] {
    return [...this.clients].map((c) => [...c.topics]);
  }

  /** The parsed client messages with `op` (e.g. 'subscribe', 'ping'), in order. */
  requests(op: string): { client: number; msg: { op: string; args?: string[]; req_id?: string } }[] {
    const out: { client: number; msg: { op: string; args?: string[]; req_id?: string } }[] = [];
    for (const r of this.received) {
      try {
        const msg = JSON.parse(r.text);
        if (msg?.op === op) out.push({ client: r.client, msg });
      } catch {
        // not JSON: not a request
      }
    }
    return out;
  }

  /** Send a recorded frame verbatim to every connection subscribed to `topic`; returns the count. */
  publish(topic: string, frame: string): number {
    let n = 0;
    for (const c of this.clients) {
      if (!c.topics.has(topic) || c.ws.readyState !== WebSocket.OPEN) continue;
      c.ws.send(frame);
      this.keepAlive(c); // data counts as activity
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

  private accept(ws: WebSocket, category: string): void {
    const c = new Client(++this.connectionCount, ws, category);
    this.clients.add(c);
    this.keepAlive(c);
    ws.on('message', (data) => this.onMessage(c, data.toString()));
    ws.on('close', () => this.forget(c));
    ws.on('error', () => {});
  }

  private forget(c: Client): void {
    clearTimeout(c.idleTimer);
    this.clients.delete(c);
  }

  private keepAlive(c: Client): void {
    clearTimeout(c.idleTimer);
    c.idleTimer = setTimeout(() => c.ws.close(1000, 'idle'), this.idleTimeoutMs);
    c.idleTimer.unref();
  }

  private onMessage(c: Client, text: string): void {
    this.received.push({ client: c.id, text });
    let msg: { op?: unknown; args?: unknown; req_id?: unknown };
    try {
      msg = JSON.parse(text);
    } catch {
      return this.reply(c, { success: false, ret_msg: 'error:request not json', conn_id: c.connId });
    }
    const reqId = typeof msg.req_id === 'string' ? msg.req_id : undefined;
    switch (msg.op) {
      case 'ping':
        this.keepAlive(c);
        this.pongs++;
        return this.reply(c, { success: true, ret_msg: 'pong', conn_id: c.connId, op: 'ping' });
      case 'subscribe':
      case 'unsubscribe': {
        const args = msg.args;
        if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
          return this.reply(c, { success: false, ret_msg: 'error:args invalid', conn_id: c.connId, req_id: reqId, op: msg.op });
        }
        if (c.category === 'spot' && args.length > SPOT_ARGS_PER_REQUEST) {
          return this.reply(c, { success: false, ret_msg: 'args size >10', conn_id: c.connId, op: msg.op });
        }
        const bad = args.find((a) => this.rejectTopic(a));
        if (bad !== undefined) {
          return this.reply(c, { success: false, ret_msg: `Invalid topic: ${bad}`, conn_id: c.connId, req_id: reqId, op: msg.op });
        }
        for (const a of args) {
          if (msg.op === 'subscribe') c.topics.add(a);
          else c.topics.delete(a);
        }
        return this.reply(c, { success: true, ret_msg: msg.op, conn_id: c.connId, req_id: reqId, op: msg.op });
      }
      default:
        return this.reply(c, { success: false, ret_msg: `error:handler not found,op:${String(msg.op)}`, conn_id: c.connId, req_id: reqId });
    }
  }

  private reply(c: Client, body: object): void {
    if (c.ws.readyState === WebSocket.OPEN) c.ws.send(JSON.stringify(body));
  }
}
