/**
 * Binance spot market streams.
 * Docs: https://github.com/binance/binance-spot-api-docs/blob/master/web-socket-streams.md
 * Protocol notes and recorded frames: ../shared/fixtures/binance-spot/protocol.md
 *
 * - Combined endpoint `/stream`; live `SUBSCRIBE` requests, acked by id with
 *   `{"result":null,"id":N}`. Payloads arrive as `{"stream":..,"data":..}`.
 * - `<symbol>@trade` (one frame per trade, so counts match Binance klines) and
 *   `<symbol>@bookTicker` (no timestamp on spot: the feed stamps it).
 * - `m` is "the buyer is the market maker": m=true means the seller was the
 *   aggressor. Prices and sizes are decimal strings.
 * - Limits: 1024 streams and 5 incoming messages per second per connection;
 *   connections live at most 24 h; a `serverShutdown` event precedes a close.
 *   The server pings every 20 s; the ws client answers with a pong itself.
 */
import type { FeedChannel } from '../config/types.ts';
import { FrameKind, type AdapterCapabilities, type ExchangeAdapter, type FeedHandler } from './adapter.ts';

export const binanceCapabilities: AdapterCapabilities = {
  name: 'binance',
  defaultUrl: 'wss://stream.binance.com:9443',
  channels: ['trades', 'quotes'],
  tradeIdOrder: 'increasing',
  maxStreamsPerConnection: 1024,
  maxMessagesPerSecond: 5,
  maxConnectionAgeMs: 24 * 3600_000,
};

/** Streams per SUBSCRIBE request: keeps each request small; the request rate is paced by the connection. */
const STREAMS_PER_REQUEST = 200;

/** A Binance-protocol adapter for `symbols` (also used by the simulated exchange). */
export class BinanceAdapter implements ExchangeAdapter {
  readonly capabilities: AdapterCapabilities;
  ackId = NaN;
  error = '';
  private readonly streams: string[];
  /** Native symbol (as Binance prints it in `s`) → index. */
  private readonly index = new Map<string, number>();

  constructor(symbols: readonly string[], channels: readonly FeedChannel[], capabilities: AdapterCapabilities = binanceCapabilities) {
    this.capabilities = capabilities;
    this.streams = [];
    symbols.forEach((symbol, i) => {
      this.index.set(symbol.toUpperCase(), i);
      const stream = symbol.toLowerCase();
      if (channels.includes('trades')) this.streams.push(`${stream}@trade`);
      if (channels.includes('quotes')) this.streams.push(`${stream}@bookTicker`);
    });
  }

  connectUrl(baseUrl: string): string {
    return `${baseUrl.replace(/\/+$/, '')}/stream`;
  }

  subscribeRequests(nextId: () => number): { id: number; text: string }[] {
    const requests: { id: number; text: string }[] = [];
    for (let i = 0; i < this.streams.length; i += STREAMS_PER_REQUEST) {
      const id = nextId();
      requests.push({ id, text: JSON.stringify({ method: 'SUBSCRIBE', params: this.streams.slice(i, i + STREAMS_PER_REQUEST), id }) });
    }
    return requests;
  }

  parse(frame: string, handler: FeedHandler): FrameKind {
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return this.malformed('not JSON');
    }
    if (typeof msg !== 'object' || msg === null) return this.malformed('not an object');
    const m = msg as Record<string, unknown>;
    const data = m['data'];
    if (typeof data === 'object' && data !== null) return this.payload(data as Record<string, unknown>, handler);
    if ('result' in m && 'id' in m) {
      this.ackId = typeof m['id'] === 'number' ? m['id'] : NaN;
      return FrameKind.ACK;
    }
    if (typeof m['code'] === 'number' && typeof m['msg'] === 'string') {
      this.ackId = typeof m['id'] === 'number' ? m['id'] : NaN;
      this.error = `binance error ${m['code']}: ${m['msg']}`;
      return FrameKind.ERROR;
    }
    // A raw (non-combined) payload, e.g. serverShutdown on a /ws connection.
    if (typeof m['e'] === 'string') return this.payload(m, handler);
    return this.malformed('unknown frame');
  }

  private payload(d: Record<string, unknown>, handler: FeedHandler): FrameKind {
    const e = d['e'];
    if (e === 'trade') {
      const symbol = this.index.get(d['s'] as string);
      if (symbol === undefined) return typeof d['s'] === 'string' ? FrameKind.IGNORED : this.malformed('trade without symbol');
      const ts = d['T'];
      const id = d['t'];
      const price = decimal(d['p']);
      const size = decimal(d['q']);
      if (typeof ts !== 'number' || !Number.isFinite(ts) || typeof id !== 'number' || !(price > 0) || !(size > 0) || typeof d['m'] !== 'boolean') {
        return this.malformed('bad trade fields');
      }
      handler.trade(symbol, ts, price, size, d['m'] ? -1 : 1, id);
      return FrameKind.DATA;
    }
    if (e === undefined && 'u' in d && 'b' in d && 'a' in d) {
      const symbol = this.index.get(d['s'] as string);
      if (symbol === undefined) return typeof d['s'] === 'string' ? FrameKind.IGNORED : this.malformed('quote without symbol');
      const bid = decimal(d['b']);
      const bidSize = decimal(d['B']);
      const ask = decimal(d['a']);
      const askSize = decimal(d['A']);
      if (!(bid > 0) || !(ask > 0) || !(bidSize >= 0) || !(askSize >= 0)) return this.malformed('bad bookTicker fields');
      handler.quote(symbol, NaN, bid, bidSize, ask, askSize);
      return FrameKind.DATA;
    }
    if (e === 'serverShutdown') return FrameKind.SHUTDOWN;
    return FrameKind.IGNORED;
  }

  private malformed(why: string): FrameKind {
    this.error = `binance: ${why}`;
    return FrameKind.MALFORMED;
  }
}

/** A Binance decimal string as a number; NaN for anything else. */
function decimal(v: unknown): number {
  return typeof v === 'string' && v.length > 0 && v.length < 40 ? Number(v) : NaN;
}
