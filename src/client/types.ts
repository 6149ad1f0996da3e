/**
 * The client SDK's public types: options, per-subscription handlers, the
 * gap and resync notices it adds to the protocol's messages, and events.
 * Message shapes are the protocol's own (src/wire/messages.ts): JSON and
 * FlatBuffers subscribers get identical objects.
 */
import type { TickwireError } from '../errors.ts';
import type {
  AlertMessage,
  FillMessage,
  PredictionMessage,
  SignalMessage,
  BarMessage,
  GapReason,
  QuoteMessage,
  SnapshotMessage,
  SystemMessage,
  TradeMessage,
} from '../wire/messages.ts';
import type { BackoffOptions } from './backoff.ts';
import type { CandleSource, InProcessCandles } from './candles.ts';
import type { FetchLike } from './http.ts';
import type { WebSocketConstructor } from './socket.ts';

/** Stream encoding: JSON text, or FlatBuffers binary (`?format=fbs`). */
export type StreamFormat = 'json' | 'fbs';

/** What `new TickwireClient()` takes; every option has a default. */
export interface TickwireClientOptions {
  /**
   * The server's base URL, `http://127.0.0.1:8080` (a ws:// form or a path prefix behind a proxy work too).
   * Default: the `STREAMER_API_URL` environment variable when set (Node), else `http://127.0.0.1:8080`.
   */
  url?: string;
  /**
   * API token or JWT. Sent as `Authorization: Bearer` (HTTP, and the WebSocket under Node); a browser
   * WebSocket cannot send headers, so there it is offered as the subprotocol `bearer.<token>` (or, when
   * the token has characters a subprotocol cannot hold, as `?token=`).
   */
  token?: string;
  /** Default 'json'. 'fbs' also reads HTTP candles as FlatBuffers. */
  format?: StreamFormat;
  /** Reconnect delays: backoff with jitter between initialMs (default 250) and maxMs (default 30 000). */
  reconnect?: BackoffOptions;
  /** A WebSocket class to use instead of the global one or the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** A fetch to use instead of the global one. */
  fetch?: FetchLike;
  /** An app-level ping every this many ms; no answer by the next one drops the connection to reconnect. 0: off. Default 15 000. */
  heartbeatMs?: number;
  /** Give up a connection attempt that has not opened after this many ms (then back off and retry). Default 10 000. */
  openTimeoutMs?: number;
  /** Deadline of `health()`, ms. Default 5 000. */
  httpTimeoutMs?: number;
  /** Fallback chain for `candles()` after the HTTP API. */
  candles?: {
    /** Deadline of each step, ms. Default 1 000. */
    timeoutMs?: number;
    /** An in-process instance (`createTickwire()`) to read when the API does not answer. */
    tickwire?: InProcessCandles;
    /** The last resort: any source of bars. */
    source?: CandleSource;
  };
}

/** Per-subscription options. */
export interface SubscribeOptions {
  /** Bars channels: deliver the last N bars (1..1000) first, then the live stream with no gap and no duplicate. */
  snapshot?: number;
}

/**
 * Seqs of `channel` that will not be delivered. Beyond the server's reasons:
 * `restart`: the server restarted (a new epoch), so anything after `fromSeq - 1`
 * in the old numbering may be lost (`toSeq` is null, unknown) and seqs start
 * afresh; `unannounced`: a hole in the seqs with no notice from the server.
 * For a bars channel a gap is reported only when a snapshot could not repair
 * it; `fromTime`/`toTime` then bound the open times that are missing.
 */
export interface ClientGap {
  type: 'gap';
  channel: string;
  fromSeq: number;
  toSeq: number | null;
  reason: GapReason | 'restart' | 'unannounced';
  fromTime?: number;
  toTime?: number;
}

/** What the `subscribed` handler gets. */
export interface SubscribedNotice {
  channels: string[];
  /** The server's epoch (null from a server that sends none). */
  epoch: string | null;
  /** True for the acknowledgement of a re-subscribe after a reconnect (or a re-join). */
  resumed: boolean;
}

/** A snapshot; `resync: true` when it repairs a channel (after a restart or a gap) and holds only new or changed bars. */
export type ClientSnapshot = SnapshotMessage & { resync?: true };

/**
 * Callbacks of one subscription, each optional. Messages are the protocol's
 * objects, shared by the subscriptions of the same channel: read, do not
 * mutate. A resync without a `snapshot`
 * handler delivers its bars one by one to `bar`; an initial snapshot without
 * one does the same.
 */
export interface SubscriptionHandlers {
  /**
   * The server acknowledged this subscription: `channels` are the concrete channels this reply
   * gave it (wildcards expanded). Called again after each re-subscribe (`resumed: true`).
   */
  subscribed?: (m: SubscribedNotice) => void;
  trade?: (m: TradeMessage) => void;
  quote?: (m: QuoteMessage) => void;
  bar?: (m: BarMessage) => void;
  snapshot?: (m: ClientSnapshot) => void;
  gap?: (m: ClientGap) => void;
  system?: (m: SystemMessage) => void;
  alert?: (m: AlertMessage) => void;
  /** `predictions:<strategy>`: a strategy's prediction for a judged bar. */
  prediction?: (m: PredictionMessage) => void;
  /** `signals:<strategy>`: its decision (buy, sell or hold). */
  signal?: (m: SignalMessage) => void;
  /** `fills:<strategy>`: an executed order. */
  fill?: (m: FillMessage) => void;
  /** The server refused this subscription (its code: UNKNOWN_CHANNEL, UNAUTHORIZED, ...); it is over. */
  error?: (e: TickwireError) => void;
}

/**
 * Connection states: `idle` before the first subscribe or `connect()`;
 * `connecting` (first attempt); `open`; `reconnecting` (waiting out a
 * backoff or retrying); `closed` after `close()`, for good.
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A `state` event: the new state, and for `reconnecting` why and how long until the next try. */
export interface StateChange {
  state: ConnectionState;
  /** Reconnecting: failed attempts so far and the wait before the next one. */
  attempt?: number;
  delayMs?: number;
  /** Why the connection went: the close code and reason, or the error. */
  code?: number;
  reason?: string;
  /**
   * Reconnecting after the server refused the upgrade with a status the
   * runtime reveals (not browsers): UNAUTHORIZED (401), RATE_LIMITED (429) or
   * TOO_MANY_CONNECTIONS (503), as reported on `error`.
   */
  error?: string;
}

/** Events of `client.on()`. */
export interface ClientEvents {
  state: StateChange;
  /** Something went wrong that no subscription's `error` handler took (a handler threw, an undecodable message, a refused request). */
  error: Error;
  /** The server's epoch changed: it restarted (`previous` null on the first connection). */
  epoch: { epoch: string; previous: string | null };
}

/** Counters since the client was created. */
export interface ClientStats {
  /** Connections opened after the first. */
  reconnects: number;
  /** Stream messages received. */
  messages: number;
  /** Messages dropped as already delivered (resume overlap). */
  duplicatesDropped: number;
  /** Bar updates not delivered because they were already delivered unchanged. */
  unchangedBarsDropped: number;
  /** Gap notices delivered to handlers. */
  gaps: number;
  /** Channels asked again to repair them (bars: a snapshot; system: the current states). */
  resyncs: number;
  /** Messages that could not be decoded. */
  malformed: number;
}
