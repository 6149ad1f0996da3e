/**
 * Shared set-up for server tests: a server over a FakeTickwire on an
 * ephemeral loopback port, a queued WebSocket client (JSON text parsed,
 * FlatBuffers binary decoded with the wire module's `decodeMessage`), and a
 * fake that also emits exchange status and gains symbols at runtime.
 */
import type { ConfigChange } from '../../src/model/events.ts';
import { readdirSync, readlinkSync } from 'node:fs';
import uWS from 'uWebSockets.js';
import type { us_listen_socket, us_socket } from 'uWebSockets.js';
import WebSocket from 'ws';
import type { TickwireEvents } from '../../src/api/types.ts';
import type { ExchangeStatus } from '../../src/model/status.ts';
import { SymbolIndex } from '../../src/model/symbols.ts';
import type { TimeframeName } from '../../src/model/timeframes.ts';
import { ServerMetrics } from '../../src/server/metrics.ts';
import { createServer, type ServerOptions, type TickwireServer } from '../../src/server/server.ts';
import { StreamServer, type StreamOptions } from '../../src/server/stream.ts';
import { decodeMessage } from '../../src/wire/fbs.ts';
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

/** A WebSocket client that queues every message, parsed (text) or decoded (binary), for `next()`. */
export class Client {
  readonly ws: WebSocket;
  readonly received: Msg[] = [];
  /** Frames that were binary, counted (a JSON connection must see none, a binary one only these). */
  binaryFrames = 0;
  textFrames = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];
  #nextId = 1;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaryFrames++;
      else this.textFrames++;
      this.received.push(isBinary ? decodeMessage(new Uint8Array(data as Buffer)) : JSON.parse(data.toString()));
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.closed.then(() => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static connect(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions): Promise<Client> {
    const ws = new WebSocket(url, protocols, options);
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

  /** Subscribe and return the ack (`extra`: since, epoch). */
  async subscribe(channels: string[], snapshot?: number, extra: Record<string, unknown> = {}): Promise<Msg> {
    return this.request({ op: 'subscribe', channels, ...(snapshot === undefined ? {} : { snapshot }), ...extra });
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

/** An upgrade attempt: the open socket, or the refusal's HTTP status, headers and JSON body. */
export type UpgradeOutcome =
  | { open: true; ws: WebSocket }
  | { open: false; status: number; headers: Record<string, string | string[] | undefined>; body: Msg };

/** Try an upgrade to `url` (a refused one is terminated once its body is read). */
export function attemptUpgrade(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string>; origin?: string } = {},
): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers, ...(options.origin ? { origin: options.origin } : {}) });
    ws.once('open', () => resolve({ open: true, ws }));
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        ws.terminate();
        resolve({ open: false, status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) });
      });
    });
    ws.once('error', (err) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(err);
    });
  });
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

/** The key FakeTickwire files a series under (test/support/fake-tickwire.ts). */
function fakeSeriesKey(exchange: string, symbol: string, tf: string): string {
  return `${exchange}\u0000${symbol}\u0000${tf}`;
}

/**
 * A FakeTickwire that also emits `status` (as the runtime does every second
 * per exchange) and gains symbols at runtime (as a symbol added to a running
 * exchange would appear: in `symbols()`, `resolveSymbol`, its bars and status).
 */
export class LiveFakeTickwire extends FakeTickwire {
  readonly #statusHandlers = new Set<(s: ExchangeStatus) => void>();
  /** exchange → symbols added at runtime, and their index (native and normalized names). */
  readonly #added = new Map<string, string[]>();
  readonly #addedIndex = new Map<string, SymbolIndex>();

  override on<K extends keyof TickwireEvents>(event: K, handler: (payload: TickwireEvents[K]) => void): () => void {
    if (event !== 'status') return super.on(event, handler);
    const h = handler as (s: ExchangeStatus) => void;
    this.#statusHandlers.add(h);
    return () => {
      this.#statusHandlers.delete(h);
    };
  }

  /** Emit a status report: the exchange's current status with `fields` changed. */
  emitStatus(exchange: string, fields: Partial<ExchangeStatus> = {}): ExchangeStatus {
    const s = { ...this.status().exchanges[exchange]!, ...fields };
    for (const h of this.#statusHandlers) h(s);
    return s;
  }

  /**
   * Add `symbol` to `exchange` (with series for every configured timeframe),
   * as a runtime symbol addition would, without the `change` event: the
   * stream must discover it from its events alone.
   */
  override addSymbol(exchange: string, symbol: string): ConfigChange {
    let list = this.#added.get(exchange);
    if (list === undefined) this.#added.set(exchange, (list = []));
    list.push(symbol);
    let index = this.#addedIndex.get(exchange);
    if (index === undefined) this.#addedIndex.set(exchange, (index = new SymbolIndex()));
    index.add(symbol);
    for (const tf of this.config.timeframes) this.store.create(fakeSeriesKey(exchange, symbol, tf), this.config.history[tf as TimeframeName]);
    return { action: 'symbol_added', exchange, symbol, restoredBars: 0, ts: Date.now() };
  }

  override resolveSymbol(exchange: string, symbol: string): string {
    const added = this.#addedIndex.get(exchange)?.resolve(symbol);
    return added === undefined ? super.resolveSymbol(exchange, symbol) : added.native;
  }

  override symbols(): Record<string, Record<string, TimeframeName[]>> {
    const out = super.symbols();
    for (const [exchange, list] of this.#added) for (const s of list) out[exchange]![s] = [...this.config.timeframes];
    return out;
  }

  override status(): ReturnType<FakeTickwire['status']> {
    const report = super.status();
    for (const [exchange, list] of this.#added) report.exchanges[exchange]!.symbols.push(...list);
    return report;
  }
}

/** A bare `StreamServer` on its own uWS app (no HTTP routes): for hooks createServer does not expose, e.g. a hand-made `authenticate`. */
export interface BareStream {
  stream: StreamServer;
  metrics: ServerMetrics;
  /** `ws://127.0.0.1:<port>/v1/stream` */
  wsUrl: string;
  close(): void;
}

export async function startBareStream(tw: FakeTickwire, options: Partial<StreamOptions> = {}): Promise<BareStream> {
  const app = uWS.App();
  let stream: StreamServer | undefined;
  const metrics = new ServerMetrics({ connections: () => stream?.connections ?? 0, subscriptions: () => stream?.subscriptions ?? 0 });
  stream = new StreamServer(app, tw, metrics, {
    config: tw.config.stream,
    onError: (err) => {
      throw err;
    },
    ...options,
  });
  app.ws('/v1/stream', stream.behavior);
  const listen = (app as unknown as { listen(h: string, p: number, o: number, cb: (s: us_listen_socket | false) => void): void }).listen;
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    listen.call(app, '127.0.0.1', 0, 1, (s) => (s === false ? reject(new Error('listen failed')) : resolve(s))),
  );
  const port = uWS.us_socket_local_port(socket as unknown as us_socket);
  return {
    stream,
    metrics,
    wsUrl: `ws://127.0.0.1:${port}/v1/stream`,
    close() {
      stream!.close();
      uWS.us_listen_socket_close(socket);
      (app as unknown as { close(): void }).close();
    },
  };
}
