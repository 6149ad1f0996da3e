/**
 * `tickwire/client`: the client SDK alone, for browsers and Node. Nothing in
 * this entry's import graph touches Node built-ins or the server (the `ws`
 * package is loaded lazily, only where there is no global WebSocket).
 */
export { TickwireClient } from './client.ts';
export type {
  ClientEvents,
  ClientGap,
  ClientSnapshot,
  ClientStats,
  ConnectionState,
  StateChange,
  StreamFormat,
  SubscribedNotice,
  SubscribeOptions,
  SubscriptionHandlers,
  TickwireClientOptions,
} from './types.ts';
export { CandlesUnavailableError } from './candles.ts';
export type { CandleFailure, CandleQuery, CandleSource, CandleSourceName, CandlesResult, InProcessCandles } from './candles.ts';
export type { FetchLike } from './http.ts';
export type { BackoffOptions } from './backoff.ts';
export type { WebSocketConstructor, WebSocketLike } from './socket.ts';
export type {
  AlertMessage,
  BarJson,
  FillMessage,
  PredictionMessage,
  SignalMessage,
  BarMessage,
  GapMessage,
  QuoteMessage,
  SnapshotMessage,
  StreamMessage,
  SystemMessage,
  TradeMessage,
} from '../wire/messages.ts';
export { TickwireError, ErrorCode } from '../errors.ts';
