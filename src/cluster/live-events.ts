/**
 * The live stream's messages as library events: a payload decoded from the
 * project's FlatBuffers wire format (src/wire/fbs.ts) becomes the trade,
 * quote or bar update it carries, with the seq the feed assigned. Shared by
 * the edge's live consumer (edge-runtime.ts) and its replays from the stream
 * (live-archive.ts), so both serve exactly the same events. Pure: no I/O.
 */
import type { BarUpdate, QuoteEvent, TradeEvent } from '../model/events.ts';
import type { Bar } from '../model/records.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import type { MarketKind } from '../wire/channels.ts';
import type { BarJson, StreamMessage } from '../wire/messages.ts';

/** A market channel a live subject carries. */
export interface LiveChannel {
  readonly kind: MarketKind;
  readonly exchange: string;
  readonly symbol: string;
  readonly timeframe: TimeframeName | undefined;
}

/** `msg` as the event of `channel` with `seq`; undefined when its type is not the channel's kind (dropped by the caller). */
export function liveEvent(channel: LiveChannel, msg: StreamMessage, seq: number): TradeEvent | QuoteEvent | BarUpdate | undefined {
  if (channel.kind === 'trades' && msg.type === 'trade') {
    const e: TradeEvent = msg;
    e.seq = seq;
    return e;
  }
  if (channel.kind === 'quotes' && msg.type === 'quote') {
    const e: QuoteEvent = msg;
    e.seq = seq;
    return e;
  }
  if (channel.kind === 'bars' && msg.type === 'bar' && channel.timeframe !== undefined) {
    return { exchange: channel.exchange, symbol: channel.symbol, timeframe: channel.timeframe, bar: toBar(msg), seq };
  }
  return undefined;
}

/** A wire bar as the library's Bar (the wire carries no trade ids). */
export function toBar(b: BarJson): Bar {
  const bar: Bar = {
    openTime: b.openTime, closeTime: b.closeTime, open: b.open, high: b.high, low: b.low, close: b.close,
    volume: b.volume, quoteVolume: b.quoteVolume, buyVolume: b.buyVolume, sellVolume: b.sellVolume, trades: b.trades,
    firstTradeId: null, lastTradeId: null, vwap: b.vwap, spread: b.spread, closed: b.closed, revision: b.revision,
  };
  if (b.gapped === true) bar.gapped = true;
  if (b.source === 'backfill') bar.source = 'backfill';
  return bar;
}
