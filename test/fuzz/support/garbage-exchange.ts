/**
 * A Binance combined-stream server on loopback that sends whatever it is
 * given, byte for byte: text frames, binary frames, and text frames whose
 * bytes are not UTF-8 (which `ws` sends without checking). It acks
 * SUBSCRIBE requests (`{"result":null,"id":N}`) and nothing more: enough for
 * the real feed worker to connect, subscribe and take frames.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** One frame to send: text, raw bytes in a text frame, or a binary frame. */
export type WireFrame = string | { text: Buffer } | { binary: Buffer };

/** The server: start, wait for the worker's SUBSCRIBE, `send` frames, stop. */
export class GarbageExchange {
  url = '';
  /** Connections accepted since start. */
  connections = 0;
  /** Streams subscribed over all connections. */
  readonly streams: string[] = [];
  readonly #wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/stream', perMessageDeflate: false });
  readonly #clients = new Set<WebSocket>();

  /** Listen on an ephemeral port. */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => (this.#wss.address() === null ? this.#wss.once('listening', resolve) : resolve()));
    this.url = `ws://127.0.0.1:${(this.#wss.address() as AddressInfo).port}`;
    this.#wss.on('connection', (ws) => {
      this.connections++;
      this.#clients.add(ws);
      ws.on('close', () => this.#clients.delete(ws));
      ws.on('error', () => {});
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as { method?: string; params?: string[]; id?: number };
        if (m.method === 'SUBSCRIBE') {
          this.streams.push(...(m.params ?? []));
          ws.send(JSON.stringify({ result: null, id: m.id ?? null }));
        }
      });
    });
  }

  /** Send `frames` in order to every client; resolves once the socket buffers have drained. */
  async send(frames: readonly WireFrame[]): Promise<void> {
    for (const ws of this.#clients) {
      for (const f of frames) {
        if (typeof f === 'string') ws.send(f);
        else if ('text' in f) ws.send(f.text, { binary: false });
        else ws.send(f.binary, { binary: true });
      }
    }
    while ([...this.#clients].some((ws) => ws.bufferedAmount > 0)) await new Promise((r) => setTimeout(r, 10));
  }

  /** Close every client and the server. */
  async stop(): Promise<void> {
    for (const ws of this.#clients) ws.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
