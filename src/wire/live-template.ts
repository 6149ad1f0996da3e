/**
 * Prepared binary messages of the live channels (trade, quote, bar), patched
 * in place: the hot path of the FlatBuffers format.
 *
 * Two messages of one channel differ only in their scalars (seq, prices,
 * sizes, times, the bar's values); the strings (channel, exchange, symbol,
 * timeframe) and the whole layout are the same. So a channel's first message
 * is built once with the flatbuffers Builder, every field forced present
 * (`forceDefaults`, so a 0 is not left out and the layout never changes),
 * and kept; each later message overwrites the scalars at their byte
 * positions in that buffer and returns it. FlatBuffers scalars are meant to
 * be mutable in place (flatc's `--gen-mutable` accessors do the same, with a
 * vtable lookup per field); the positions are looked up once, with the
 * generated accessors, when the template is built. Per message: a few
 * DataView stores; nothing allocated, no string encoded, no vtable built.
 *
 * A trade without a trade id has no `trade_id` field at all (JSON: null), so
 * a trades channel has two templates, with and without it.
 */
import { Builder, ByteBuffer } from 'flatbuffers';
import type { QuoteEvent, TradeEvent } from '../model/events.ts';
import { InvalidParameterError } from '../errors.ts';
import { BarField as F, BarSource as RecordBarSource } from '../model/records.ts';
import { BarSource } from '../../schema/generated/tickwire/wire/bar-source.ts';
import { BarUpdate } from '../../schema/generated/tickwire/wire/bar-update.ts';
import { Bar as FbsBar } from '../../schema/generated/tickwire/wire/bar.ts';
import { Body } from '../../schema/generated/tickwire/wire/body.ts';
import { Message } from '../../schema/generated/tickwire/wire/message.ts';
import { Quote } from '../../schema/generated/tickwire/wire/quote.ts';
import { Side } from '../../schema/generated/tickwire/wire/side.ts';
import { Trade } from '../../schema/generated/tickwire/wire/trade.ts';
import { channelParts } from './channels.ts';
import { BODY_TABLES } from './verify.ts';

const LE = true;

export const SIDE_CODE: Readonly<Record<string, Side>> = { buy: Side.Buy, sell: Side.Sell, unknown: Side.Unknown };

/** Byte offsets inside the Bar struct (schema/bar.fbs; the generated accessors read the same). */
const BAR_DOUBLES = 14; // open_time .. revision, 8 bytes each from offset 0
/** The record field of each of those doubles, in struct order. */
const STRUCT_DOUBLES = [
  F.OPEN_TIME, F.CLOSE_TIME, F.OPEN, F.HIGH, F.LOW, F.CLOSE, F.VOLUME,
  F.QUOTE_VOLUME, F.BUY_VOLUME, F.SELL_VOLUME, F.TRADES, F.VWAP, F.SPREAD, F.REVISION,
] as const;
const BAR_CLOSED = 112;
const BAR_GAPPED = 113;
const BAR_SOURCE = 114;

/** Absolute byte positions of the named fields of the message's body table (built with every field present). */
function fieldPositions(bytes: Uint8Array, type: Body, names: readonly string[]): number[] {
  const bb = new ByteBuffer(bytes);
  const body: { bb: ByteBuffer | null; bb_pos: number } = Message.getRootAsMessage(bb).body({ bb: null, bb_pos: 0 });
  const fields = BODY_TABLES[type]!.fields;
  return names.map((name) => {
    const slot = fields.findIndex((f) => f.name === name);
    const off = slot < 0 ? 0 : bb.__offset(body.bb_pos, 4 + 2 * slot);
    if (off === 0) throw new Error(`${BODY_TABLES[type]!.name}.${name} is not in the template`);
    return body.bb_pos + off;
  });
}

/** Finish the message around `body` and keep a copy of its bytes (the builder's buffer is reused). */
function finish(b: Builder, type: Body, body: number): Uint8Array {
  Message.finishMessageBuffer(b, Message.createMessage(b, type, body));
  return b.asUint8Array().slice();
}

/** A trades channel's message, with or without a trade id. */
export class TradeTemplate {
  readonly bytes: Uint8Array;
  readonly exchange: string;
  readonly symbol: string;
  readonly view: DataView;
  readonly seq: number;
  /** -1: this template has no trade_id field. */
  readonly tradeId: number;
  readonly price: number;
  readonly size: number;
  readonly side: number;
  readonly ts: number;
  readonly recvTs: number;

  constructor(b: Builder, channel: string, exchange: string, symbol: string, withTradeId: boolean) {
    b.clear();
    b.forceDefaults(true);
    const ch = b.createString(channel);
    const ex = b.createString(exchange);
    const sy = b.createString(symbol);
    Trade.startTrade(b);
    Trade.addSeq(b, 0);
    if (withTradeId) Trade.addTradeId(b, 0);
    Trade.addPrice(b, 0);
    Trade.addSize(b, 0);
    Trade.addTs(b, 0);
    Trade.addRecvTs(b, 0);
    Trade.addChannel(b, ch);
    Trade.addExchange(b, ex);
    Trade.addSymbol(b, sy);
    Trade.addSide(b, Side.Unknown);
    this.bytes = finish(b, Body.Trade, Trade.endTrade(b));
    this.exchange = exchange;
    this.symbol = symbol;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const names = ['seq', 'price', 'size', 'side', 'ts', 'recv_ts'];
    [this.seq, this.price, this.size, this.side, this.ts, this.recvTs] = fieldPositions(this.bytes, Body.Trade, names) as [number, number, number, number, number, number];
    this.tradeId = withTradeId ? fieldPositions(this.bytes, Body.Trade, ['trade_id'])[0]! : -1;
  }

