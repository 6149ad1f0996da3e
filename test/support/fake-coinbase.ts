/**
 * A fake Coinbase Exchange feed for integration tests: a `ws` server on
 * 127.0.0.1, ephemeral port, speaking the ws-feed protocol as recorded in
 * ../shared/fixtures/coinbase (protocol.md section A, control.jsonl). It
 * carries what it is told to (`publish`, `sendRaw`); it makes no data itself.
 *
 * - `subscribe` with `channels` as names (using the top-level `product_ids`)
 *   and/or `{name, product_ids}` objects. Success: one `subscriptions` frame
 *   listing all of the connection's subscriptions. Refusal, nothing
 *   subscribed: `{"type":"error","message":"Failed to subscribe","reason":..}`
 *   with the recorded reasons "<P> is not a valid product" and "You need to
 *   specify at least one product ID for channel <C>"; the reasons for other
 *   refusals (not JSON, unknown type or channel) are this fake's own.
 * - A new `matches` subscription first gets a `last_match` for each product
 *   whose last trade the fake knows (the last `match` published), before the
 *   `subscriptions` ack — the order recorded in R1.
 * - `heartbeat` subscriptions get a heartbeat frame per product every
 *   `heartbeatIntervalMs` (1 s on Coinbase).
 * - A connection that has not subscribed within `subscribeDeadlineMs` (5 s on
 *   Coinbase) is closed.
 * - Optional WebSocket pings every `pingIntervalMs`.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES_DIR } from './fixtures.ts';

export interface FakeCoinbaseOptions {
  /** Products that exist (others are refused); default: every product in the recorded frames plus BTC-USD. */
  products?: readonly string[];
  /** Heartbeat channel period, ms (default 1 000, as Coinbase). */
  heartbeatIntervalMs?: number;
  /** Close a connection that has not subscribed within this, ms (default 5 000, as Coinbase). */
  subscribeDeadlineMs?: number;
  /** WebSocket ping period, ms (default 0: none). */
  pingIntervalMs?: number;
}

interface Client {
  readonly socket: WebSocket;
  /** channel → products */
  readonly subs: Map<string, Set<string>>;
  subscribed: boolean;
  timers: NodeJS.Timeout[];
}

const CHANNELS = new Set(['matches', 'ticker', 'heartbeat', 'level2', 'full', 'status']);

