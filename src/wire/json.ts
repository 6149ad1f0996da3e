/**
 * Wire serialization of bars, trades and quotes (JSON, CSV, the older
 * streamer shape) by string concatenation.
 *
 * Live messages are a prepared per-channel prefix + the per-message numbers:
 * the channel, exchange and symbol are escaped and quoted once, when a
 * channel is first subscribed (`prepareChannel`), never per message. Bars
 * have one encoder, from the float64 record (NaN = null): records in shared
 * memory are written straight from there, a bar event is first copied into a
 * reused scratch record. The FlatBuffers twin is encoder.ts.
 */
import type { BarVisitor } from '../buffers/bar-store.ts';
import type { QuoteEvent, TradeEvent } from '../model/events.ts';
import { BAR_FIELDS, BarField as F, BarSource, writeBar, type Bar } from '../model/records.ts';
import type { MarketKind } from './channels.ts';
import type { ClosedReason } from './messages.ts';

/** A JSON number; `null` for NaN and ±Infinity, which JSON lacks. */
export function num(v: number): string {
  return Number.isFinite(v) ? '' + v : 'null';
}

/** A number or null in JSON (non-finite: null, as JSON.stringify writes it). */
export function nullableNum(v: number | null): string {
  return v === null ? 'null' : num(v);
}

/** A CSV field: empty for NaN (null). */
function csvNum(v: number): string {
  return Number.isFinite(v) ? '' + v : '';
}

// ── bars ─────────────────────────────────────────────────────────────────

/** The fields of a bar record, without braces: `"openTime":…,"revision":…`. */
export function barFieldsFromRecord(b: Float64Array, o: number): string {
  return (
    '"openTime":' + num(b[o + F.OPEN_TIME]!) +
    ',"closeTime":' + num(b[o + F.CLOSE_TIME]!) +
    ',"open":' + num(b[o + F.OPEN]!) +
    ',"high":' + num(b[o + F.HIGH]!) +
    ',"low":' + num(b[o + F.LOW]!) +
    ',"close":' + num(b[o + F.CLOSE]!) +
    ',"volume":' + num(b[o + F.VOLUME]!) +
    ',"quoteVolume":' + num(b[o + F.QUOTE_VOLUME]!) +
    ',"buyVolume":' + num(b[o + F.BUY_VOLUME]!) +
    ',"sellVolume":' + num(b[o + F.SELL_VOLUME]!) +
    ',"trades":' + num(b[o + F.TRADES]!) +
    ',"vwap":' + num(b[o + F.VWAP]!) +
    ',"spread":' + num(b[o + F.SPREAD]!) +
    ',"closed":' + (b[o + F.CLOSED] === 1 ? 'true' : 'false') +
    ',"revision":' + num(b[o + F.REVISION]!) +
    (b[o + F.GAPPED] === 1 ? ',"gapped":true' : '') +
    (b[o + F.SOURCE] === BarSource.BACKFILL ? ',"source":"backfill"' : '')
  );
}

/** A bar record as a JSON object. */
export function barJson(b: Float64Array, o: number): string {
  return '{' + barFieldsFromRecord(b, o) + '}';
}

export const BAR_CSV_HEADER =
  'openTime,closeTime,open,high,low,close,volume,quoteVolume,buyVolume,sellVolume,trades,vwap,spread,closed,revision,gapped,source\n';

/** A bar record as one CSV line (with its newline); null is an empty field. */
export function barCsv(b: Float64Array, o: number): string {
  return (
    csvNum(b[o + F.OPEN_TIME]!) + ',' +
    csvNum(b[o + F.CLOSE_TIME]!) + ',' +
    csvNum(b[o + F.OPEN]!) + ',' +
    csvNum(b[o + F.HIGH]!) + ',' +
    csvNum(b[o + F.LOW]!) + ',' +
    csvNum(b[o + F.CLOSE]!) + ',' +
    csvNum(b[o + F.VOLUME]!) + ',' +
    csvNum(b[o + F.QUOTE_VOLUME]!) + ',' +
    csvNum(b[o + F.BUY_VOLUME]!) + ',' +
    csvNum(b[o + F.SELL_VOLUME]!) + ',' +
    csvNum(b[o + F.TRADES]!) + ',' +
    csvNum(b[o + F.VWAP]!) + ',' +
    csvNum(b[o + F.SPREAD]!) + ',' +
    (b[o + F.CLOSED] === 1 ? 'true' : 'false') + ',' +
    csvNum(b[o + F.REVISION]!) + ',' +
    (b[o + F.GAPPED] === 1 ? 'true' : 'false') + ',' +
    (b[o + F.SOURCE] === BarSource.BACKFILL ? 'backfill' : 'live') + '\n'
  );
}

