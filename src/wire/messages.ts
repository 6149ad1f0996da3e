/**
 * Every server→client message of `/v1/stream` as a plain object, exactly the
 * JSON protocol's shape: the same field names and values as the JSON text the
 * server sends (src/wire/json.ts for the live messages), so
 * `JSON.parse(text)` and `decodeMessage(bytes)` (src/wire/fbs.ts) give equal
 * objects for the same message in either format.
 *
 * Numbers: JSON has no NaN or ±Infinity, and the server writes null where a
 * double is not finite; the binary decoder does the same. The fields typed
 * `number | null` are the ones that are null in normal operation; the others
 * are always finite when the server produced them.
 */
import type { LeadershipEvent, QuoteEvent, TradeEvent } from '../model/events.ts';
import type { ExchangeState } from '../model/status.ts';
import type { FillEvent, PredictionEvent, SignalEvent, StrategyState } from '../model/strategy.ts';

/** A request id as the client chose it (echoed in replies); null when it sent none. */
export type Id = number | string | null;

/** A bar as the JSON protocol carries it (docs/protocol.md; the Bar schema of /openapi.json). */
export interface BarJson {
  openTime: number;
  closeTime: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  quoteVolume: number;
  buyVolume: number;
  sellVolume: number;
  trades: number;
  /** null when the bar has no volume. */
  vwap: number | null;
  /** Mean quoted spread; null without quotes. */
  spread: number | null;
  closed: boolean;
  revision: number;
  /** Present (true) only when trades may be missing from the bar. */
  gapped?: true;
  /** Present only when the bar was fetched from the venue's klines rather than built from live trades. */
  source?: 'backfill';
}

/** `trades:<exchange>:<symbol>`: one trade. */
export interface TradeMessage extends TradeEvent {
  type: 'trade';
  channel: string;
  seq: number;
}

/** `quotes:<exchange>:<symbol>`: best bid and offer. */
export interface QuoteMessage extends QuoteEvent {
  type: 'quote';
  channel: string;
  seq: number;
}

/** `bars:<exchange>:<symbol>:<tf>`: a forming, closed or amended bar. */
export interface BarMessage extends BarJson {
  type: 'bar';
  channel: string;
  seq: number;
  exchange: string;
  symbol: string;
  timeframe: string;
}

/** The last bars of a bars channel (oldest first) at `seq`; the live stream continues at seq + 1. */
export interface SnapshotMessage {
  type: 'snapshot';
  channel: string;
  seq: number;
  bars: BarJson[];
}

/** Why seqs were skipped: the client read too slowly, or resume history no longer reached back. */
export type GapReason = 'slow_consumer' | 'history';

/** Seqs `fromSeq`..`toSeq` of `channel` will not arrive. */
export interface GapMessage {
  type: 'gap';
  channel: string;
  fromSeq: number;
  toSeq: number;
  reason: GapReason;
}

/** Reply to a subscribe: the concrete channels (wildcards expanded) and the server's epoch. */
export interface SubscribedMessage {
  type: 'subscribed';
  id: Id;
  channels: string[];
  /** Random id of this server process's life; seqs restart with a new epoch. */
  epoch: string;
}

export interface UnsubscribedMessage {
  type: 'unsubscribed';
  id: Id;
  channels: string[];
}

/** Why a channel ended: `removed` (its symbol was removed live, docs/operations.md) or `idle` (a symbol on demand nobody received for `idleS`, docs/on-demand.md). */
export type ClosedReason = 'removed' | 'idle';

/**
 * A channel's last message: the server ended it and unsubscribed the
 * connection. Binary (FlatBuffers) connections get an `Unsubscribed` with no
 * id for the same channel instead.
 */
export interface ClosedMessage {
  type: 'closed';
  channel: string;
  reason: ClosedReason;
}

/** A rejected client message; `code` is a stable ErrorCode. */
export interface ErrorMessage {
  type: 'error';
  id: Id;
  code: string;
  message: string;
}

export interface PongMessage {
  type: 'pong';
  id: Id;
}

/**
 * Room `system`: an exchange's connection state changed, or storage's state
 * did (`source: 'storage'`); right after subscribing, every exchange's state
 * and storage's (when storage is on).
 */
export type SystemMessage = ExchangeSystemMessage | StorageSystemMessage | StrategySystemMessage | ClusterSystemMessage;

