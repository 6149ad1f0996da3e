/**
 * The venue's REST trade history for a feed taking over an exchange
 * (docs/scale-out.md, "Feed failover"): the same `tradesFrom` of the
 * venue's adapter the worker's gap recovery uses after a reconnect
 * (src/feed/gap-recovery.ts), called from the feed's main thread with the
 * exchange's configured (or default) REST URL and its REST rate limiter.
 */
import type { ExchangeConfig } from '../config/types.ts';
import type { RecoveredTrade } from '../exchanges/adapter.ts';
import { adapterFor, restUrlOf } from '../exchanges/registry.ts';

/** Up to one page of `symbol`'s trades from id `fromId` (exchange time `fromTs`) on, oldest first. */
export type TradeFetcher = (symbol: string, fromId: number, fromTs: number) => Promise<RecoveredTrade[]>;

/** The fetcher of a configured exchange, or undefined where its venue serves no trade history over REST. */
export function restTradeFetcher(exchange: string, config: ExchangeConfig): TradeFetcher | undefined {
  const entry = adapterFor(exchange);
  const restUrl = entry === undefined ? undefined : restUrlOf(entry, config);
  if (entry === undefined || restUrl === undefined) return undefined;
  const adapter = entry.create(config.symbols, config.channels, config);
  if (adapter.tradesFrom === undefined) return undefined;
  return (symbol, fromId, fromTs) => adapter.tradesFrom!(restUrl, symbol, fromId, fromTs);
}
