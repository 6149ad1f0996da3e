/**
 * The channels of `/v1/stream`: their names, state and lookup, and wildcard
 * patterns over them.
 *
 * A channel exists for every (kind, exchange, symbol[, timeframe]) the
 * library serves, created when the stream starts (and when a symbol appears
 * later), so its `seq` counts every message from the server's start, whether
 * anyone listens or not: a client resuming with `since` learns exactly what
 * it missed. Names are canonical: the native symbol, the canonical timeframe
 * (`bars:binance:BTCUSDT:1m`); lookups accept the normalized symbol
 * (`BTC-USDT`) and MetaTrader timeframes (`M1`). The rooms `system` and
 * `alerts` are channels too, and so are each configured strategy's
 * `predictions:<name>`, `signals:<name>` and `fills:<name>` (created at start,
 * looked up by exact name only: no wildcards over strategies).
 *
 * Wildcards: `*` stands for a whole exchange or symbol segment
 * (`trades:binance:*`, `bars:*:BTCUSDT:1m`, `quotes:*:*`), never for the kind
 * or the timeframe, never for part of a segment. A pattern expands over the
 * known channels; a symbol given with `*` for the exchange is resolved on
 * each exchange (so `bars:*:BTC-USDT:1m` finds BTCUSDT on binance and
 * BTC-USDT on okx). `matches` tells whether a channel created later belongs
 * to a pattern. Names and wildcards are parsed by src/wire/channels.ts
 * (`marketChannelParts`, `parseWildcard`), shared with the client.
 *
 * Cost: symbols are resolved against this index's own symbol lookup (the
 * natives it has channels for, with their normalized aliases), so an
 * unknown symbol is a miss, not a thrown and caught error (that was 6 µs a
 * pair: a 500-wildcard unsubscribe against 200 held channels took 600 ms).
 * `matchHeld` finds a pattern's channels among a connection's with one
 * lookup per exchange, or one walk over the smaller of the held channels and
 * the pattern's; it returns the channels it looked at, which the caller
 * charges to the connection's rate limit.
 */
import type { Tickwire } from '../api/types.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import { SymbolIndex } from '../model/symbols.ts';
import { parseTimeframe, type TimeframeName } from '../model/timeframes.ts';
import { portfolioIds } from '../portfolios/paper-portfolios.ts';
import {
  ALERTS_ROOM,
  channelName,
  marketChannelParts,
  namedKindOf,
  parseWildcard,
  strategyKindOf,
  SYSTEM_ROOM,
  unknownChannel,
  type ChannelKind,
  type MarketKind,
  type StrategyKind,
  type WildcardPattern,
} from '../wire/channels.ts';
import { strategyChannelName } from '../wire/strategy-json.ts';
import { prepareChannel, type ChannelFormat } from '../wire/json.ts';
import { ChannelHistory, WireFormat } from './history.ts';
import { ROOM_MESSAGE_BOUND } from './rooms.ts';

/** One channel: names, prepared JSON prefix, sequence, subscriber counts per format and history. Lives as long as the server. */
export interface Channel {
  /** Canonical name; also the uWS topic of its JSON subscribers. */
  readonly name: string;
  /** uWS topic of its FlatBuffers subscribers. */
  readonly fbsTopic: string;
  readonly kind: ChannelKind;
  /** '' for rooms. */
  readonly exchange: string;
  /** Exchange-native symbol; '' for rooms. */
  readonly symbol: string;
  readonly timeframe: TimeframeName | undefined;
  /** Prepared JSON prefixes (market channels only). */
  readonly format: ChannelFormat | undefined;
  /** Upper bound of one live message in either format, bytes (backpressure accounting). */
  maxBytes: number;
  /** Largest binary message (market channels; 0 for rooms, sized per message): the history arena's stride. */
  fbsBytes: number;
  /** Seq of the last message (0: none yet). */
  seq: number;
  /** Connections subscribed in JSON / FlatBuffers, paused ones included. */
  subsJson: number;
  subsFbs: number;
  /** Connections attached to the uWS topic (would receive a publish now), per format. */
  liveJson: number;
  liveFbs: number;
  /** Resume history while recording (subscribed, or within the linger after the last one left); else null. */
  history: ChannelHistory | null;
  /** performance.now() when the last subscriber left; NaN while subscribed. */
  idleSince: number;
  /** Formats each message is encoded in: ENCODE_JSON | ENCODE_FBS bits; 0 = only the seq advances. */
  encode: number;
}