/** The text around each value of a streamer candle: time, open, high, low, close, volume, spread. */
type CandleParts = readonly [string, string, string, string, string, string, string, string];
const CANDLE_DICT: CandleParts = ['{"time":', ',"open":', ',"high":', ',"low":', ',"close":', ',"volume":', ',"spread":', '}'];
const CANDLE_LIST: CandleParts = ['[', ',', ',', ',', ',', ',', ',', ']'];

function streamerCandle(p: CandleParts, b: Float64Array, o: number): string {
  const spread = b[o + F.SPREAD]!;
  return (
    p[0] + num(b[o + F.OPEN_TIME]! / 1000) + p[1] + num(b[o + F.OPEN]!) + p[2] + num(b[o + F.HIGH]!) + p[3] + num(b[o + F.LOW]!) +
    p[4] + num(b[o + F.CLOSE]!) + p[5] + num(b[o + F.VOLUME]!) + p[6] + (Number.isFinite(spread) ? '' + spread : '0') + p[7]
  );
}

/**
 * A bar record in the older streamer API's candle shape (`time` in epoch
 * seconds). Its clients read `spread` as a number: a bar without quotes
 * (NaN in the record) answers 0.
 */
export function streamerCandleJson(b: Float64Array, o: number): string {
  return streamerCandle(CANDLE_DICT, b, o);
}

/** The same candle as a list, `format=list`: `[time, open, high, low, close, volume, spread]`. */
export function streamerCandleList(b: Float64Array, o: number): string {
  return streamerCandle(CANDLE_LIST, b, o);
}

/**
 * A BarVisitor that concatenates one formatted item per bar, `sep` between
 * items. `begin()` discards a failed attempt (BarSeries' seqlock contract).
 */
export class BarTextVisitor implements BarVisitor {
  text = '';
  count = 0;
  readonly #format: (buf: Float64Array, offset: number) => string;
  readonly #sep: string;

  constructor(format: (buf: Float64Array, offset: number) => string, sep = ',') {
    this.#format = format;
    this.#sep = sep;
  }

  begin(): void {
    this.text = '';
    this.count = 0;
  }

  onBar(buf: Float64Array, offset: number): void {
    this.text += this.count === 0 ? this.#format(buf, offset) : this.#sep + this.#format(buf, offset);
    this.count++;
  }
}

// ── live messages ────────────────────────────────────────────────────────

/** The constant parts of one channel's live messages, prepared once. */
export interface ChannelFormat {
  /** `{"type":"trade","channel":"…","seq":` */
  readonly head: string;
  /** `,"exchange":"…","symbol":"…",` up to the first per-message field (`"tradeId":`, `"bidPrice":`, the bar's fields). */
  readonly mid: string;
  /** Upper bound of one message's UTF-8 size, bytes (backpressure accounting). */
  readonly maxBytes: number;
}

const TYPE_OF: Record<MarketKind, string> = { trades: 'trade', quotes: 'quote', bars: 'bar' };

/** Largest server-to-client WebSocket frame header, bytes. */
const WS_FRAME_HEADER = 10;

/** Longest text `num` can produce for a float64 (e.g. -0.0000012345678901234567). */
const MAX_NUMBER_CHARS = 25;

export function prepareChannel(
  kind: MarketKind,
  channel: string,
  exchange: string,
  symbol: string,
  timeframe?: string,
): ChannelFormat {
  const head = '{"type":"' + TYPE_OF[kind] + '","channel":' + JSON.stringify(channel) + ',"seq":';
  let mid = ',"exchange":' + JSON.stringify(exchange) + ',"symbol":' + JSON.stringify(symbol);
  if (kind === 'trades') mid += ',"tradeId":';
  else if (kind === 'quotes') mid += ',"bidPrice":';
  else mid += ',"timeframe":' + JSON.stringify(timeframe) + ',';
  const maxBytes = WS_FRAME_HEADER + Buffer.byteLength(head) + Buffer.byteLength(mid) + MAX_NUMBER_CHARS /* seq */ + TAIL_BOUND[kind];
  return { head, mid, maxBytes };
}

