/**
 * FlatBuffers encoding of the stream messages and the HTTP candles response
 * (schema/*.fbs). See src/wire/fbs.ts for the format's contract.
 *
 * Cost per message (the server encodes each message once per format, and
 * only when the channel has subscribers in that format):
 *  - trade, quote, bar: the channel's prepared message, scalars overwritten
 *    in place (src/wire/live-template.ts): no allocation, no string encoding.
 *    A bar is written from its float64 record (a bar event is copied into a
 *    reused one first), as snapshots and candles are.
 *  - snapshot, candles: bars copied from their float64 records in shared
 *    memory through a BarVisitor into a reused scratch array, then written as
 *    a vector of structs: no Bar objects.
 *  - the rest (replies, gaps, rooms; rare): built in one reused flatbuffers
 *    Builder (`clear()`, never a new one); it grows to the largest message
 *    built and stays there (a 5000-bar candles answer: about 600 KB).
 */
import { Builder } from 'flatbuffers';
import type { QuoteEvent, TradeEvent } from '../model/events.ts';
import type { BarVisitor } from '../buffers/bar-store.ts';
import { InvalidParameterError } from '../errors.ts';
import { BAR_FIELDS, BarField as F, BarSource as RecordBarSource, writeBar, type Bar } from '../model/records.ts';
import { Alert } from '../../schema/generated/tickwire/wire/alert.ts';
import { AlertLevel } from '../../schema/generated/tickwire/wire/alert-level.ts';
import { BarSource } from '../../schema/generated/tickwire/wire/bar-source.ts';
import { Bar as FbsBar } from '../../schema/generated/tickwire/wire/bar.ts';
import { Body } from '../../schema/generated/tickwire/wire/body.ts';
import { Candles } from '../../schema/generated/tickwire/wire/candles.ts';
import { ErrorReply } from '../../schema/generated/tickwire/wire/error-reply.ts';
import { Gap } from '../../schema/generated/tickwire/wire/gap.ts';
import { Message } from '../../schema/generated/tickwire/wire/message.ts';
import { Pong } from '../../schema/generated/tickwire/wire/pong.ts';
import { Snapshot } from '../../schema/generated/tickwire/wire/snapshot.ts';
import { StorageState } from '../../schema/generated/tickwire/wire/storage-state.ts';
import { Subscribed } from '../../schema/generated/tickwire/wire/subscribed.ts';
import { System } from '../../schema/generated/tickwire/wire/system.ts';
import { Unsubscribed } from '../../schema/generated/tickwire/wire/unsubscribed.ts';
import { BarTemplate, QuoteTemplate, TradeTemplate } from './live-template.ts';
import type { AlertMessage, Id, SystemBody } from './messages.ts';

/** Channels whose prepared live messages are kept, per kind (a few hundred bytes each). */
const TEMPLATE_LIMIT = 8192;
/** Starting size of the Builder's buffer, bytes. */
const INITIAL_BUFFER = 1024;

const LEVEL_CODE: Readonly<Record<string, AlertLevel>> = { info: AlertLevel.Info, warning: AlertLevel.Warning, critical: AlertLevel.Critical };

/** Bytes of one Bar struct (schema/bar.fbs), as a vector of bars lays them out. */
export const BAR_STRUCT_BYTES = FbsBar.sizeOf();

/** Float64 fields of a bar kept per collected bar: the record's OPEN_TIME..REVISION, then closed, gapped, source. */
const COLLECTED_FIELDS = 17;

/**
 * A BarVisitor that copies each visited bar record's wire fields into a
 * reused scratch array: vectors of structs are built back to front, and the
 * count is only known at the end. `begin()` drops a failed seqlock attempt.
 */
class BarCollector implements BarVisitor {
  count = 0;
  data = new Float64Array(64 * COLLECTED_FIELDS);

  begin(): void {
    this.count = 0;
  }

