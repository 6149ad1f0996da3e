/**
 * The Binance spot `@trade` payload every load source writes (the bench's
 * recorded tape, frames.ts; the soak's random walk, scripts/soak/trade-tape.ts):
 * the recorded field order `e E s t p q T m M`, which the adapter's
 * allocation-free path reads, built by concatenation only.
 */

/** Lower-case stream name of a symbol's trades (`btcusdt@trade`). */
export function tradeStream(symbol: string): string {
  return symbol.toLowerCase() + '@trade';
}

/** One trade's `data` object as Binance writes it; `price` and `size` are the decimal strings to send verbatim. */
export function tradePayload(eventTs: number, symbol: string, id: number, price: string, size: string, ts: number, buyerIsMaker: boolean): string {
  return (
    '{"e":"trade","E":' + eventTs + ',"s":"' + symbol + '","t":' + id + ',"p":"' + price + '","q":"' + size +
    '","T":' + ts + ',"m":' + (buyerIsMaker ? 'true' : 'false') + ',"M":true}'
  );
}
