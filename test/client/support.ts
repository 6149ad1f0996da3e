/** Test helpers for the client SDK: a recorder of handler calls and a TCP proxy the tests can cut. */
import { createServer as createNetServer, connect, type Server, type Socket } from 'node:net';
import type { SubscriptionHandlers } from '../../src/client/index.ts';

/** Every handler call of one subscription, in order, by handler name. */
export class Recorder {
  readonly calls: { handler: string; m: any }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any

  /** Handlers that record into this recorder (all of them, or only `names`). */
  handlers(names: readonly (keyof SubscriptionHandlers)[] = ['subscribed', 'trade', 'quote', 'bar', 'snapshot', 'gap', 'system', 'alert', 'error']): SubscriptionHandlers {
    const out: Record<string, (m: unknown) => void> = {};
    for (const name of names) out[name] = (m) => this.calls.push({ handler: name, m });
    return out as SubscriptionHandlers;
  }

  /** The messages one handler got. */
  of(handler: keyof SubscriptionHandlers): any[] { // eslint-disable-line @typescript-eslint/no-explicit-any
    return this.calls.filter((c) => c.handler === handler).map((c) => c.m);
  }

  count(handler: keyof SubscriptionHandlers): number {
    return this.calls.reduce((n, c) => n + (c.handler === handler ? 1 : 0), 0);
  }
}

/**
 * A loopback TCP proxy in front of a server: `cut()` drops every connection
 * through it (as a network failure would, no WebSocket close frame), and the
 * target port can change (a restarted server elsewhere).
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  target: number;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(server: Server, target: number) {
    this.#server = server;
    this.target = target;
  }

  static async start(target: number): Promise<TcpProxy> {
    const server = createNetServer();
    const proxy = new TcpProxy(server, target);
    server.on('connection', (client) => proxy.#accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** Open connections through the proxy. */
  get open(): number {
    return this.#pairs.size;
  }

  #accept(client: Socket): void {
    this.accepted++;
    const upstream = connect(this.target, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const drop = (): void => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Stop forwarding server → client (the client looks stalled: the server's buffers fill). */
  stall(): void {
    for (const [client, upstream] of this.#pairs) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Forward server → client again. */
  unstall(): void {
    for (const [client, upstream] of this.#pairs) {
      upstream.pipe(client);
      upstream.resume();
    }
  }

  /** Drop every connection at once, both sides, without any close handshake. */
  cut(): void {
    for (const [a, b] of [...this.#pairs]) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/**
 * A WebSocket implementation driven by the test, injected with the client's
 * `WebSocket` option: it records what the client sends and the test plays
 * the server (open, messages, close) exactly, duplicates and holes included.
 */
export class ScriptedSocket {
  static readonly all: ScriptedSocket[] = [];
  readonly url: string;
  readonly protocols: string | string[] | undefined;
  readyState = 0;
  binaryType = 'blob';
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  /** Frames the client sent, parsed. */
  readonly sent: any[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  closedBy: { code?: number; reason?: string } | undefined;

  constructor(url: string, protocols?: string | string[]) {
    this.url = url;
    this.protocols = protocols;
    ScriptedSocket.all.push(this);
  }

  /** The newest socket the client made. */
  static get last(): ScriptedSocket {
    const s = ScriptedSocket.all.at(-1);
    if (s === undefined) throw new Error('the client made no socket');
    return s;
  }

  static reset(): void {
    ScriptedSocket.all.length = 0;
  }

  /** When set, answers each frame the client sends, synchronously (undefined: no answer). */
  reply: ((sent: any) => unknown) | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    const msg = JSON.parse(data);
    this.sent.push(msg);
    const answer = this.reply?.(msg);
    if (answer !== undefined) this.push(answer);
  }

  close(code?: number, reason?: string): void {
    if (this.readyState >= 2) return;
    this.closedBy = { code, reason };
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code: code ?? 1005, reason: reason ?? '' }), 0);
  }

  // ── the test's side ──

  /** Accept the connection. */
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Deliver server messages as JSON text frames. */
  push(...messages: unknown[]): void {
    for (const m of messages) this.onmessage?.({ data: JSON.stringify(m) });
  }

  /** Deliver a raw frame. */
  pushRaw(data: unknown): void {
    this.onmessage?.({ data });
  }

  /** The connection breaks (no close handshake). */
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The last frame sent with `op`. */
  lastOp(op: string): any { // eslint-disable-line @typescript-eslint/no-explicit-any
    const m = this.sent.filter((s) => s.op === op).at(-1);
    if (m === undefined) throw new Error(`the client sent no ${op}`);
    return m;
  }
}
