/**
 * A fake Deribit API v2 on 127.0.0.1 (ephemeral port) for the adapter plugin
 * of examples/plugins/tickwire-adapter-deribit, speaking the shapes of its
 * fixtures/frames.jsonl (Deribit's documented frames):
 *  - WebSocket at /ws/api/v2: JSON-RPC `public/subscribe` and
 *    `public/unsubscribe` answered with the channels (a channel of an
 *    instrument it does not list: error -32602), `public/test` with a version;
 *  - `trade(instrument, ...)` numbers the trade with the instrument's next
 *    `trade_seq`, keeps it, and notifies the connections subscribed to its
 *    trades channel; `trading(rate)` does so on a timer for every listed
 *    instrument;
 *  - REST GET /api/v2/public/get_last_trades_by_instrument (start_seq,
 *    count, sorting=asc) answers from the trades kept (gap recovery);
 *  - `drop()` closes every connection from the server side.
 */
import { createServer, type Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

interface DeribitTrade {
  trade_seq: number;
  trade_id: string;
  timestamp: number;
  tick_direction: number;
  price: number;
  mark_price: number;
  instrument_name: string;
  index_price: number;
  direction: 'buy' | 'sell';
  amount: number;
}

/** Most trades kept per instrument for REST answers. */
const KEPT = 50_000;

export class FakeDeribit {
  /** WebSocket base URL (the adapter adds /ws/api/v2). */
  readonly url: string;
  /** REST base URL. */
  readonly restUrl: string;
  /** Every client message, in arrival order. */
  readonly received: string[] = [];
  connections = 0;
  /** Trades sent, per instrument, oldest first. */
  readonly trades = new Map<string, DeribitTrade[]>();
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly instruments: Set<string>;
  private readonly subscribed = new Map<WebSocket, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private tradeId = 48_079_254;

  private constructor(http: Server, wss: WebSocketServer, instruments: readonly string[]) {
    this.http = http;
    this.wss = wss;
    const { port } = http.address() as { port: number };
    this.url = `ws://127.0.0.1:${port}`;
    this.restUrl = `http://127.0.0.1:${port}`;
    this.instruments = new Set(instruments);
    wss.on('connection', (socket) => this.accept(socket));
  }

  static async start(instruments: readonly string[] = ['BTC-PERPETUAL', 'ETH-PERPETUAL']): Promise<FakeDeribit> {
    const http = createServer();
    const wss = new WebSocketServer({ server: http, path: '/ws/api/v2' });
    let fake: FakeDeribit | undefined;
    http.on('request', (req, res) => fake!.rest(req.url ?? '', res));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(0, '127.0.0.1', resolve);
    });
    fake = new FakeDeribit(http, wss, instruments);
    return fake;
  }

  /** Connections open now. */
  openConnections(): number {
    return this.subscribed.size;
  }

  /** Channels the open connections are subscribed to. */
  channels(): string[] {
    return [...this.subscribed.values()].flatMap((s) => [...s]);
  }

  /** One trade of `instrument` now (or at `ts`), sent to its subscribers. */
  trade(instrument: string, price: number, amount: number, direction: 'buy' | 'sell', ts = Date.now()): DeribitTrade {
    const kept = this.trades.get(instrument) ?? [];
    this.trades.set(instrument, kept);
    const t: DeribitTrade = {
      trade_seq: (kept.at(-1)?.trade_seq ?? 30_289_431) + 1,
      trade_id: String(this.tradeId++),
      timestamp: ts,
      tick_direction: 0,
      price,
      mark_price: price,
      instrument_name: instrument,
      index_price: price,
      direction,
      amount,
    };
    kept.push(t);
    if (kept.length > KEPT) kept.shift();
    for (const [socket, channels] of this.subscribed) {
      for (const ch of channels) {
        if (ch.startsWith(`trades.${instrument}.`)) this.notify(socket, ch, [t]);
      }
    }
    return t;
  }

  /** A trade per listed instrument every 1000 / `perSecond` ms, prices walking around 100. */
  trading(perSecond: number): void {
    clearInterval(this.timer);
    let n = 0;
    this.timer = setInterval(() => {
      n++;
      for (const instrument of this.instruments) this.trade(instrument, 100 + (n % 7), 1 + (n % 3), n % 2 === 0 ? 'buy' : 'sell');
    }, Math.max(1, Math.round(1000 / perSecond)));
  }

  /** Close every connection from the server side. */
  drop(): void {
    for (const socket of this.subscribed.keys()) socket.close(1001, 'going away');
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const socket of this.subscribed.keys()) socket.terminate();
    this.subscribed.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    this.connections++;
    this.subscribed.set(socket, new Set());
    socket.on('close', () => this.subscribed.delete(socket));
    socket.on('error', () => {});
    socket.on('message', (raw) => {
      const text = raw.toString();
      this.received.push(text);
      let msg: { id?: number; method?: string; params?: { channels?: unknown } };
      try {
        msg = JSON.parse(text);
      } catch {
        return;
      }
      const answer = (body: object): void => socket.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...body, usIn: 0, usOut: 0, usDiff: 0, testnet: false }));
      if (msg.method === 'public/test') return answer({ result: { version: '1.2.26' } });
      if (msg.method !== 'public/subscribe' && msg.method !== 'public/unsubscribe') return answer({ error: { code: -32601, message: 'Method not found' } });
      const channels = msg.params?.channels;
      const known = Array.isArray(channels) && channels.every((ch) => typeof ch === 'string' && this.instruments.has(ch.split('.')[1] ?? ''));
      if (!known) return answer({ error: { code: -32602, message: 'Invalid params' } });
      const mine = this.subscribed.get(socket)!;
      for (const ch of channels as string[]) {
        if (msg.method === 'public/subscribe') mine.add(ch);
        else mine.delete(ch);
      }
      answer({ result: channels });
    });
  }

  private notify(socket: WebSocket, channel: string, data: unknown): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ jsonrpc: '2.0', method: 'subscription', params: { channel, data } }));
  }

  private rest(path: string, res: import('node:http').ServerResponse): void {
    const url = new URL(path, this.restUrl);
    if (url.pathname !== '/api/v2/public/get_last_trades_by_instrument') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: 11050, message: 'bad_request' } }));
      return;
    }
    const instrument = url.searchParams.get('instrument_name') ?? '';
    const from = Number(url.searchParams.get('start_seq') ?? 0);
    const count = Math.min(1000, Number(url.searchParams.get('count') ?? 10));
    const kept = (this.trades.get(instrument) ?? []).filter((t) => t.trade_seq >= from);
    const page = kept.slice(0, count);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', result: { trades: page, has_more: kept.length > count } }));
  }
}