/** Messages a strategy channel keeps, always (its snapshot and resume history; JSON only). */
export const STRATEGY_HISTORY = 100;

/** A `predictions:`, `signals:` or `fills:` channel? */
export function isStrategyChannel(ch: Channel): boolean {
  return ch.kind === 'predictions' || ch.kind === 'signals' || ch.kind === 'fills';
}

/** `Channel.encode` bits: the formats a channel's messages are encoded in. */
export const ENCODE_JSON = 1;
export const ENCODE_FBS = 2;

/** The symbols an exchange has channels for: natives, and their aliases for lookups. */
interface KnownSymbols {
  readonly natives: Set<string>;
  readonly index: SymbolIndex;
}

/** What `ChannelIndex.expand` reads the library's symbols from: `Tickwire.symbols()`, read once per message. */
export type LibrarySymbols = ReturnType<Tickwire['symbols']>;

/** Every channel of the stream, by name and by (exchange, symbol[, timeframe]) for the event handlers; resolves names and wildcards. */
export class ChannelIndex {
  readonly #tw: Tickwire;
  readonly #onCreate: (ch: Channel) => void;
  readonly #byName = new Map<string, Channel>();
  /** exchange → native symbol → channel, for the event handlers (no string building per event). */
  readonly #trades = new Map<string, Map<string, Channel>>();
  readonly #quotes = new Map<string, Map<string, Channel>>();
  /** exchange → native symbol → timeframe → channel. */
  readonly #bars = new Map<string, Map<string, Map<string, Channel>>>();
  /** exchange → the symbols it has channels for (resolved without throwing). */
  readonly #known = new Map<string, KnownSymbols>();
  /** Channels of symbols removed live: kept (their seq continues if the symbol comes back), never subscribed. */
  readonly #closed = new Set<Channel>();
  /** `<kind>:<strategy>` → channel. */
  readonly #strategies = new Map<string, Channel>();
  readonly system: Channel;
  readonly alerts: Channel;
  /** `prices:<feed>` and `portfolio:<id>` by feed name and portfolio id (JSON only: no binary form). */
  readonly #prices = new Map<string, Channel>();
  readonly #portfolios = new Map<string, Channel>();

  /** Creates every channel the library serves now; `onCreate` sees each (then and later). */
  constructor(tw: Tickwire, onCreate: (ch: Channel) => void) {
    this.#tw = tw;
    this.#onCreate = onCreate;
    this.system = this.#create(SYSTEM_ROOM, 'system', '', '', undefined);
    this.alerts = this.#create(ALERTS_ROOM, 'alerts', '', '', undefined);
    for (const feed of Object.keys(tw.config.feeds ?? {})) this.#prices.set(feed, this.#create(`prices:${feed}`, 'prices', '', feed, undefined));
    for (const id of portfolioIds(tw.config)) this.#portfolios.set(id, this.#create(`portfolio:${id}`, 'portfolio', '', id, undefined));
    for (const [exchange, symbols] of Object.entries(tw.symbols())) {
      for (const [symbol, timeframes] of Object.entries(symbols)) this.addSymbol(exchange, symbol, timeframes);
    }
    for (const { name } of tw.strategies()) {
      for (const kind of ['predictions', 'signals', 'fills'] as const) {
        const ch = this.#create(strategyChannelName(kind, name), kind, '', '', undefined);
        // Recorded from the start, subscribed or not: a subscriber's snapshot is the last messages.
        ch.history = new ChannelHistory(STRATEGY_HISTORY);
        ch.history.record(WireFormat.JSON, 1);
        ch.encode = ENCODE_JSON;
        this.#strategies.set(ch.name, ch);
      }
    }
  }

  /** The channel of `strategy`'s messages of `kind`; undefined for a strategy not configured. */
  strategy(kind: StrategyKind, strategy: string): Channel | undefined {
    return this.#strategies.get(strategyChannelName(kind, strategy));
  }

  /** Channels, in creation order. */
  values(): IterableIterator<Channel> {
    return this.#byName.values();
  }

  get size(): number {
    return this.#byName.size;
  }

  trade(exchange: string, symbol: string): Channel | undefined {
    return this.#trades.get(exchange)?.get(symbol);
  }

  quote(exchange: string, symbol: string): Channel | undefined {
    return this.#quotes.get(exchange)?.get(symbol);
  }