/** The recorded frames of ../shared/fixtures/coinbase/frames.jsonl, verbatim. */
export function coinbaseFrames(): string[] {
  return readFileSync(path.join(FIXTURES_DIR, 'coinbase/frames.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

export class FakeCoinbase {
  url = '';
  /** Every text message clients sent, in order. */
  readonly received: string[] = [];
  /** Connections accepted since start. */
  connections = 0;
  /** Pongs received (answers to `pingIntervalMs` pings). */
  pongs = 0;
  readonly clients = new Set<Client>();
  private readonly wss: WebSocketServer;
  private readonly products: Set<string>;
  private readonly heartbeatIntervalMs: number;
  private readonly subscribeDeadlineMs: number;
  private readonly pingIntervalMs: number;
  /** product → its last match, as a `last_match` frame. */
  private readonly lastMatch = new Map<string, string>();
  private heartbeatSeq = 0;

  constructor(options: FakeCoinbaseOptions = {}) {
    this.products = new Set(options.products ?? defaultProducts());
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1_000;
    this.subscribeDeadlineMs = options.subscribeDeadlineMs ?? 5_000;
    this.pingIntervalMs = options.pingIntervalMs ?? 0;
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.wss.on('connection', (socket) => this.accept(socket));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.wss.once('listening', resolve);
      this.wss.once('error', reject);
    });
    this.url = `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
    return this;
  }

  /** Terminate every client and stop listening. */
  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** Clients subscribed to `channel` for `product`. */
  subscribers(channel: string, product: string): number {
    let n = 0;
    for (const c of this.clients) if (c.subs.get(channel)?.has(product) === true) n++;
    return n;
  }

  /**
   * Send a recorded frame, verbatim, to the clients subscribed to its channel
   * and product; remember matches for `last_match`. Returns how many got it.
   */
  publish(frame: string): number {
    const m = JSON.parse(frame) as { type?: string; product_id?: string };
    const channel = m.type === 'match' || m.type === 'last_match' ? 'matches' : m.type === 'ticker' ? 'ticker' : (m.type ?? '');
    const product = m.product_id ?? '';
    if (m.type === 'match') this.lastMatch.set(product, frame.replace('"type":"match"', '"type":"last_match"'));
    let n = 0;
    for (const c of this.clients) {
      if (c.subs.get(channel)?.has(product) === true) {
        c.socket.send(frame);
        n++;
      }
    }
    return n;
  }

  /** Send `text` as is to every client (malformed frames). */
  sendRaw(text: string): void {
    for (const c of this.clients) c.socket.send(text);
  }

  /** Drop every connection without a close handshake. */
  drop(): void {
    for (const c of [...this.clients]) c.socket.terminate();
  }

  /** Close every connection with a close frame. */
  closeAll(code = 1001, reason = 'going away'): void {
    for (const c of [...this.clients]) c.socket.close(code, reason);
  }

  private accept(socket: WebSocket): void {
    this.connections++;
    const client: Client = { socket, subs: new Map(), subscribed: false, timers: [] };
    this.clients.add(client);
    const deadline = setTimeout(() => {
      if (!client.subscribed) socket.close(1008, 'subscribe within 5 s');
    }, this.subscribeDeadlineMs);
    client.timers.push(deadline);
    if (this.pingIntervalMs > 0) client.timers.push(setInterval(() => socket.ping(), this.pingIntervalMs));
    socket.on('message', (data) => this.onMessage(client, data.toString()));
    socket.on('pong', () => this.pongs++);
    socket.on('error', () => {});
    socket.on('close', () => {
      for (const t of client.timers) clearTimeout(t);
      this.clients.delete(client);
    });
  }

  private onMessage(client: Client, text: string): void {
    this.received.push(text);
    let req: { type?: unknown; product_ids?: unknown; channels?: unknown };
    try {
      req = JSON.parse(text);
    } catch {
      return this.refuse(client, 'Malformed JSON');
    }
    if (req.type !== 'subscribe' && req.type !== 'unsubscribe') return this.refuse(client, `${String(req.type)} is not a valid type`);
    const top = Array.isArray(req.product_ids) ? (req.product_ids as unknown[]) : [];
    if (!Array.isArray(req.channels) || req.channels.length === 0) return this.refuse(client, 'You must specify at least one channel');
    const wanted: [string, string[]][] = [];
    for (const ch of req.channels as unknown[]) {
      const name = typeof ch === 'string' ? ch : (ch as { name?: unknown } | null)?.name;
      const ids = typeof ch === 'string' ? top : (ch as { product_ids?: unknown }).product_ids;
      if (typeof name !== 'string' || !CHANNELS.has(name)) return this.refuse(client, `${String(name)} is not a valid channel`);
      if (!Array.isArray(ids) || ids.length === 0) return this.refuse(client, `You need to specify at least one product ID for channel ${name}`);
      for (const p of ids) if (typeof p !== 'string' || !this.products.has(p)) return this.refuse(client, `${String(p)} is not a valid product`);
      wanted.push([name, ids as string[]]);
    }
    client.subscribed = true;
    for (const [name, ids] of wanted) {
      let set = client.subs.get(name);
      if (set === undefined) client.subs.set(name, (set = new Set()));
      for (const p of ids) {
        if (req.type === 'unsubscribe') {
          set.delete(p);
          continue;
        }
        if (set.has(p)) continue;
        set.add(p);
        if (name === 'matches') {
          const last = this.lastMatch.get(p);
          if (last !== undefined) client.socket.send(last);
        }
        if (name === 'heartbeat') client.timers.push(setInterval(() => this.beat(client, p), this.heartbeatIntervalMs));
      }
    }
    client.socket.send(
      JSON.stringify({
        type: 'subscriptions',
        channels: [...client.subs].filter(([, s]) => s.size > 0).map(([name, s]) => ({ name, product_ids: [...s] })),
      }),
    );
  }

  private beat(client: Client, product: string): void {
    if (client.subs.get('heartbeat')?.has(product) !== true) return;
    const last = this.lastMatch.get(product);
    const lastTradeId = last === undefined ? 0 : (JSON.parse(last) as { trade_id: number }).trade_id;
    client.socket.send(
      JSON.stringify({ type: 'heartbeat', sequence: ++this.heartbeatSeq, last_trade_id: lastTradeId, product_id: product, time: new Date().toISOString() }),
    );
  }

  private refuse(client: Client, reason: string): void {
    client.socket.send(JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason }));
  }
}

function defaultProducts(): string[] {
  const products = new Set<string>(['BTC-USD']);
  for (const f of coinbaseFrames()) {
    const p = (JSON.parse(f) as { product_id?: unknown }).product_id;
    if (typeof p === 'string') products.add(p);
  }
  return [...products];
}
