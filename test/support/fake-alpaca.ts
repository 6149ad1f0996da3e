/**
 * A fake Alpaca market data stream for integration tests: a `ws` server on
 * 127.0.0.1, ephemeral port, speaking the documented protocol
 * (../shared/fixtures/alpaca/protocol.md):
 *  - greets every connection with `[{"T":"success","msg":"connected"}]`;
 *  - `auth` with the right key and secret → `success/authenticated`, wrong →
 *    402 (and a close, unless told otherwise), twice → 403; no successful
 *    auth within `authTimeoutMs` (10 s on Alpaca) → 404 and a close;
 *  - one authenticated session at a time: a second gets 406 and a close;
 *  - `subscribe` before auth → 401; otherwise answered with the whole
 *    subscription set; more than `maxChannels` trade+quote channels → 405;
 *  - unparsable client messages → 400.
 * Tests push frames with `broadcast` and drop connections with `dropAll`.
 * Client messages are recorded with the secret replaced by whether it matched.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { FIXTURES_DIR } from './fixtures.ts';

export interface FakeAlpacaOptions {
  key: string;
  secret: string;
  /** How long a connection may stay unauthenticated, ms (Alpaca: 10 000). */
  authTimeoutMs?: number;
  /** Delay before answering a good auth, ms (default 0). */
  authDelayMs?: number;
  /** Close the connection after a failed auth (default true). */
  closeOnAuthFailure?: boolean;
  /** Trade + quote channels allowed per session (default 30, the free plan's limit). */
  maxChannels?: number;
}

/** One client message as the fake saw it (`secretOk` instead of the secret). */
export interface ReceivedMessage {
  /** 1-based connection number. */
  connection: number;
  /** ms since the fake started. */
  at: number;
  action: string;
  key?: string;
  secretOk?: boolean;
  trades?: string[];
  quotes?: string[];
}

interface Session {
  n: number;
  socket: WebSocket;
  authenticated: boolean;
  trades: Set<string>;
  quotes: Set<string>;
  authTimer: NodeJS.Timeout | undefined;
}

export class FakeAlpaca {
  url = '';
  /** Connections accepted since start. */
  connections = 0;
  readonly received: ReceivedMessage[] = [];
  /** Frames the fake sent, with the connection number and time (ms since start). */
  readonly sent: { connection: number; at: number; frame: string }[] = [];
  private readonly options: Required<FakeAlpacaOptions>;
  private readonly sessions = new Set<Session>();
  private wss: WebSocketServer | undefined;
  private readonly t0 = performance.now();

  constructor(options: FakeAlpacaOptions) {
    this.options = { authTimeoutMs: 10_000, authDelayMs: 0, closeOnAuthFailure: true, maxChannels: 30, ...options };
  }