  bar(exchange: string, symbol: string, timeframe: string): Channel | undefined {
    return this.#bars.get(exchange)?.get(symbol)?.get(timeframe);
  }

  /** The `prices:<feed>` channel, undefined for an unknown feed. */
  price(feed: string): Channel | undefined {
    return this.#prices.get(feed);
  }

  /** The `portfolio:<id>` channel, undefined for an unknown portfolio. */
  portfolio(id: string): Channel | undefined {
    return this.#portfolios.get(id);
  }

  /** Does `symbol` on `exchange` have channels? */
  knows(exchange: string, symbol: string): boolean {
    return this.#bars.get(exchange)?.has(symbol) === true || this.#trades.get(exchange)?.has(symbol) === true;
  }

  /**
   * Create the channels of `symbol` on `exchange` that do not exist yet: the
   * kinds the exchange carries, bars for `timeframes` (default: the ones the
   * library keeps for it, else the configured ones). Returns those created.
   */
  addSymbol(exchange: string, symbol: string, timeframes?: readonly TimeframeName[]): Channel[] {
    const created: Channel[] = [];
    const carried = this.#tw.config.exchanges[exchange]?.channels ?? [];
    for (const kind of carried) {
      const name = channelName(kind, exchange, symbol);
      if (!this.#byName.has(name)) created.push(this.#create(name, kind, exchange, symbol, undefined));
    }
    const tfs = timeframes ?? this.#tw.symbols()[exchange]?.[symbol] ?? this.#tw.config.timeframes;
    for (const tf of tfs) {
      const name = channelName('bars', exchange, symbol, tf);
      if (!this.#byName.has(name)) created.push(this.#create(name, 'bars', exchange, symbol, tf));
    }
    return created;
  }

  /** `symbol` was removed from `exchange` live: its channels, now closed to subscribers (returned for the caller to end). */
  closeSymbol(exchange: string, symbol: string): Channel[] {
    const out = this.#channelsOf(exchange, symbol);
    for (const ch of out) this.#closed.add(ch);
    return out;
  }

  /** `exchange` was added live: create the channels of its symbols (each seen by `onCreate`). */
  addExchange(exchange: string): void {
    for (const [symbol, timeframes] of Object.entries(this.#tw.symbols()[exchange] ?? {})) this.addSymbol(exchange, symbol, timeframes);
  }

  /** `exchange` was removed live: all its channels, now closed to subscribers (returned for the caller to end). */
  closeExchange(exchange: string): Channel[] {
    const out: Channel[] = [];
    for (const symbol of this.#known.get(exchange)?.natives ?? []) out.push(...this.closeSymbol(exchange, symbol));
    return out;
  }

  /** `symbol` is fed again: its existing channels open again (returned); new ones come as usual. */
  reopenSymbol(exchange: string, symbol: string): Channel[] {
    const out = this.#channelsOf(exchange, symbol).filter((ch) => this.#closed.delete(ch));
    return out;
  }

  #channelsOf(exchange: string, symbol: string): Channel[] {
    const out: Channel[] = [];
    const t = this.trade(exchange, symbol);
    const q = this.quote(exchange, symbol);
    if (t !== undefined) out.push(t);
    if (q !== undefined) out.push(q);
    for (const ch of this.#bars.get(exchange)?.get(symbol)?.values() ?? []) out.push(ch);
    return out;
  }

  /** The library's symbols now (`Tickwire.symbols()`: it builds them, so read it once per message). */
  library(): LibrarySymbols {
    return this.#tw.symbols();
  }

  /**
   * A concrete channel by name (native or normalized symbol, any timeframe
   * alias); throws the contract's codes. With `demand` (a subscribe), a
   * symbol its exchange does not feed is asked for on demand
   * (`Tickwire.demandSymbol`, docs/on-demand.md) once `demand(name)` — the
   * caller's own checks of the name, e.g. the principal's — let it.
   */
  resolve(given: string, demand?: (name: string) => void): Channel {
    const ch = this.#resolveAny(given, demand);
    if (this.#closed.has(ch)) {
      // A symbol that went (idle, or removed) comes back on demand where its exchange allows it; its channels reopen on the change.
      if (demand !== undefined && this.#demands(ch.exchange)) this.#demand(ch.exchange, ch.symbol, ch.name, demand);
      if (this.#closed.has(ch) && this.#tw.config.exchanges[ch.exchange] === undefined) {
        throw new TickwireError(ErrorCode.EXCHANGE_NOT_FOUND, `exchange ${JSON.stringify(ch.exchange)} was removed (its history stays queryable over HTTP)`);
      }
      if (this.#closed.has(ch)) {
        throw new TickwireError(ErrorCode.SYMBOL_NOT_FOUND, `symbol ${JSON.stringify(ch.symbol)} was removed from ${ch.exchange} (its history stays queryable over HTTP)`);
      }
    }
    return ch;
  }

  /** Does any of `symbol`'s channels on `exchange` have a subscriber (what keeps a symbol on demand)? */
  inUse(exchange: string, symbol: string): boolean {
    for (const ch of this.#channelsOf(exchange, symbol)) if (ch.subsJson + ch.subsFbs > 0) return true;
    return false;
  }

  /** Does `exchange` feed symbols on demand (and the library can)? */
  #demands(exchange: string): boolean {
    return this.#tw.demandSymbol !== undefined && this.#tw.config.exchanges[exchange]?.onDemand !== undefined;
  }

  /** Ask for `symbol` on demand, once the caller's `demand(name)` let it. */
  #demand(exchange: string, symbol: string, name: string, demand: (name: string) => void): void {
    demand(name);
    this.#tw.demandSymbol!(exchange, symbol, () => this.inUse(exchange, symbol));
  }

  /** The native form of `symbol` on `exchange`, asking for it on demand when `demand` is given and the exchange allows it. */
  #nativeOf(exchange: string, symbol: string, name: string, demand: ((name: string) => void) | undefined): string {
    try {
      return this.#tw.resolveSymbol(exchange, symbol);
    } catch (err) {
      if (demand === undefined || !(err instanceof TickwireError) || err.code !== ErrorCode.SYMBOL_NOT_FOUND || !this.#demands(exchange)) throw err;
      // Native names only: a normalized name (BTC-USDT) could stand for several venue symbols.
      this.#demand(exchange, symbol, name, demand);
      return this.#tw.resolveSymbol(exchange, symbol);
    }
  }

  #resolveAny(given: string, demand?: (name: string) => void): Channel {
    const known = this.#byName.get(given);
    if (known !== undefined) return known;
    const named = namedKindOf(given);
    if (named !== undefined) throw unknownChannel(given, `no ${named === 'prices' ? 'feed' : 'portfolio'} ${JSON.stringify(given.slice(named.length + 1))} is configured`);
    if (strategyKindOf(given) !== undefined) throw unknownChannel(given, `no strategy named ${JSON.stringify(given.slice(given.indexOf(':') + 1))} is configured`);
    const { kind, exchange, symbol: given_symbol, timeframe: tf } = marketChannelParts(given);
    if (exchange.includes('*') || given_symbol.includes('*')) throw unknownChannel(given, '* must stand for a whole segment');
    // Not fed (never, or removed live): no new channels, though the library still reads a removed one's bars.
    if (this.#tw.config.exchanges[exchange] === undefined) throw new TickwireError(ErrorCode.EXCHANGE_NOT_FOUND, `exchange ${JSON.stringify(exchange)} is not configured`);
    // The library's resolve throws for an unknown symbol: fine here, the first bad name ends the message.
    const symbol = this.#known.get(exchange)?.index.resolve(given_symbol)?.native ?? this.#nativeOf(exchange, given_symbol, given, demand);
    if (kind !== 'bars') {
      const carried = this.#tw.config.exchanges[exchange]?.channels ?? [];
      if (!carried.includes(kind)) throw unknownChannel(given, `exchange ${exchange} does not carry ${kind}`);
      const name = channelName(kind, exchange, symbol);
      return this.#byName.get(name) ?? this.#added(name, exchange, symbol);
    }
    const timeframe = parseTimeframe(tf).name;
    const name = channelName('bars', exchange, symbol, timeframe);
    const ch = this.#byName.get(name);
    if (ch !== undefined) return ch;
    const kept = this.#tw.symbols()[exchange]?.[symbol] ?? [];
    if (!kept.includes(timeframe)) {
      throw new TickwireError(
        ErrorCode.INVALID_TIMEFRAME,
        `timeframe ${timeframe} is not kept for ${exchange} ${symbol}: kept are ${kept.join(' ') || 'none'}`,
      );
    }
    return this.#added(name, exchange, symbol);
  }

  /** `given` as a wildcard pattern; undefined when it has no `*` (a concrete name or a room). Throws UNKNOWN_CHANNEL or INVALID_TIMEFRAME when malformed. */
  pattern(given: string): WildcardPattern | undefined {
    if (this.#byName.has(given)) return undefined;
    if (strategyKindOf(given) !== undefined) {
      if (given.includes('*')) throw unknownChannel(given, 'strategy channels take no wildcards: name the strategy');
      return undefined;
    }
    return parseWildcard(given);
  }

  /**
   * The channels `p` stands for now, in exchange then symbol order. Throws
   * when it names something that does not exist (an unknown exchange, an
   * exchange that does not carry the kind, a symbol on no exchange, a
   * timeframe kept nowhere it matches). `symbols`: `library()`, read once for
   * all the wildcards of a message.
   */
  expand(p: WildcardPattern, symbols: LibrarySymbols = this.library()): Channel[] {
    if (p.exchange !== null) {
      if (symbols[p.exchange] === undefined) {
        throw new TickwireError(ErrorCode.EXCHANGE_NOT_FOUND, `exchange ${JSON.stringify(p.exchange)} is not configured`);
      }
      if (p.kind !== 'bars' && !this.#carries(p.exchange, p.kind)) throw unknownChannel(p.text, `exchange ${p.exchange} does not carry ${p.kind}`);
    }
    const out: Channel[] = [];
    let symbolFound = false;
    for (const exchange of p.exchange === null ? Object.keys(symbols) : [p.exchange]) {
      if (p.kind !== 'bars' && !this.#carries(exchange, p.kind)) continue;
      const kept = symbols[exchange]!;
      let natives: string[];
      if (p.symbol === null) {
        natives = Object.keys(kept);
      } else {
        const native = this.#resolveOn(exchange, p.symbol, kept);
        if (native === undefined) continue;
        natives = [native];
      }
      for (const symbol of natives) {
        if (kept[symbol] === undefined) continue; // removed live
        symbolFound = true;
        const name = channelName(p.kind, exchange, symbol, p.timeframe);
        if (p.kind === 'bars' && !(kept[symbol] ?? []).includes(p.timeframe!)) continue;
        out.push(this.#byName.get(name) ?? this.#added(name, exchange, symbol));
      }
    }
    if (p.symbol !== null && !symbolFound) {
      throw new TickwireError(
        ErrorCode.SYMBOL_NOT_FOUND,
        `symbol ${JSON.stringify(p.symbol)} is not configured on ${p.exchange ?? 'any exchange'}${p.kind === 'bars' ? '' : ` carrying ${p.kind}`}`,
      );
    }
    if (p.kind === 'bars' && symbolFound && out.length === 0) {
      throw new TickwireError(ErrorCode.INVALID_TIMEFRAME, `timeframe ${p.timeframe} is not kept for any channel matching ${p.text}`);
    }
    return out;
  }

  /** Does channel `ch` (typically created after the pattern was subscribed) belong to `p`? */
  matches(p: WildcardPattern, ch: Channel): boolean {
    if (!this.#sameGroup(p, ch)) return false;
    return p.symbol === null || this.#known.get(ch.exchange)?.index.resolve(p.symbol)?.native === ch.symbol;
  }

  /**
   * Add to `out` the channels of `held` that `p` matches; returns how many
   * channels it looked at (the work done, for the rate limit): with a symbol,
   * one lookup per exchange; with `*` for the symbol, a walk over the smaller
   * of `held` and the channels of the pattern's kind and exchanges.
   */
  matchHeld(p: WildcardPattern, held: ReadonlyMap<Channel, unknown>, out: Set<Channel>): number {
    const exchanges = p.exchange === null ? [...this.#known.keys()] : [p.exchange];
    if (p.symbol !== null) {
      for (const exchange of exchanges) {
        const native = this.#known.get(exchange)?.index.resolve(p.symbol)?.native;
        const ch = native === undefined ? undefined : this.#find(p.kind, exchange, native, p.timeframe);
        if (ch !== undefined && held.has(ch)) out.add(ch);
      }
      return exchanges.length;
    }
    let size = 0;
    for (const exchange of exchanges) size += this.#symbolsOf(p.kind, exchange)?.size ?? 0;
    if (held.size <= size) {
      for (const ch of held.keys()) if (this.#sameGroup(p, ch)) out.add(ch);
      return held.size;
    }
    for (const exchange of exchanges) {
      for (const symbol of this.#symbolsOf(p.kind, exchange)?.keys() ?? []) {
        const ch = this.#find(p.kind, exchange, symbol, p.timeframe);
        if (ch !== undefined && held.has(ch)) out.add(ch);
      }
    }
    return size;
  }

  /** Kind, exchange and timeframe as `p` asks (the symbol aside). */
  #sameGroup(p: WildcardPattern, ch: Channel): boolean {
    return ch.kind === p.kind && (p.exchange === null || p.exchange === ch.exchange) && (p.timeframe === undefined || p.timeframe === ch.timeframe);
  }

  /** The symbols of `exchange` with channels of `kind` (keys: natives). */
  #symbolsOf(kind: MarketKind, exchange: string): ReadonlyMap<string, unknown> | undefined {
    return (kind === 'bars' ? this.#bars : kind === 'trades' ? this.#trades : this.#quotes).get(exchange);
  }

  #find(kind: MarketKind, exchange: string, native: string, timeframe: TimeframeName | undefined): Channel | undefined {
    return kind === 'bars' ? this.bar(exchange, native, timeframe!) : kind === 'trades' ? this.trade(exchange, native) : this.quote(exchange, native);
  }

  #carries(exchange: string, kind: MarketKind): boolean {
    return (this.#tw.config.exchanges[exchange]?.channels ?? []).includes(kind as 'trades' | 'quotes');
  }

  /**
   * The native form of `symbol` on `exchange`, or undefined when it is not
   * there. Looked up here without throwing; the library is asked only when it
   * has symbols this index has no channels for yet (`kept`: its symbols of
   * the exchange), a runtime addition before its first event.
   */
  #resolveOn(exchange: string, symbol: string, kept: Readonly<Record<string, unknown>>): string | undefined {
    const known = this.#known.get(exchange);
    const native = known?.index.resolve(symbol)?.native;
    if (native !== undefined) return native;
    let missing = false;
    for (const s in kept) {
      if (known?.natives.has(s) !== true) {
        missing = true;
        break;
      }
    }
    if (!missing) return undefined;
    try {
      return this.#tw.resolveSymbol(exchange, symbol);
    } catch (err) {
      if (err instanceof TickwireError && (err.code === ErrorCode.SYMBOL_NOT_FOUND || err.code === ErrorCode.EXCHANGE_NOT_FOUND)) return undefined;
      throw err;
    }
  }

  /** A symbol the library knows but that has no channels yet (added at runtime): create them, return `name`'s. */
  #added(name: string, exchange: string, symbol: string): Channel {
    this.addSymbol(exchange, symbol);
    const ch = this.#byName.get(name);
    if (ch === undefined) throw unknownChannel(name, `${exchange} ${symbol} has no such channel`);
    return ch;
  }

  #create(name: string, kind: ChannelKind, exchange: string, symbol: string, timeframe: TimeframeName | undefined): Channel {
    const market = kind === 'trades' || kind === 'quotes' || kind === 'bars';
    const format = market ? prepareChannel(kind, name, exchange, symbol, timeframe) : undefined;
    const ch: Channel = {
      name,
      fbsTopic: name + '\u0000fbs',
      kind,
      exchange,
      symbol,
      timeframe,
      format,
      maxBytes: format?.maxBytes ?? ROOM_MESSAGE_BOUND,
      fbsBytes: 0,
      seq: 0,
      subsJson: 0,
      subsFbs: 0,
      liveJson: 0,
      liveFbs: 0,
      history: null,
      idleSince: NaN,
      encode: 0,
    };
    this.#byName.set(name, ch);
    if (market) {
      let known = this.#known.get(exchange);
      if (known === undefined) this.#known.set(exchange, (known = { natives: new Set(), index: new SymbolIndex() }));
      if (!known.natives.has(symbol)) {
        known.natives.add(symbol);
        known.index.add(symbol);
      }
    }
    if (kind === 'bars') {
      let bySymbol = this.#bars.get(exchange);
      if (bySymbol === undefined) this.#bars.set(exchange, (bySymbol = new Map()));
      let byTf = bySymbol.get(symbol);
      if (byTf === undefined) bySymbol.set(symbol, (byTf = new Map()));
      byTf.set(timeframe!, ch);
    } else if (market) {
      const index = kind === 'trades' ? this.#trades : this.#quotes;
      let bySymbol = index.get(exchange);
      if (bySymbol === undefined) index.set(exchange, (bySymbol = new Map()));
      bySymbol.set(symbol, ch);
    }
    this.#onCreate(ch);
    return ch;
  }
}
