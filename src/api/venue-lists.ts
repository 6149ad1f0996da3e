/**
 * Each exchange's venue symbol list, as the runtime keeps it
 * (docs/operations.md, "Checked against the venue's list"): fetched over the
 * venue's REST limiter (src/exchanges/venue-symbols.ts) at start and then
 * every `refreshMs` (a day), in memory.
 *
 * Failure never blocks anything: start does not wait for the first fetch,
 * and a failed fetch keeps the list from before (none yet: the list stays
 * unknown), logs `symbols.list_failed` and counts it (`/metrics`
 * `tickwire_symbol_list_fetches_total{result="failed"}`, `/v1/status`
 * `symbolList.failures`). An exchange whose venue has no list, or no REST
 * URL (a custom `url` without `restUrl`), is never checked.
 */
import type { ExchangeConfig } from '../config/types.ts';
import type { SymbolListSource } from '../exchanges/venue-symbols.ts';
import type { Logger } from '../log/logger.ts';
import { urlForLogs } from '../log/redact.ts';
import type { SymbolListStatus } from '../model/status.ts';

/** How often each list is fetched again, ms: a day. */
export const SYMBOL_LIST_REFRESH_MS = 86_400_000;

/** What the venue's list says of a symbol: listed, not listed, or unknown (no list: none fetched yet, or the venue has none). */
export type Listing = 'listed' | 'unlisted' | 'unknown';

interface VenueList {
  exchange: string;
  source: SymbolListSource;
  config: ExchangeConfig;
  /** The REST base URL now (the simulated exchange's is known once it listens); undefined: no REST. */
  restUrl: () => string | undefined;
  /** Symbols as listed (upper case when the venue compares without case). */
  symbols: Set<string> | undefined;
  fetchedAt: number | null;
  error: string | null;
  fetches: number;
  failures: number;
  inFlight: Promise<void> | undefined;
}

/** The symbol lists of a runtime's exchanges. */
export class VenueLists {
  readonly #lists = new Map<string, VenueList>();
  readonly #log: Logger;
  readonly #refreshMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(log: Logger, refreshMs = SYMBOL_LIST_REFRESH_MS) {
    this.#log = log;
    this.#refreshMs = refreshMs;
  }

  /** Keep `exchange`'s list from `source` (an exchange tracked again replaces its list). */
  track(exchange: string, source: SymbolListSource, config: ExchangeConfig, restUrl: () => string | undefined): void {
    this.#lists.set(exchange, { exchange, source, config, restUrl, symbols: undefined, fetchedAt: null, error: null, fetches: 0, failures: 0, inFlight: undefined });
  }

  /** Stop keeping `exchange`'s list (a removed exchange). */
  untrack(exchange: string): void {
    this.#lists.delete(exchange);
  }

  /** Fetch every list now (not awaited by the caller's start) and again every refresh period. */
  start(): void {
    for (const exchange of this.#lists.keys()) void this.refresh(exchange);
    this.#timer ??= setInterval(() => {
      for (const exchange of this.#lists.keys()) void this.refresh(exchange);
    }, this.#refreshMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Fetch `exchange`'s list now (joins a fetch in flight); resolves when done, failed or not (never rejects). */
  refresh(exchange: string): Promise<void> {
    const list = this.#lists.get(exchange);
    if (list === undefined) return Promise.resolve();
    list.inFlight ??= this.#fetch(list).finally(() => (list.inFlight = undefined));
    return list.inFlight;
  }

  /** What `exchange`'s venue list says of `symbol`. */
  listing(exchange: string, symbol: string): Listing {
    const list = this.#lists.get(exchange);
    if (list?.symbols === undefined) return 'unknown';
    return list.symbols.has(list.source.caseInsensitive === true ? symbol.toUpperCase() : symbol) ? 'listed' : 'unlisted';
  }

  /** `exchange`'s list as `/v1/status` shows it; undefined when its venue has none. */
  status(exchange: string): SymbolListStatus | undefined {
    const list = this.#lists.get(exchange);
    if (list === undefined) return undefined;
    return { symbols: list.symbols?.size ?? null, fetchedAt: list.fetchedAt, error: list.error, fetches: list.fetches, failures: list.failures };
  }

  /** A line for an error message: how big `exchange`'s list is and when it was fetched. */
  describe(exchange: string): string {
    const list = this.#lists.get(exchange);
    if (list?.symbols === undefined || list.fetchedAt === null) return `${exchange} has no symbol list`;
    return `${list.source.endpoint} listed ${list.symbols.size} symbols at ${new Date(list.fetchedAt).toISOString()}`;
  }

  async #fetch(list: VenueList): Promise<void> {
    const restUrl = list.restUrl();
    if (restUrl === undefined) return;
    const log = this.#log.child({ exchange: list.exchange });
    list.fetches++;
    try {
      const symbols = await list.source.fetch(restUrl, list.config);
      if (symbols.length === 0) throw new Error(`${list.source.endpoint} listed no tradable symbol`);
      list.symbols = new Set(list.source.caseInsensitive === true ? symbols.map((s) => s.toUpperCase()) : symbols);
      list.fetchedAt = Date.now();
      list.error = null;
      log.info({ event: 'symbols.listed', symbols: symbols.length }, `${list.exchange}: the venue lists ${symbols.length} symbols (${list.source.endpoint} at ${urlForLogs(restUrl)})`);
    } catch (err) {
      list.failures++;
      list.error = err instanceof Error ? err.message : String(err);
      const kept = list.symbols === undefined ? 'no list yet: additions are not checked' : `keeping the list of ${list.symbols.size} from ${new Date(list.fetchedAt!).toISOString()}`;
      log.warn({ event: 'symbols.list_failed', err: list.error }, `${list.exchange}: symbol list fetch failed (${kept}): ${list.error}`);
    }
  }
}