  onBar(buf: Float64Array, o: number): void {
    let d = this.data;
    const at = this.count * COLLECTED_FIELDS;
    if (at + COLLECTED_FIELDS > d.length) {
      const grown = new Float64Array(d.length * 2);
      grown.set(d);
      this.data = d = grown;
    }
    d[at] = buf[o + F.OPEN_TIME]!;
    d[at + 1] = buf[o + F.CLOSE_TIME]!;
    d[at + 2] = buf[o + F.OPEN]!;
    d[at + 3] = buf[o + F.HIGH]!;
    d[at + 4] = buf[o + F.LOW]!;
    d[at + 5] = buf[o + F.CLOSE]!;
    d[at + 6] = buf[o + F.VOLUME]!;
    d[at + 7] = buf[o + F.QUOTE_VOLUME]!;
    d[at + 8] = buf[o + F.BUY_VOLUME]!;
    d[at + 9] = buf[o + F.SELL_VOLUME]!;
    d[at + 10] = buf[o + F.TRADES]!;
    d[at + 11] = buf[o + F.VWAP]!;
    d[at + 12] = buf[o + F.SPREAD]!;
    d[at + 13] = buf[o + F.REVISION]!;
    d[at + 14] = buf[o + F.CLOSED]!;
    d[at + 15] = buf[o + F.GAPPED]!;
    d[at + 16] = buf[o + F.SOURCE]!;
    this.count++;
  }

  /** Write the collected bars as a vector of Bar structs (oldest first); call between nothing else's start/end. */
  writeVector(b: Builder): number {
    const n = this.count;
    const d = this.data;
    b.startVector(FbsBar.sizeOf(), n, 8);
    for (let i = n - 1; i >= 0; i--) {
      const at = i * COLLECTED_FIELDS;
      FbsBar.createBar(
        b, d[at]!, d[at + 1]!, d[at + 2]!, d[at + 3]!, d[at + 4]!, d[at + 5]!, d[at + 6]!, d[at + 7]!, d[at + 8]!,
        d[at + 9]!, d[at + 10]!, d[at + 11]!, d[at + 12]!, d[at + 13]!,
        d[at + 14] === 1, d[at + 15] === 1, d[at + 16] === RecordBarSource.BACKFILL ? BarSource.Backfill : BarSource.Live,
      );
    }
    return b.endVector();
  }
}

/** Keep a channel's template; past TEMPLATE_LIMIT channels the cache starts over (bounded memory). */
function remember<T>(cache: Map<string, T>, channel: string, t: T): void {
  if (cache.size >= TEMPLATE_LIMIT) cache.clear();
  cache.set(channel, t);
}

/**
 * Encodes stream messages and candle responses as FlatBuffers. Live messages
 * (trade, quote, bar) are per-channel prepared buffers patched in place; the
 * others are built in one reused Builder. Each returned view is valid until
 * the next call on this encoder: send (or copy) it first.
 */
export class FbsEncoder {
  readonly #b: Builder;
  readonly #bars = new BarCollector();
  /** Prepared live messages per channel (src/wire/live-template.ts). */
  readonly #tradesWithId = new Map<string, TradeTemplate>();
  readonly #tradesWithoutId = new Map<string, TradeTemplate>();
  readonly #quotes = new Map<string, QuoteTemplate>();
  readonly #barTemplates = new Map<string, BarTemplate>();
  /** A bar event copied into a record, so bars have one encoder (from the record). */
  readonly #barRecord = new Float64Array(BAR_FIELDS);

  constructor(initialSize = INITIAL_BUFFER) {
    this.#b = new Builder(initialSize);
  }

