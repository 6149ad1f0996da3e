/**
 * The bar reads of the `Tickwire` face that do not depend on where the bars
 * live: a user-given symbol resolved to the exchange's native one, a
 * `BarQuery` as a series range, and `symbols()` of a config. Shared by the
 * runtime (tickwire.ts), a cluster edge (src/cluster/edge-runtime.ts) and the
 * server tests' fake, so every face answers and fails alike.
 */
import type { BarRange } from '../buffers/bar-store.ts';
import type { TickwireConfig } from '../config/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import type { SymbolIndex } from '../model/symbols.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import type { BarQuery } from './types.ts';

/** `symbol` (native or BASE-QUOTE) as `exchange`'s native id, from the exchange's index (undefined: not configured); throws EXCHANGE_NOT_FOUND or SYMBOL_NOT_FOUND. */
export function resolveNative(index: SymbolIndex | undefined, exchange: string, symbol: string): string {
  if (index === undefined) throw new TickwireError(ErrorCode.EXCHANGE_NOT_FOUND, `exchange ${JSON.stringify(exchange)} is not configured`);
  const ref = index.resolve(symbol);
  if (ref === undefined) throw new TickwireError(ErrorCode.SYMBOL_NOT_FOUND, `symbol ${JSON.stringify(symbol)} is not configured on ${exchange}`);
  return ref.native;
}

/** `symbols()` of a face serving exactly its config's symbols: `{exchange: {nativeSymbol: [every configured timeframe]}}`. */
export function configSymbols(config: TickwireConfig): Record<string, Record<string, TimeframeName[]>> {
  const out: Record<string, Record<string, TimeframeName[]>> = {};
  for (const [exchange, ex] of Object.entries(config.exchanges)) out[exchange] = Object.fromEntries(ex.symbols.map((s) => [s, [...config.timeframes]]));
  return out;
}

/** A BarQuery as the bar store's range (`closed` → no forming bar). */
export function toRange(q: BarQuery): BarRange {
  return { start: q.start, end: q.end, limit: q.limit, forming: q.closed !== true };
}
