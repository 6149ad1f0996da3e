/** Shared set-up for server tests: a server over a FakeTickwire on an ephemeral loopback port, and a queued WebSocket client. */
import { readdirSync, readlinkSync } from 'node:fs';
import WebSocket from 'ws';
import { createServer, type ServerOptions, type TickwireServer } from '../../src/server/server.ts';
import { FakeTickwire } from '../support/fake-tickwire.ts';

export interface Running {
  tw: FakeTickwire;
  server: TickwireServer;
  port: number;
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** `ws://127.0.0.1:<port>/v1/stream` */
  wsUrl: string;
}

export async function startServer(options: ServerOptions = {}, tw = new FakeTickwire()): Promise<Running> {
  const server = createServer(tw, { host: '127.0.0.1', port: 0, ...options });
  const { port } = await server.listen();
  return { tw, server, port, base: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/v1/stream` };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Msg = any;

/** A WebSocket client that queues every message, parsed, for `next()`. */
export class Client {
  readonly ws: WebSocket;
  readonly received: Msg[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];
  #nextId = 1;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      this.received.push(isBinary ? data : JSON.parse(data.toString()));
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.closed.then(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static connect(url: string, protocols?: string | string[]): Promise<Client> {
    const ws = new WebSocket(url, protocols);
    const client = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** The next queued message (in arrival order), waiting up to `timeoutMs`. */
  async next(timeoutMs = 3000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('connection closed while waiting for a message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.received.shift();
  }

  /** The next `n` messages. */
  async take(n: number, timeoutMs = 5000): Promise<Msg[]> {
    const out: Msg[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  /** Send `msg` with a fresh id and return the next message (the reply when nothing else is flowing). */
  async request(msg: Record<string, unknown>): Promise<Msg> {
    const id = this.#nextId++;
    this.send({ ...msg, id });
    return this.next();
  }

  /** Subscribe and return the ack. */
  async subscribe(channels: string[], snapshot?: number): Promise<Msg> {
    return this.request({ op: 'subscribe', channels, ...(snapshot === undefined ? {} : { snapshot }) });
  }

  /** A ping round trip: everything the server sent before the pong is queued before it. */
  async sync(): Promise<Msg[]> {
    const id = `sync-${this.#nextId++}`;
    this.send({ op: 'ping', id });
    const before: Msg[] = [];
    for (;;) {
      const m = await this.next();
      if (m.type === 'pong' && m.id === id) return before;
      before.push(m);
    }
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

/** Socket file descriptors this process holds (Linux). */
export function openSocketCount(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed while listing
    }
  }
  return n;
}

/** Poll `cond` until true or `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