  /** This channel's message for `e` at `seq` (the template's own bytes, overwritten by its next write). */
  write(seq: number, e: TradeEvent): Uint8Array {
    const v = this.view;
    v.setFloat64(this.seq, seq, LE);
    if (this.tradeId >= 0) v.setFloat64(this.tradeId, e.tradeId!, LE);
    v.setFloat64(this.price, e.price, LE);
    v.setFloat64(this.size, e.size, LE);
    v.setInt8(this.side, SIDE_CODE[e.side] ?? Side.Unknown);
    v.setFloat64(this.ts, e.ts, LE);
    v.setFloat64(this.recvTs, e.recvTs, LE);
    return this.bytes;
  }
}

/** A quotes channel's message. */
export class QuoteTemplate {
  readonly bytes: Uint8Array;
  readonly exchange: string;
  readonly symbol: string;
  readonly view: DataView;
  /** seq, bid_price, bid_size, ask_price, ask_size, ts, recv_ts. */
  readonly at: readonly number[];

  constructor(b: Builder, channel: string, exchange: string, symbol: string) {
    b.clear();
    b.forceDefaults(true);
    const ch = b.createString(channel);
    const ex = b.createString(exchange);
    const sy = b.createString(symbol);
    Quote.startQuote(b);
    Quote.addSeq(b, 0);
    Quote.addBidPrice(b, 0);
    Quote.addBidSize(b, 0);
    Quote.addAskPrice(b, 0);
    Quote.addAskSize(b, 0);
    Quote.addTs(b, 0);
    Quote.addRecvTs(b, 0);
    Quote.addChannel(b, ch);
    Quote.addExchange(b, ex);
    Quote.addSymbol(b, sy);
    this.bytes = finish(b, Body.Quote, Quote.endQuote(b));
    this.exchange = exchange;
    this.symbol = symbol;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.at = fieldPositions(this.bytes, Body.Quote, ['seq', 'bid_price', 'bid_size', 'ask_price', 'ask_size', 'ts', 'recv_ts']);
  }

  /** This channel's message for `e` at `seq` (the template's own bytes, overwritten by its next write). */
  write(seq: number, e: QuoteEvent): Uint8Array {
    const v = this.view;
    const at = this.at;
    v.setFloat64(at[0]!, seq, LE);
    v.setFloat64(at[1]!, e.bidPrice, LE);
    v.setFloat64(at[2]!, e.bidSize, LE);
    v.setFloat64(at[3]!, e.askPrice, LE);
    v.setFloat64(at[4]!, e.askSize, LE);
    v.setFloat64(at[5]!, e.ts, LE);
    v.setFloat64(at[6]!, e.recvTs, LE);
    return this.bytes;
  }
}

/** A bars channel's message; exchange, symbol and timeframe come from the channel name, as the JSON message's do. */
export class BarTemplate {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly seq: number;
  /** Start of the inline Bar struct. */
  readonly bar: number;

  constructor(b: Builder, channel: string) {
    const parts = channelParts(channel);
    if (parts === undefined || parts.kind !== 'bars') throw new InvalidParameterError('bars channel', channel, 'bars:<exchange>:<symbol>:<tf>');
    b.clear();
    b.forceDefaults(true);
    const ch = b.createString(channel);
    const ex = b.createString(parts.exchange);
    const sy = b.createString(parts.symbol);
    const tf = b.createString(parts.timeframe);
    BarUpdate.startBarUpdate(b);
    BarUpdate.addSeq(b, 0);
    BarUpdate.addBar(b, FbsBar.createBar(b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, false, false, BarSource.Live));
    BarUpdate.addChannel(b, ch);
    BarUpdate.addExchange(b, ex);
    BarUpdate.addSymbol(b, sy);
    BarUpdate.addTimeframe(b, tf);
    this.bytes = finish(b, Body.BarUpdate, BarUpdate.endBarUpdate(b));
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    [this.seq, this.bar] = fieldPositions(this.bytes, Body.BarUpdate, ['seq', 'bar']) as [number, number];
  }

  /** This channel's message for the bar record at `o` of `rec`, at `seq` (the template's own bytes, overwritten by its next write). */
  write(seq: number, rec: Float64Array, o: number): Uint8Array {
    const v = this.view;
    v.setFloat64(this.seq, seq, LE);
    writeBarStruct(v, this.bar, rec, o);
    return this.bytes;
  }
}

/**
 * Write the bar record at `o` of `rec` as a Bar struct (schema/bar.fbs) at
 * byte `at` of `v`: the one place the struct's bytes are laid out by hand
 * (live messages patch it in place; ready candles keep it per bar).
 */
export function writeBarStruct(v: DataView, at: number, rec: Float64Array, o: number): void {
  for (let i = 0; i < BAR_DOUBLES; i++) v.setFloat64(at + i * 8, rec[o + STRUCT_DOUBLES[i]!]!, LE);
  v.setUint8(at + BAR_CLOSED, rec[o + F.CLOSED] === 1 ? 1 : 0);
  v.setUint8(at + BAR_GAPPED, rec[o + F.GAPPED] === 1 ? 1 : 0);
  v.setUint8(at + BAR_SOURCE, rec[o + F.SOURCE] === RecordBarSource.BACKFILL ? BarSource.Backfill : BarSource.Live);
}