  async start(): Promise<this> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    this.url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    wss.on('connection', (socket) => this.accept(socket));
    return this;
  }

  /** Authenticated sessions right now. */
  get authenticatedSessions(): number {
    let n = 0;
    for (const s of this.sessions) if (s.authenticated) n++;
    return n;
  }

  /** Messages of one action, in arrival order. */
  messages(action: string): ReceivedMessage[] {
    return this.received.filter((m) => m.action === action);
  }

  /** Send a raw frame to every authenticated session. */
  broadcast(frame: string): void {
    for (const s of this.sessions) if (s.authenticated) this.send(s, frame);
  }

  /** Server-initiated close of every connection (a normal close frame, then the socket goes). */
  dropAll(code = 1001): void {
    for (const s of this.sessions) {
      s.authenticated = false; // the session ends now, whenever the close handshake completes
      s.socket.close(code, 'going away');
    }
  }

  async close(): Promise<void> {
    for (const s of this.sessions) {
      clearTimeout(s.authTimer);
      s.socket.terminate();
    }
    this.sessions.clear();
    const wss = this.wss;
    this.wss = undefined;
    if (wss !== undefined) await new Promise<void>((r) => wss.close(() => r()));
  }

  private now(): number {
    return Math.round(performance.now() - this.t0);
  }

  private send(s: Session, frame: string): void {
    if (s.socket.readyState !== s.socket.OPEN) return;
    this.sent.push({ connection: s.n, at: this.now(), frame });
    s.socket.send(frame);
  }

  private error(s: Session, code: number, msg: string): void {
    this.send(s, JSON.stringify([{ T: 'error', code, msg }]));
  }

  private accept(socket: WebSocket): void {
    const s: Session = { n: ++this.connections, socket, authenticated: false, trades: new Set(), quotes: new Set(), authTimer: undefined };
    this.sessions.add(s);
    socket.on('close', () => {
      clearTimeout(s.authTimer);
      this.sessions.delete(s);
    });
    socket.on('error', () => {});
    socket.on('message', (data) => this.onMessage(s, data.toString()));
    this.send(s, '[{"T":"success","msg":"connected"}]');
    s.authTimer = setTimeout(() => {
      if (s.authenticated) return;
      this.error(s, 404, 'auth timeout');
      socket.close(1008, 'auth timeout');
    }, this.options.authTimeoutMs);
  }

  private onMessage(s: Session, text: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
      if (typeof m !== 'object' || m === null || typeof m['action'] !== 'string') throw new Error('no action');
    } catch {
      this.received.push({ connection: s.n, at: this.now(), action: '?' });
      this.error(s, 400, 'invalid syntax');
      return;
    }
    const action = m['action'] as string;
    const rec: ReceivedMessage = { connection: s.n, at: this.now(), action };
    this.received.push(rec);
    if (action === 'auth') {
      rec.key = String(m['key']);
      rec.secretOk = m['secret'] === this.options.secret;
      if (s.authenticated) return this.error(s, 403, 'already authenticated');
      if (m['key'] !== this.options.key || !rec.secretOk) {
        this.error(s, 402, 'auth failed');
        if (this.options.closeOnAuthFailure) s.socket.close(1008, 'auth failed');
        return;
      }
      if (this.authenticatedSessions >= 1) {
        this.error(s, 406, 'connection limit exceeded');
        s.socket.close(1008, 'connection limit exceeded');
        return;
      }
      const ok = () => {
        if (s.socket.readyState !== s.socket.OPEN) return;
        s.authenticated = true;
        clearTimeout(s.authTimer);
        this.send(s, '[{"T":"success","msg":"authenticated"}]');
      };
      if (this.options.authDelayMs > 0) setTimeout(ok, this.options.authDelayMs);
      else ok();
      return;
    }
    if (action === 'subscribe' || action === 'unsubscribe') {
      const trades = stringList(m['trades']);
      const quotes = stringList(m['quotes']);
      if (trades === undefined || quotes === undefined) return this.error(s, 400, 'invalid syntax');
      rec.trades = trades;
      rec.quotes = quotes;
      if (!s.authenticated) return this.error(s, 401, 'not authenticated');
      const nextTrades = new Set(s.trades);
      const nextQuotes = new Set(s.quotes);
      if (action === 'subscribe') {
        for (const t of trades) nextTrades.add(t);
        for (const q of quotes) nextQuotes.add(q);
      } else {
        for (const t of trades) nextTrades.delete(t);
        for (const q of quotes) nextQuotes.delete(q);
      }
      if (nextTrades.size + nextQuotes.size > this.options.maxChannels) return this.error(s, 405, 'symbol limit exceeded');
      s.trades = nextTrades;
      s.quotes = nextQuotes;
      this.send(s, JSON.stringify([{ T: 'subscription', trades: [...s.trades], quotes: [...s.quotes], bars: [], updatedBars: [], dailyBars: [], statuses: [], lulds: [], corrections: [...s.trades], cancelErrors: [...s.trades] }]));
      return;
    }
    this.error(s, 400, 'invalid syntax');
  }
}

/** Absent → [], a list of strings → itself, anything else → undefined. */
function stringList(v: unknown): string[] | undefined {
  if (v === undefined) return [];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/** The documentation frames of ../shared/fixtures/alpaca/doc_frames.jsonl, verbatim, in file order. */
export function alpacaDocFrames(): string[] {
  return readFileSync(path.join(FIXTURES_DIR, 'alpaca/doc_frames.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** The annotated control lines of ../shared/fixtures/alpaca/control.jsonl. */
export function alpacaControl(): { dir: 'recv' | 'send'; frame: string; kind: string; src: string }[] {
  return readFileSync(path.join(FIXTURES_DIR, 'alpaca/control.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** Start a fake Alpaca on an ephemeral loopback port. */
export async function startFakeAlpaca(options: FakeAlpacaOptions): Promise<FakeAlpaca> {
  return new FakeAlpaca(options).start();
}