/** Room `system`: an exchange's connection state. */
export interface ExchangeSystemMessage {
  type: 'system';
  channel: 'system';
  seq: number;
  /** Absent: an exchange's state (`'storage'` marks the other kind). */
  source?: never;
  exchange: string;
  state: ExchangeState;
  reconnects: number;
  restarts: number;
  lastError: string | null;
  /** When the state was observed, ms. */
  ts: number;
}

/** Room `system`: closed-bar storage went degraded (with the reason) or back to ok. */
export interface StorageSystemMessage {
  type: 'system';
  channel: 'system';
  seq: number;
  source: 'storage';
  /** 'degraded': bars are kept in memory and writes retried with backoff. */
  state: 'ok' | 'degraded';
  /** Why it is degraded (the last error), null when ok. */
  reason: string | null;
  /** The system error behind `reason` (ENOSPC, EIO, EACCES, EROFS…), null when none. */
  errno: string | null;
  /** What start-up verification found wrong with the database, null when nothing. */
  corrupt: string | null;
  /** Where the corrupt database was moved aside, null when it was not. */
  movedTo: string | null;
  /** When the state was observed, ms. */
  ts: number;
}

/**
 * Room `system`: a strategy failed (an error or a timeout) or changed state
 * (warming, running, paused). In FlatBuffers it travels as the exchange
 * state table with `exchange` = `strategy:<name>`, `reconnects` = timeouts
 * and `restarts` = errors.
 */
export interface StrategySystemMessage {
  type: 'system';
  channel: 'system';
  seq: number;
  source: 'strategy';
  strategy: string;
  state: StrategyState;
  errors: number;
  timeouts: number;
  lastError: string | null;
  ts: number;
}

/**
 * Room `system`, edges only (docs/scale-out.md): a feed took (`leader`) or
 * lost (`standby`) an exchange's publisher lease. An event, not a state: a
 * joiner is not sent past ones. Binary subscribers get it as an `Alert`
 * body (level info, source `cluster`).
 */
export interface ClusterSystemMessage extends LeadershipEvent {
  type: 'system';
  channel: 'system';
  seq: number;
  source: 'cluster';
}

/** A system message without the fields the stream adds (type, channel, seq). */
export type SystemBody =
  | Omit<ExchangeSystemMessage, 'type' | 'channel' | 'seq'>
  | Omit<StorageSystemMessage, 'type' | 'channel' | 'seq'>
  | Omit<StrategySystemMessage, 'type' | 'channel' | 'seq'>;

/** `predictions:<strategy>`: what `predict` returned for a judged bar (docs/strategies.md); `extra`: its fields beside value and confidence. */
export interface PredictionMessage extends PredictionEvent {
  type: 'prediction';
  channel: string;
  seq: number;
}

/** `signals:<strategy>`: what `decide` returned; `id` is stable per strategy, bar and revision. */
export interface SignalMessage extends SignalEvent {
  type: 'signal';
  channel: string;
  seq: number;
}

/** `fills:<strategy>`: an executed order of a signal, with the book after it. */
export interface FillMessage extends FillEvent {
  type: 'fill';
  channel: string;
  seq: number;
}

/** Alert levels (defined with the alert event, src/model/events.ts). */
export type { AlertLevel } from '../model/events.ts';
import type { AlertLevel } from '../model/events.ts';

/** Room `alerts`: an alert raised by embedding code (`TickwireServer.publishAlert`) or rules. */
export interface AlertMessage {
  type: 'alert';
  channel: 'alerts';
  seq: number;
  id: string;
  level: AlertLevel;
  source: string;
  message: string;
  ts: number;
}

/** Any server→client stream message. */
export type StreamMessage =
  | TradeMessage
  | QuoteMessage
  | BarMessage
  | SnapshotMessage
  | GapMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | ClosedMessage
  | ErrorMessage
  | PongMessage
  | SystemMessage
  | AlertMessage
  | PredictionMessage
  | SignalMessage
  | FillMessage;

/** The body of `GET /v1/candles/...` in JSON, and what `decodeCandles` returns for `format=fbs`. */
export interface CandlesResponse {
  exchange: string;
  symbol: string;
  timeframe: string;
  count: number;
  candles: BarJson[];
}
