/**
 * Decoding of binary stream messages and candle responses into the JSON
 * protocol's objects. See src/wire/fbs.ts for the format's contract.
 *
 * Every buffer is verified first (src/wire/verify.ts): a truncated, corrupt
 * or foreign buffer throws TickwireError(INVALID_PARAMETER), and the reads
 * that follow stay inside the buffer. Values come out as JSON carries them:
 * null for an absent trade id and for any non-finite double, 0 for -0,
 * `gapped` and `source` only when set.
 */
import { ByteBuffer } from 'flatbuffers';
import type { SideName } from '../model/events.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import { Alert } from '../../schema/generated/tickwire/wire/alert.ts';
import { BarSource } from '../../schema/generated/tickwire/wire/bar-source.ts';
import { BarUpdate } from '../../schema/generated/tickwire/wire/bar-update.ts';
import { Bar as FbsBar } from '../../schema/generated/tickwire/wire/bar.ts';
import { Body } from '../../schema/generated/tickwire/wire/body.ts';
import { Candles } from '../../schema/generated/tickwire/wire/candles.ts';
import { ErrorReply } from '../../schema/generated/tickwire/wire/error-reply.ts';
import { Gap } from '../../schema/generated/tickwire/wire/gap.ts';
import { Message } from '../../schema/generated/tickwire/wire/message.ts';
import { Pong } from '../../schema/generated/tickwire/wire/pong.ts';
import { Quote } from '../../schema/generated/tickwire/wire/quote.ts';
import { Side } from '../../schema/generated/tickwire/wire/side.ts';
import { Snapshot } from '../../schema/generated/tickwire/wire/snapshot.ts';
import { Subscribed } from '../../schema/generated/tickwire/wire/subscribed.ts';
import { StorageState } from '../../schema/generated/tickwire/wire/storage-state.ts';
import { System } from '../../schema/generated/tickwire/wire/system.ts';
import { Trade } from '../../schema/generated/tickwire/wire/trade.ts';
import { Unsubscribed } from '../../schema/generated/tickwire/wire/unsubscribed.ts';
import type { AlertMessage, BarJson, CandlesResponse, ExchangeSystemMessage, GapReason, Id, StorageSystemMessage, StreamMessage } from './messages.ts';
import { verifyCandles, verifyMessage } from './verify.ts';

const LEVEL_NAME: readonly AlertMessage['level'][] = ['info', 'warning', 'critical'];

/** A double as JSON carries it: non-finite is null; -0 is 0 (JSON prints "0"). */
function json(v: number): number {
  // Typed as number: the fields this is used for are finite whenever the server wrote them.
  return (Number.isFinite(v) ? v + 0 : null) as number;
}

/** A nullable double as JSON carries it. */
function nullable(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : v + 0;
}

/** The contract's side name; an unknown code is 'unknown'. */
function sideName(v: number): SideName {
  return v === Side.Buy ? 'buy' : v === Side.Sell ? 'sell' : 'unknown';
}

/** A Bar struct as the JSON Bar object (`gapped`, `source` only when set). */
function readBar(s: FbsBar): BarJson {
  const out: BarJson = {
    openTime: json(s.openTime()),
    closeTime: json(s.closeTime()),
    open: json(s.open()),
    high: json(s.high()),
    low: json(s.low()),
    close: json(s.close()),
    volume: json(s.volume()),
    quoteVolume: json(s.quoteVolume()),
    buyVolume: json(s.buyVolume()),
    sellVolume: json(s.sellVolume()),
    trades: json(s.trades()),
    vwap: nullable(s.vwap()),
    spread: nullable(s.spread()),
    closed: s.closed(),
    revision: json(s.revision()),
  };
  if (s.gapped()) out.gapped = true;
  if (s.source() === BarSource.Backfill) out.source = 'backfill';
  return out;
}

/** `n` bars through `at`, one reused struct accessor. */
function readBars(n: number, at: (i: number, s: FbsBar) => FbsBar | null): BarJson[] {
  const out = new Array<BarJson>(n);
  const s = new FbsBar();
  for (let i = 0; i < n; i++) out[i] = readBar(at(i, s)!);
  return out;
}

/** A reply's id: the string, else the number, else null. */
function readId(t: { idNum(): number | null; idStr(): string | null }): Id {
  const s = t.idStr();
  if (s !== null) return s;
  const n = t.idNum();
  return n === null || !Number.isFinite(n) ? null : n + 0;
}

/** `n` strings through `at`. */
function readStrings(n: number, at: (i: number) => string): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = at(i);
  return out;
}

/** A decoded value outside the schema's enums: INVALID_PARAMETER. */
function corrupt(why: string): TickwireError {
  return new TickwireError(ErrorCode.INVALID_PARAMETER, `invalid FlatBuffers stream message: ${why}`);
}

/** The bytes of a Uint8Array (Node Buffer included) or an ArrayBuffer (browser WebSocket binaryType 'arraybuffer'). */
function toBytes(data: Uint8Array | ArrayBuffer): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TickwireError(ErrorCode.INVALID_PARAMETER, 'invalid FlatBuffers message: expected a Uint8Array or an ArrayBuffer');
}