  /**
   * Size of the largest live message `channel` can carry, bytes (numbers are
   * fixed-width, so one sample with every optional field tells).
   */
  maxBytes(kind: 'trades' | 'quotes' | 'bars', channel: string, exchange: string, symbol: string): number {
    const n = -0.0000012345678901234567;
    switch (kind) {
      case 'trades':
        return this.trade(channel, n, { exchange, symbol, tradeId: n, price: n, size: n, side: 'unknown', ts: n, recvTs: n }).byteLength;
      case 'quotes':
        return this.quote(channel, n, { exchange, symbol, bidPrice: n, bidSize: n, askPrice: n, askSize: n, ts: n, recvTs: n }).byteLength;
      case 'bars':
        return this.bar(channel, n, {
          openTime: n, closeTime: n, open: n, high: n, low: n, close: n, volume: n, quoteVolume: n, buyVolume: n, sellVolume: n,
          trades: n, firstTradeId: n, lastTradeId: n, vwap: n, spread: n, closed: true, revision: n, gapped: true, source: 'backfill',
        }).byteLength;
    }
  }

  /** A trade on its channel at `seq`: the channel's prepared message with this trade's values. */
  trade(channel: string, seq: number, e: TradeEvent): Uint8Array {
    // JSON writes null for a missing or non-finite trade id: that message has no trade_id field.
    const withId = e.tradeId !== null && Number.isFinite(e.tradeId);
    const cache = withId ? this.#tradesWithId : this.#tradesWithoutId;
    let t = cache.get(channel);
    if (t === undefined || t.exchange !== e.exchange || t.symbol !== e.symbol) {
      t = new TradeTemplate(this.#b, channel, e.exchange, e.symbol, withId);
      remember(cache, channel, t);
    }
    return t.write(seq, e);
  }

  /** A quote on its channel at `seq`: the channel's prepared message with this quote's values. */
  quote(channel: string, seq: number, e: QuoteEvent): Uint8Array {
    let t = this.#quotes.get(channel);
    if (t === undefined || t.exchange !== e.exchange || t.symbol !== e.symbol) {
      t = new QuoteTemplate(this.#b, channel, e.exchange, e.symbol);
      remember(this.#quotes, channel, t);
    }
    return t.write(seq, e);
  }

  /**
   * A bar update on `bars:<exchange>:<symbol>:<tf>`; exchange, symbol and
   * timeframe are read from the channel name (the JSON message carries the same).
   * The bar is copied into a reused record (no allocation) that the channel's
   * template is written from.
   */
  bar(channel: string, seq: number, bar: Bar): Uint8Array {
    let t = this.#barTemplates.get(channel);
    if (t === undefined) {
      t = new BarTemplate(this.#b, channel);
      remember(this.#barTemplates, channel, t);
    }
    writeBar(bar, this.#barRecord, 0);
    return t.write(seq, this.#barRecord, 0);
  }

  /**
   * A snapshot of a bars channel at `seq`: `visit` reads the bars into the
   * visitor it is given, in place (e.g. `(v) => tw.visitBars(ex, sym, tf, v, { limit })`).
   */
  snapshot(channel: string, seq: number, visit: (v: BarVisitor) => number): Uint8Array {
    const bars = this.#collect(visit);
    const b = this.#start();
    const ch = b.createString(channel);
    const vec = bars.writeVector(b);
    Snapshot.startSnapshot(b);
    Snapshot.addSeq(b, seq);
    Snapshot.addChannel(b, ch);
    Snapshot.addBars(b, vec);
    return this.#finish(Body.Snapshot, Snapshot.endSnapshot(b));
  }

  /** Seqs `fromSeq`..`toSeq` of `channel` will not arrive (`slow_consumer`, `history`). */
  gap(channel: string, fromSeq: number, toSeq: number, reason: string): Uint8Array {
    const b = this.#start();
    const ch = b.createString(channel);
    const r = b.createString(reason);
    Gap.startGap(b);
    Gap.addFromSeq(b, fromSeq);
    Gap.addToSeq(b, toSeq);
    Gap.addChannel(b, ch);
    Gap.addReason(b, r);
    return this.#finish(Body.Gap, Gap.endGap(b));
  }

  /** Reply to a subscribe: the concrete channels and the server's epoch. */
  subscribed(id: Id, channels: readonly string[], epoch: string): Uint8Array {
    const b = this.#start();
    const idStr = this.#idString(id);
    const list = this.#nameVector(channels);
    const ep = b.createString(epoch);
    Subscribed.startSubscribed(b);
    if (typeof id === 'number' && Number.isFinite(id)) Subscribed.addIdNum(b, id);
    Subscribed.addIdStr(b, idStr);
    Subscribed.addChannels(b, list);
    Subscribed.addEpoch(b, ep);
    return this.#finish(Body.Subscribed, Subscribed.endSubscribed(b));
  }

  /** Reply to an unsubscribe. */
  unsubscribed(id: Id, channels: readonly string[]): Uint8Array {
    const b = this.#start();
    const idStr = this.#idString(id);
    const list = this.#nameVector(channels);
    Unsubscribed.startUnsubscribed(b);
    if (typeof id === 'number' && Number.isFinite(id)) Unsubscribed.addIdNum(b, id);
    Unsubscribed.addIdStr(b, idStr);
    Unsubscribed.addChannels(b, list);
    return this.#finish(Body.Unsubscribed, Unsubscribed.endUnsubscribed(b));
  }

  /** A rejected client message. */
  error(id: Id, code: string, message: string): Uint8Array {
    const b = this.#start();
    const idStr = this.#idString(id);
    const c = b.createString(code);
    const m = b.createString(message);
    ErrorReply.startErrorReply(b);
    if (typeof id === 'number' && Number.isFinite(id)) ErrorReply.addIdNum(b, id);
    ErrorReply.addIdStr(b, idStr);
    ErrorReply.addCode(b, c);
    ErrorReply.addMessage(b, m);
    return this.#finish(Body.ErrorReply, ErrorReply.endErrorReply(b));
  }

  /** Reply to a ping. */
  pong(id: Id): Uint8Array {
    const b = this.#start();
    const idStr = this.#idString(id);
    Pong.startPong(b);
    if (typeof id === 'number' && Number.isFinite(id)) Pong.addIdNum(b, id);
    Pong.addIdStr(b, idStr);
    return this.#finish(Body.Pong, Pong.endPong(b));
  }

  /** An exchange's connection state, or storage's state, in the `system` room. */
  system(seq: number, body: SystemBody): Uint8Array {
    if (body.source === 'storage') return this.#storage(seq, body);
    // A strategy's state rides in the exchange table (messages.ts, StrategySystemMessage).
    const m = body.source === 'strategy'
      ? { exchange: `strategy:${body.strategy}`, state: body.state, lastError: body.lastError, reconnects: body.timeouts, restarts: body.errors, ts: body.ts }
      : body;
    const b = this.#start();
    const ex = b.createString(m.exchange);
    const st = b.createString(m.state);
    const err = m.lastError === null ? 0 : b.createString(m.lastError);
    System.startSystem(b);
    System.addSeq(b, seq);
    System.addReconnects(b, m.reconnects);
    System.addRestarts(b, m.restarts);
    System.addTs(b, m.ts);
    System.addExchange(b, ex);
    System.addState(b, st);
    if (err !== 0) System.addLastError(b, err);
    return this.#finish(Body.System, System.endSystem(b));
  }

  #storage(seq: number, m: Extract<SystemBody, { source: 'storage' }>): Uint8Array {
    const b = this.#start();
    const opt = (v: string | null): number => (v === null ? 0 : b.createString(v));
    const st = b.createString(m.state);
    const reason = opt(m.reason);
    const errno = opt(m.errno);
    const corrupt = opt(m.corrupt);
    const movedTo = opt(m.movedTo);
    StorageState.startStorageState(b);
    StorageState.addSeq(b, seq);
    StorageState.addTs(b, m.ts);
    StorageState.addState(b, st);
    if (reason !== 0) StorageState.addReason(b, reason);
    if (errno !== 0) StorageState.addErrno(b, errno);
    if (corrupt !== 0) StorageState.addCorrupt(b, corrupt);
    if (movedTo !== 0) StorageState.addMovedTo(b, movedTo);
    return this.#finish(Body.StorageState, StorageState.endStorageState(b));
  }

  /** An alert in the `alerts` room. */
  alert(seq: number, m: Omit<AlertMessage, 'type' | 'channel' | 'seq'>): Uint8Array {
    const level = LEVEL_CODE[m.level];
    if (level === undefined) throw new InvalidParameterError('alert level', m.level, 'one of info, warning, critical');
    const b = this.#start();
    const id = b.createString(m.id);
    const source = b.createString(m.source);
    const message = b.createString(m.message);
    Alert.startAlert(b);
    Alert.addSeq(b, seq);
    Alert.addTs(b, m.ts);
    Alert.addId(b, id);
    Alert.addSource(b, source);
    Alert.addMessage(b, message);
    Alert.addLevel(b, level);
    return this.#finish(Body.Alert, Alert.endAlert(b));
  }

  /** The body of `GET /v1/candles/...?format=fbs`: the bars `visit` reads, oldest first. */
  candles(exchange: string, symbol: string, timeframe: string, visit: (v: BarVisitor) => number): Uint8Array {
    const bars = this.#collect(visit);
    const b = this.#start();
    const ex = b.createString(exchange);
    const sy = b.createString(symbol);
    const tf = b.createString(timeframe);
    const vec = bars.writeVector(b);
    Candles.startCandles(b);
    Candles.addExchange(b, ex);
    Candles.addSymbol(b, sy);
    Candles.addTimeframe(b, tf);
    Candles.addCandles(b, vec);
    const root = Candles.endCandles(b);
    Candles.finishCandlesBuffer(b, root);
    return b.asUint8Array();
  }

  /**
   * The same body as `candles`, from bars already laid out as Bar structs
   * (ready-candles.ts keeps them per closed bar): `fill(dst, at)` writes the
   * `count` structs, oldest first, as `count × BAR_STRUCT_BYTES` bytes at
   * `dst[at..]`.
   */
  candlesFromStructs(exchange: string, symbol: string, timeframe: string, count: number, fill: (dst: Uint8Array, at: number) => void): Uint8Array {
    const b = this.#start();
    const ex = b.createString(exchange);
    const sy = b.createString(symbol);
    const tf = b.createString(timeframe);
    const size = count * BAR_STRUCT_BYTES;
    b.startVector(BAR_STRUCT_BYTES, count, 8);
    // What the Builder's own createByteVector does: take `size` bytes below its free-space mark
    // (`space`, not in its typings) and copy into them; startVector has made the room, aligned.
    const room = b as unknown as { space: number };
    room.space -= size;
    const bb = b.dataBuffer();
    bb.setPosition(room.space);
    fill(bb.bytes(), room.space);
    const vec = b.endVector();
    Candles.startCandles(b);
    Candles.addExchange(b, ex);
    Candles.addSymbol(b, sy);
    Candles.addTimeframe(b, tf);
    Candles.addCandles(b, vec);
    Candles.finishCandlesBuffer(b, Candles.endCandles(b));
    return b.asUint8Array();
  }

  // ── internals ──────────────────────────────────────────────────────────

  #start(): Builder {
    const b = this.#b;
    b.clear();
    return b;
  }

  #finish(type: Body, body: number): Uint8Array {
    const b = this.#b;
    Message.finishMessageBuffer(b, Message.createMessage(b, type, body));
    return b.asUint8Array();
  }

  /** Read bars through the collector; the visit happens before the builder is touched (it may throw). */
  #collect(visit: (v: BarVisitor) => number): BarCollector {
    const bars = this.#bars;
    bars.begin();
    visit(bars);
    return bars;
  }

  #nameVector(names: readonly string[]): number {
    const b = this.#b;
    const offsets = new Array<number>(names.length);
    for (let i = 0; i < names.length; i++) offsets[i] = b.createString(names[i]!);
    b.startVector(4, offsets.length, 4);
    for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
    return b.endVector();
  }

  /** The `id_str` string when the id is a string (0: no field). */
  #idString(id: Id): number {
    return typeof id === 'string' ? this.#b.createString(id) : 0;
  }
}

