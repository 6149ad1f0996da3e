/**
 * tickwire's built-in "simulated" exchange: a `SimulatedMarket` stepped by the
 * real clock, published through a `BinanceProtocolServer`, so the Binance
 * adapter and feed worker run unchanged and `npm start` works offline.
 *
 * Streams: `<lowercased symbol>@trade` and `<lowercased symbol>@bookTicker`
 * (`SIM-BTC` → `sim-btc@trade`); payload `s` is the symbol as configured.
 * The venue lists (`GET /api/v3/exchangeInfo`) its configured symbols, the
 * ones added live, and the catalogue SIM_CATALOGUE, so live additions and
 * on-demand symbols can be tried offline against a real symbol list.
 * While nobody is connected the market is paused (skipped), so an idle
 * exchange costs one timer tick; catch-up after a stalled event loop is
 * bounded to `MAX_CATCH_UP_MS` of market time.
 */
import { InvalidParameterError } from '../errors.ts';
import { BinanceProtocolServer, type BinanceProtocolServerOptions } from './binance-protocol-server.ts';
import { SimulatedMarket } from './market.ts';

export interface SimulatedExchangeOptions {
  symbols: readonly string[];
  /** Mean trades per second per symbol. */
  rate: number;
  seed: number;
  /** How often the market is stepped and published (default 50 ms). */
  tickMs?: number;
  /** Options of the underlying server (host, port, heartbeat, limits). */
  server?: BinanceProtocolServerOptions;
}

/** Symbols the simulated venue lists beyond the configured ones (any of them can be added live or asked for on demand). */
export const SIM_CATALOGUE: readonly string[] = [
  'SIM-BTC', 'SIM-ETH', 'SIM-SOL', 'SIM-XRP', 'SIM-ADA', 'SIM-DOGE', 'SIM-DOT', 'SIM-AVAX',
  'SIM-LINK', 'SIM-LTC', 'SIM-BCH', 'SIM-ATOM', 'SIM-NEAR', 'SIM-UNI', 'SIM-XLM', 'SIM-TRX',
];

/** Longest stretch of market time generated in one tick; beyond it the market skips. */
const MAX_CATCH_UP_MS = 2_000;

/** A local Binance-protocol exchange that trades a seeded simulated market. */
export class SimulatedExchange {
  /** The protocol server (observability, fault injection: `dropConnections`, `shutdown`). */
  readonly server: BinanceProtocolServer;
  /** The market it trades (paused while nobody is connected). */
  readonly market: SimulatedMarket;
  readonly #tickMs: number;
  readonly #tradeStream = new Map<string, string>();
  readonly #quoteStream = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SimulatedExchangeOptions) {
    const tickMs = options.tickMs ?? 50;
    if (!Number.isFinite(tickMs) || tickMs <= 0) throw new InvalidParameterError('tickMs', tickMs, 'a positive number of ms');
    this.#tickMs = tickMs;
    this.market = new SimulatedMarket({
      symbols: options.symbols,
      rate: options.rate,
      seed: options.seed,
      onTrade: (symbol, trade) => this.server.publish(this.#tradeStream.get(symbol)!, trade),
      onQuote: (symbol, quote) => this.server.publish(this.#quoteStream.get(symbol)!, quote),
    });
    for (const symbol of options.symbols) this.#streams(symbol);
    this.server = new BinanceProtocolServer(options.server);
    this.server.list(SIM_CATALOGUE);
    this.server.list(options.symbols);
  }

  /** List one more symbol while running (a live addition to the `simulated` exchange); listed already: nothing. */
  addSymbol(symbol: string): void {
    this.server.list([symbol]);
    this.#streams(symbol);
    this.market.addSymbol(symbol);
  }

  #streams(symbol: string): void {
    const base = symbol.toLowerCase();
    this.#tradeStream.set(symbol, `${base}@trade`);
    this.#quoteStream.set(symbol, `${base}@bookTicker`);
  }

  /** Start the server and the market clock; resolves with the `ws://` base URL and port. */
  async start(): Promise<{ port: number; url: string }> {
    if (this.#timer !== undefined) throw new Error('SimulatedExchange already started');
    const address = await this.server.start();
    this.market.skip(Date.now());
    this.#timer = setInterval(() => this.#tick(), this.#tickMs).unref();
    return address;
  }

  /** Stop the clock and the server (clients are disconnected). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.server.stop();
  }

  /** `ws://host:port` once started. */
  get url(): string {
    return this.server.url;
  }

  /** `http://host:port` once started: the REST base URL of its symbol list. */
  get restUrl(): string {
    return this.server.restUrl;
  }

  #tick(): void {
    const now = Date.now();
    if (this.server.connections === 0) return this.market.skip(now);
    if (now - this.market.now > MAX_CATCH_UP_MS) this.market.skip(now - MAX_CATCH_UP_MS);
    this.market.step(now);
  }
}
