/**
 * The library's event payloads: what `Tickwire.on()` hands over for trades,
 * quotes and bars, and what the server's stream and the wire encoders read.
 * Plain objects (the readable form); the hot path inside the library moves
 * the same values as float64 records (records.ts).
 */
import type { Bar } from './records.ts';
import type { TimeframeName } from './timeframes.ts';

/** Aggressor side as the contract spells it. */
export type SideName = 'buy' | 'sell' | 'unknown';

export interface TradeEvent {
  exchange: string;
  /** Exchange-native symbol. */
  symbol: string;
  /** Exchange trade id, null when the venue has none. */
  tradeId: number | null;
  price: number;
  size: number;
  side: SideName;
  /** Exchange trade time, ms. */
  ts: number;
  /** Local receive time, ms with µs fraction. */
  recvTs: number;
  /** The channel's seq when it was assigned upstream (a cluster edge serves the feed's); absent: the stream assigns it. */
  seq?: number;
}

export interface QuoteEvent {
  exchange: string;
  symbol: string;
  bidPrice: number;
  bidSize: number;
  askPrice: number;
  askSize: number;
  ts: number;
  recvTs: number;
  /** As TradeEvent.seq. */
  seq?: number;
}

export interface BarUpdate {
  exchange: string;
  symbol: string;
  timeframe: TimeframeName;
  bar: Bar;
  /** As TradeEvent.seq. */
  seq?: number;
}

/**
 * A feed took or lost an exchange's publisher lease (docs/scale-out.md,
 * `--role feed|edge`): edges relay it to their `system` room.
 */
export interface LeadershipEvent {
  exchange: string;
  /** `leader`: this feed publishes the exchange from now on; `standby`: it stopped (lease lost or given up). */
  state: 'leader' | 'standby';
  /** The feed (`feed@host:pid:id`). */
  node: string;
  /** The lease term it leads, or led, under (the revision that fences older leaders' messages). */
  term: number;
  /** Why, in words (`term 7`, `lease taken over or expired`, `stopped`). */
  reason: string;
  /** When, ms. */
  ts: number;
}

/** What a live change did (admin routes, reload, SIGHUP); the `system` room publishes each. */
export type ConfigChangeAction = 'symbol_added' | 'symbol_removed' | 'exchange_added' | 'exchange_removed';

/** One applied live change. */
export interface ConfigChange {
  action: ConfigChangeAction;
  exchange: string;
  /** The symbol added or removed; null for an exchange's change. */
  symbol: string | null;
  /** Closed bars loaded from storage for what was added (0 otherwise). */
  restoredBars: number;
  /** When it was applied, ms. */
  ts: number;
  /** Symbols on demand (docs/on-demand.md): added for a subscriber, or removed after its idle time; absent for every other change. */
  cause?: 'on_demand' | 'idle';
}

/** A price of a feed (`feeds:` in the config): one asset pair served from several venues with failover. */
export interface PriceEvent {
  feed: string;
  /** Last trade price of the active source (its quote's mid before its first trade). */
  price: number;
  /** The active source's last quote, null when it sends none. */
  bid: number | null;
  ask: number | null;
  /** The active source, `exchange:symbol`. */
  source: string;
  /** Local time the price was taken, ms. */
  ts: number;
  /** The source's own (exchange) time of the trade or quote, ms. */
  sourceTs: number;
}

/** Why a feed moved to another source (or to none). */
export type SourceSwitchReason = 'disconnected' | 'circuit_open' | 'stale' | 'deviation' | 'recovered' | 'started';

/** A feed's active source changed; `to` null: no healthy source is left, the feed's prices stop. */
export interface SourceEvent {
  feed: string;
  from: string | null;
  to: string | null;
  reason: SourceSwitchReason;
  ts: number;
}

/** One holding of a portfolio as valued. */
export interface HoldingValue {
  asset: string;
  amount: number;
  /** Price in the portfolio's quote, null when none is known yet. */
  price: number | null;
  value: number | null;
  /** Share of the portfolio's value (0..1), null without a value. */
  weight: number | null;
  /** How the price was found: `feed:BTC-USD`, `binance:SOLUSDT*feed:USDT-USD`, `peg:USDT=USD`, `quote`. */
  source: string;
}

/** A portfolio's live value (`portfolios:` in the config). */
export interface PortfolioEvent {
  id: string;
  quote: string;
  value: number;
  /** Change of value since `since` (when the portfolio was first valued in full, or its holdings last changed). */
  change: { abs: number; pct: number; since: number };
  holdings: HoldingValue[];
  /** Assets without a fresh price (their last known price still counts in `value`). */
  stale: string[];
  ts: number;
}

/** Alert levels, lowest first. */
export type AlertLevel = 'info' | 'warning' | 'critical';

/** An alert raised by a rule (`alerts:` in the config), as the `alerts` room and the webhook carry it. */
export interface AlertEvent {
  /** Unique per alert (`<rule>:<n>:<ts>`): the webhook's idempotency key. */
  id: string;
  level: AlertLevel;
  /** The rule's id. */
  source: string;
  message: string;
  /** The value that crossed (price, percent, ratio, bps, ms); null for a source switch. */
  value: number | null;
  ts: number;
}
