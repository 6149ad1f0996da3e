/**
 * Symbols keep the exchange's native id (`BTCUSDT`, `BTC-USD`, `XBT/USD`) and
 * gain a normalized `BASE-QUOTE` alias (`BTC-USDT`). Queries accept either.
 */

/** A symbol as one exchange names it, with its normalized alias. */
export interface SymbolRef {
  /** Exchange-native id, exactly as the venue spells it. */
  readonly native: string;
  /** `BASE-QUOTE`, upper case, with venue-specific asset codes mapped (XBT → BTC). */
  readonly normalized: string;
  readonly base: string;
  /** Empty for instruments quoted without a pair (stocks: `AAPL`). */
  readonly quote: string;
}

/** Venue-specific asset codes mapped to their common name. */
const ASSET_ALIASES: Readonly<Record<string, string>> = { XBT: 'BTC', XDG: 'DOGE' };

/**
 * Quote assets recognised at the end of concatenated ids (`BTCUSDT`), longest
 * first so `FDUSD` wins over `USD`.
 */
const KNOWN_QUOTES = [
  'FDUSD', 'USDT', 'USDC', 'TUSD', 'BUSD', 'USDP', 'USDE', 'EURI', 'DAI', 'USD', 'EUR', 'GBP', 'JPY',
  'AUD', 'CAD', 'CHF', 'TRY', 'BRL', 'MXN', 'PLN', 'RUB', 'UAH', 'ZAR', 'IDR', 'ARS', 'BTC', 'ETH',
  'BNB', 'SOL', 'XRP', 'DOGE', 'TRX',
].sort((a, b) => b.length - a.length);

const SEPARATOR = /[-/_:]/;

function asset(code: string): string {
  return ASSET_ALIASES[code] ?? code;
}

/** Build the `SymbolRef` of an exchange-native id. */
export function symbolRef(native: string): SymbolRef {
  const upper = native.trim().toUpperCase();
  const parts = upper.split(SEPARATOR).filter((p) => p.length > 0);
  if (parts.length >= 2) {
    const base = asset(parts[0]!);
    const quote = asset(parts[1]!);
    return { native, normalized: `${base}-${quote}`, base, quote };
  }
  for (const quote of KNOWN_QUOTES) {
    if (upper.length > quote.length && upper.endsWith(quote)) {
      const base = asset(upper.slice(0, -quote.length));
      return { native, normalized: `${base}-${quote}`, base, quote };
    }
  }
  return { native, normalized: upper, base: upper, quote: '' };
}

/**
 * Resolves user-supplied symbols (native or normalized, any case) to the
 * native ids of one exchange.
 */
export class SymbolIndex {
  readonly #byKey = new Map<string, SymbolRef>();

  /** Register a native id; returns its ref. Registering twice is harmless. */
  add(native: string): SymbolRef {
    const existing = this.#byKey.get(native);
    if (existing !== undefined) return existing;
    const ref = symbolRef(native);
    this.#byKey.set(native, ref);
    for (const key of [native.toUpperCase(), ref.normalized]) {
      if (!this.#byKey.has(key)) this.#byKey.set(key, ref);
    }
    return ref;
  }

  /** The ref for a native id or normalized alias, or undefined when unknown. */
  resolve(symbol: string): SymbolRef | undefined {
    return this.#byKey.get(symbol) ?? this.#byKey.get(symbol.toUpperCase()) ?? this.#byKey.get(symbolRef(symbol).normalized);
  }

  /** Every registered symbol, once each, in registration order. */
  list(): SymbolRef[] {
    return [...new Set(this.#byKey.values())];
  }
}