/**
 * Decode one binary stream message (one WebSocket binary frame) into the
 * object `JSON.parse` gives for its JSON form. Throws TickwireError
 * (INVALID_PARAMETER) for a truncated, corrupt or foreign buffer.
 */
export function decodeMessage(data: Uint8Array | ArrayBuffer): StreamMessage {
  const bytes = toBytes(data);
  const type = verifyMessage(bytes);
  const bb = new ByteBuffer(bytes);
  const msg = Message.getRootAsMessage(bb);
  switch (type as Body) {
    case Body.Trade: {
      const t: Trade = msg.body(new Trade());
      return {
        type: 'trade', channel: t.channel(), seq: json(t.seq()), exchange: t.exchange(), symbol: t.symbol(),
        tradeId: nullable(t.tradeId()), price: json(t.price()), size: json(t.size()), side: sideName(t.side()),
        ts: json(t.ts()), recvTs: json(t.recvTs()),
      };
    }
    case Body.Quote: {
      const q: Quote = msg.body(new Quote());
      return {
        type: 'quote', channel: q.channel(), seq: json(q.seq()), exchange: q.exchange(), symbol: q.symbol(),
        bidPrice: json(q.bidPrice()), bidSize: json(q.bidSize()), askPrice: json(q.askPrice()), askSize: json(q.askSize()),
        ts: json(q.ts()), recvTs: json(q.recvTs()),
      };
    }
    case Body.BarUpdate: {
      const u: BarUpdate = msg.body(new BarUpdate());
      return {
        type: 'bar', channel: u.channel(), seq: json(u.seq()), exchange: u.exchange(), symbol: u.symbol(),
        timeframe: u.timeframe(), ...readBar(u.bar(new FbsBar())!), // required: verified present
      };
    }
    case Body.Snapshot: {
      const s: Snapshot = msg.body(new Snapshot());
      return { type: 'snapshot', channel: s.channel(), seq: json(s.seq()), bars: readBars(s.barsLength(), (i, o) => s.bars(i, o)) };
    }
    case Body.Gap: {
      const g: Gap = msg.body(new Gap());
      return { type: 'gap', channel: g.channel(), fromSeq: json(g.fromSeq()), toSeq: json(g.toSeq()), reason: g.reason() as GapReason };
    }
    case Body.Subscribed: {
      const s: Subscribed = msg.body(new Subscribed());
      return { type: 'subscribed', id: readId(s), channels: readStrings(s.channelsLength(), (i) => s.channels(i)), epoch: s.epoch() };
    }
    case Body.Unsubscribed: {
      const u: Unsubscribed = msg.body(new Unsubscribed());
      return { type: 'unsubscribed', id: readId(u), channels: readStrings(u.channelsLength(), (i) => u.channels(i)) };
    }
    case Body.ErrorReply: {
      const e: ErrorReply = msg.body(new ErrorReply());
      return { type: 'error', id: readId(e), code: e.code(), message: e.message() };
    }
    case Body.Pong:
      return { type: 'pong', id: readId(msg.body(new Pong()) as Pong) };
    case Body.System: {
      const s: System = msg.body(new System());
      return {
        type: 'system', channel: 'system', seq: json(s.seq()), exchange: s.exchange(), state: s.state() as ExchangeSystemMessage['state'],
        reconnects: json(s.reconnects()), restarts: json(s.restarts()), lastError: s.lastError(), ts: json(s.ts()),
      };
    }
    case Body.StorageState: {
      const s: StorageState = msg.body(new StorageState());
      return {
        type: 'system', channel: 'system', seq: json(s.seq()), source: 'storage', state: s.state() as StorageSystemMessage['state'],
        reason: s.reason(), errno: s.errno(), corrupt: s.corrupt(), movedTo: s.movedTo(), ts: json(s.ts()),
      };
    }
    case Body.Alert: {
      const a: Alert = msg.body(new Alert());
      const level = LEVEL_NAME[a.level()];
      if (level === undefined) throw corrupt(`alert level ${a.level()} is unknown`);
      return {
        type: 'alert', channel: 'alerts', seq: json(a.seq()), id: a.id(), level,
        source: a.source(), message: a.message(), ts: json(a.ts()),
      };
    }
    default:
      // verifyMessage admits only the union's members: a new member without a case here is a bug.
      throw new TickwireError(ErrorCode.INTERNAL_ERROR, `message type ${type} has no decoder`);
  }
}

/** Decode the body of `GET /v1/candles/...?format=fbs` into the JSON answer's shape. */
export function decodeCandles(data: Uint8Array | ArrayBuffer): CandlesResponse {
  const bytes = toBytes(data);
  verifyCandles(bytes);
  const c = Candles.getRootAsCandles(new ByteBuffer(bytes));
  const n = c.candlesLength();
  return {
    exchange: c.exchange(),
    symbol: c.symbol(),
    timeframe: c.timeframe(),
    count: n,
    candles: readBars(n, (i, o) => c.candles(i, o)),
  };
}
