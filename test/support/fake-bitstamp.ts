/**
 * A fake Bitstamp (WebSocket API v2) for integration tests: a `ws` server on
 * 127.0.0.1, ephemeral port, speaking the protocol as recorded in
 * ../shared/fixtures/bitstamp (protocol.md, control.jsonl). It carries what
 * it is told to (`publish`, `sendRaw`); it makes no data itself.
 *
 * - `{"event":"bts:subscribe","data":{"channel":C}}` →
 *   `{"event":"bts:subscription_succeeded","channel":C,"data":{}}` (R1);
 *   `bts:unsubscribe` → `bts:unsubscription_succeeded`.
 * - Errors, as third-party sources report them (not in the fixtures):
 *   `{"event":"bts:error","channel":"","data":{"code":null,"message":M}}` with
 *   "Incorrect JSON format." (not JSON), "Bad subscription string." (no
 *   channel, unknown event), "Invalid channel provided." (a channel name not
 *   lower-case letters, digits, `_` and `-`).
 * - `{"event":"bts:heartbeat"}` →
 *   `{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}`.
 * - Client frames over 512 bytes close the connection (1009); a subscription
 *   past 1,024 closes it silently (both from the docs as a third-party probe
 *   report quotes them).
 * - `requestReconnect()` sends `bts:request_reconnect`; optional WebSocket
 *   pings every `pingIntervalMs`.
 */
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { FIXTURES_DIR } from './fixtures.ts';

export interface FakeBitstampOptions {
  /** WebSocket ping period, ms (default 0: none). */
  pingIntervalMs?: number;
  /** Subscriptions one connection may hold (default 1 024). */
  maxSubscriptions?: number;
}

interface Client {
  readonly socket: WebSocket;
  readonly channels: Set<string>;
  ping: NodeJS.Timeout | undefined;
}

const CHANNEL_NAME = /^[a-z0-9_-]+$/;
const MAX_FRAME_BYTES = 512;

/** The recorded frames of ../shared/fixtures/bitstamp/frames.jsonl, verbatim. */
export function bitstampFrames(): string[] {
  return readFileSync(path.join(FIXTURES_DIR, 'bitstamp/frames.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

export class FakeBitstamp {
  url = '';
  /** Every text message clients sent, in order. */
  readonly received: string[] = [];
  /** Connections accepted since start. */
  connections = 0;
  /** Heartbeats answered. */
  heartbeats = 0;
  /** Pongs received (answers to `pingIntervalMs` pings). */
  pongs = 0;
  readonly clients = new Set<Client>();
  private readonly wss: WebSocketServer;
  private readonly pingIntervalMs: number;
  private readonly maxSubscriptions: number;

  constructor(options: FakeBitstampOptions = {}) {
    this.pingIntervalMs = options.pingIntervalMs ?? 0;
    this.maxSubscriptions = options.maxSubscriptions ?? 1024;
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

  /** Clients subscribed to `channel`. */
  subscribers(channel: string): number {
    let n = 0;
    for (const c of this.clients) if (c.channels.has(channel)) n++;
    return n;
  }

  /** Send a recorded frame, verbatim, to the clients subscribed to its channel. Returns how many got it. */
  publish(frame: string): number {
    const channel = (JSON.parse(frame) as { channel?: string }).channel ?? '';
    let n = 0;
    for (const c of this.clients) {
      if (c.channels.has(channel)) {
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

  /** Bitstamp's maintenance notice: reconnect, this server is going away. */
  requestReconnect(): void {
    this.sendRaw('{"event":"bts:request_reconnect","channel":"","data":""}');
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
    const client: Client = { socket, channels: new Set(), ping: undefined };
    this.clients.add(client);
    if (this.pingIntervalMs > 0) client.ping = setInterval(() => socket.ping(), this.pingIntervalMs);
    socket.on('message', (data) => this.onMessage(client, data.toString()));
    socket.on('pong', () => this.pongs++);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(client.ping);
      this.clients.delete(client);
    });
  }

  private onMessage(client: Client, text: string): void {
    this.received.push(text);
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
      client.socket.close(1009, `read limited at ${MAX_FRAME_BYTES + 1} bytes`);
      return;
    }
    let req: { event?: unknown; data?: { channel?: unknown } | null };
    try {
      req = JSON.parse(text);
    } catch {
      return this.error(client, 'Incorrect JSON format.');
    }
    if (typeof req !== 'object' || req === null) return this.error(client, 'Incorrect JSON format.');
    if (req.event === 'bts:heartbeat') {
      this.heartbeats++;
      client.socket.send('{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}');
      return;
    }
    const channel = req.data?.channel;
    if ((req.event !== 'bts:subscribe' && req.event !== 'bts:unsubscribe') || typeof channel !== 'string') {
      return this.error(client, 'Bad subscription string.');
    }
    if (!CHANNEL_NAME.test(channel)) return this.error(client, 'Invalid channel provided.');
    if (req.event === 'bts:unsubscribe') {
      client.channels.delete(channel);
      client.socket.send(JSON.stringify({ event: 'bts:unsubscription_succeeded', channel, data: {} }));
      return;
    }
    if (!client.channels.has(channel) && client.channels.size >= this.maxSubscriptions) {
      client.socket.terminate(); // "silently closed"
      return;
    }
    client.channels.add(channel);
    client.socket.send(JSON.stringify({ event: 'bts:subscription_succeeded', channel, data: {} }));
  }

  private error(client: Client, message: string): void {
    client.socket.send(JSON.stringify({ event: 'bts:error', channel: '', data: { code: null, message } }));
  }
}