const SIDE_JSON: Record<string, string> = { buy: '"buy"', sell: '"sell"', unknown: '"unknown"' };

export function tradeMessage(f: ChannelFormat, seq: number, e: TradeEvent): string {
  return (
    f.head + seq + f.mid + nullableNum(e.tradeId) +
    ',"price":' + num(e.price) +
    ',"size":' + num(e.size) +
    ',"side":' + (SIDE_JSON[e.side] ?? '"unknown"') +
    ',"ts":' + num(e.ts) +
    ',"recvTs":' + num(e.recvTs) + '}'
  );
}

export function quoteMessage(f: ChannelFormat, seq: number, e: QuoteEvent): string {
  return (
    f.head + seq + f.mid + num(e.bidPrice) +
    ',"bidSize":' + num(e.bidSize) +
    ',"askPrice":' + num(e.askPrice) +
    ',"askSize":' + num(e.askSize) +
    ',"ts":' + num(e.ts) +
    ',"recvTs":' + num(e.recvTs) + '}'
  );
}

/** Scratch record a `Bar` event is written into, so bars have one JSON encoder (from the record). */
const BAR_SCRATCH = new Float64Array(BAR_FIELDS);

/**
 * A bar event's live message. The bar is copied into a reused record first
 * (no allocation) and written by `barFieldsFromRecord`, the one bar encoder.
 */
export function barMessage(f: ChannelFormat, seq: number, bar: Bar): string {
  writeBar(bar, BAR_SCRATCH, 0);
  return f.head + seq + f.mid + barFieldsFromRecord(BAR_SCRATCH, 0) + '}';
}

/**
 * Bytes after `mid` at most: the per-message part of a worst-case message
 * (every number at its longest), measured once at load.
 */
const TAIL_BOUND: Record<MarketKind, number> = (() => {
  const n = -0.0000012345678901234567;
  const empty: ChannelFormat = { head: '', mid: '', maxBytes: 0 };
  const trade = tradeMessage(empty, 0, { exchange: '', symbol: '', tradeId: n, price: n, size: n, side: 'unknown', ts: n, recvTs: n });
  const quote = quoteMessage(empty, 0, { exchange: '', symbol: '', bidPrice: n, bidSize: n, askPrice: n, askSize: n, ts: n, recvTs: n });
  const bar = barMessage(empty, 0, {
    openTime: n, closeTime: n, open: n, high: n, low: n, close: n, volume: n, quoteVolume: n, buyVolume: n,
    sellVolume: n, trades: n, firstTradeId: n, lastTradeId: n, vwap: n, spread: n, closed: false, revision: n, gapped: true, source: 'backfill',
  });
  return { trades: trade.length, quotes: quote.length, bars: bar.length };
})();

// ── control messages (rare; plain JSON.stringify) ────────────────────────

export function snapshotHead(channel: string, seq: number): string {
  return '{"type":"snapshot","channel":' + JSON.stringify(channel) + ',"seq":' + seq + ',"bars":[';
}

export function gapMessage(channel: string, fromSeq: number, toSeq: number, reason: string): string {
  return JSON.stringify({ type: 'gap', channel, fromSeq, toSeq, reason });
}

/** `{"type":"subscribed","id","channels","epoch"}`: the concrete channels a subscribe added (wildcards expanded). */
export function subscribedMessage(id: number | string | null, channels: readonly string[], epoch: string): string {
  return JSON.stringify({ type: 'subscribed', id, channels, epoch });
}

/** `{"type":"unsubscribed","id","channels"}` */
export function unsubscribedMessage(id: number | string | null, channels: readonly string[]): string {
  return JSON.stringify({ type: 'unsubscribed', id, channels });
}

/** `{"type":"closed","channel","reason"}`: the channel's last message (its symbol was removed live). */
export function closedMessage(channel: string, reason: ClosedReason): string {
  return JSON.stringify({ type: 'closed', channel, reason });
}

/** `{"type":"error","id","code","message"}`: a refused client message. */
export function errorMessage(id: number | string | null, code: string, message: string): string {
  return JSON.stringify({ type: 'error', id, code, message });
}

/** `{"type":"pong","id"}` */
export function pongMessage(id: number | string | null): string {
  return '{"type":"pong","id":' + JSON.stringify(id) + '}';
}
