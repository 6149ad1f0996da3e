/**
 * Price feeds with failover: which venue serves each feed now, and the
 * prices it serves. Pure: trades, quotes, exchange states and a clock in,
 * prices and switches out; the owner (src/api/) calls `check(now)` a few
 * times a second.
 *
 * Rules
 *  - A source is healthy when its exchange is connected, it sent a trade or
 *    quote received (local time) within `staleMs`, and (with `maxDeviationBps` > 0 and at least one
 *    other fresh source) its price is within `maxDeviationBps` of the median
 *    of the other fresh sources.
 *  - The active source is the first healthy one in priority order. It loses
 *    the feed at once when its exchange reports a state other than
 *    connected (`disconnected`, or `circuit_open`), when a check finds it
 *    stale (`stale`), or when one of its own prices deviates (`deviation`:
 *    that price is not published). The feed moves to the next healthy
 *    source, or to none (`to: null`: the feed's prices stop).
 *  - A source of higher priority than the active one takes the feed back
 *    (`recovered`) once it has been healthy for `switchBackMs` without a
 *    break; with no active source, the first healthy source takes it at once
 *    (`recovered`, or `started` the first time).
 *  - A trade or quote is judged by its receive time against the clock when
 *    it reaches the router, not only by the 250 ms check: one received more
 *    than `staleMs` ago updates its source's last price (shown in the feed's
 *    state) but does not make the source healthy, start a feed or publish a
 *    price; the active source's own stale message loses it the feed at once
 *    (`stale`). Why here: a cluster edge replays every venue's last trade
 *    at start (src/cluster/edge-runtime.ts), in stream order, and a single
 *    process can fall behind its workers; judging each message as it comes
 *    keeps an old price from being published as current, and keeps the
 *    quietest venue (whose last trade is replayed first) from starting the
 *    feed on a trade minutes old, in every role with one rule, without
 *    telling replays from live messages.
 *  - A price is published for every trade or quote of the active source,
 *    only after it was judged healthy: never from a source already judged
 *    unhealthy. `price` is its last trade price (the quote's mid before its
 *    first trade); `bid`/`ask` its last quote (null when it sends none).
 *
 * Decision where the issue is silent: a check runs every 250 ms (src/api/),
 * so a switch happens within `staleMs` + 250 ms of the last message of a
 * source that went silent; a disconnect is seen with the exchange's next
 * status report (every second).
 *
 * Cost per trade of a symbol that feeds nothing: one Map lookup (the owner
 * asks `serves` before it reads the clock for `now`). Of a
 * source: a few field writes; for the active one, a median over the other
 * sources (at most 10, into a reused array) and one event object.
 */
import type { PriceFeedConfig } from '../config/types.ts';
import type { PriceEvent, SourceEvent, SourceSwitchReason } from '../model/events.ts';
import type { ExchangeState } from '../model/status.ts';

/** Where the router delivers; `price` is called only when `wantsPrices()` says someone listens. */
export interface FeedOutput {
  price(event: PriceEvent): void;
  source(event: SourceEvent): void;
}

/** One source's live state. */
interface Source {
  readonly key: string;
  readonly exchange: string;
  readonly symbol: string;
  readonly priority: number;
  /** Its exchange's last status said it is not connected (until a status says it is again; before any status its trades count). */
  down: boolean;
  /** Local time of its last trade or quote, ms (NaN: none yet). */
  lastRecv: number;
  sourceTs: number;
  trade: number;
  bid: number;
  ask: number;
  /** Local time since which it has been healthy without a break (NaN: not healthy). */
  healthySince: number;
}

/** One feed's live state. */
interface Feed {
  readonly config: PriceFeedConfig;
  readonly sources: Source[];
  /** Index of the active source, -1 for none. */
  active: number;
  /** Has a source ever been active? (the first switch says `started`) */
  started: boolean;
  /** Last published price and its local time. */
  price: number;
  priceTs: number;
  prices: number;
  switches: number;
}

/** What `/v1/feeds` shows of a feed's sources. */
export interface SourceState {
  source: string;
  /** False once its exchange reported a state other than connected (until it reports connected again). */
  connected: boolean;
  healthy: boolean;
  /** Its last trade price (or quote mid), null before any. */
  price: number | null;
  /** ms since its last trade or quote, null before any. */
  ageMs: number | null;
}

/** A feed's state now. */
export interface FeedState {
  feed: string;
  /** null: no healthy source. */
  active: string | null;
  price: number | null;
  bid: number | null;
  ask: number | null;
  /** Local time of the last published price, null before any. */
  ts: number | null;
  sources: SourceState[];
  /** Prices published and source switches since start. */
  prices: number;
  switches: number;
}

/** Trades, quotes and exchange states → each feed's active source and prices. */
export class FeedRouter {
  readonly #feeds: Feed[] = [];
  readonly #byName = new Map<string, Feed>();
  /** exchange → native symbol → the (feed, source) pairs it serves. */
  readonly #bySymbol = new Map<string, Map<string, { feed: Feed; source: Source }[]>>();
  readonly #out: FeedOutput;
  readonly #wantsPrices: () => boolean;
  /** Scratch for the median (MAX_SOURCES). */
  readonly #scratch = new Float64Array(16);
  /** Switches by reason, since start (metrics). */
  readonly switchesByReason = new Map<SourceSwitchReason, number>();

  constructor(feeds: readonly PriceFeedConfig[], out: FeedOutput, wantsPrices: () => boolean = () => true) {
    this.#out = out;
    this.#wantsPrices = wantsPrices;
    for (const config of feeds) {
      const feed: Feed = {
        config,
        sources: config.sources.map((s, priority) => ({
          key: s.key, exchange: s.exchange, symbol: s.symbol, priority,
          down: false, lastRecv: NaN, sourceTs: NaN, trade: NaN, bid: NaN, ask: NaN, healthySince: NaN,
        })),
        active: -1, started: false, price: NaN, priceTs: NaN, prices: 0, switches: 0,
      };
      this.#feeds.push(feed);
      this.#byName.set(config.name, feed);
      for (const source of feed.sources) {
        let bySymbol = this.#bySymbol.get(source.exchange);
        if (bySymbol === undefined) this.#bySymbol.set(source.exchange, (bySymbol = new Map()));
        let list = bySymbol.get(source.symbol);
        if (list === undefined) bySymbol.set(source.symbol, (list = []));
        list.push({ feed, source });
      }
    }
  }

  /** Does `symbol` on `exchange` serve any feed? */
  serves(exchange: string, symbol: string): boolean {
    return this.#bySymbol.get(exchange)?.has(symbol) === true;
  }

  /** A trade of `symbol` on `exchange` (times in ms: the exchange's, its local receipt, and now as it reaches the router). */
  onTrade(exchange: string, symbol: string, price: number, sourceTs: number, recvMs: number, now: number): void {
    const list = this.#bySymbol.get(exchange)?.get(symbol);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const { feed, source } = list[i]!;
      source.trade = price;
      this.#onTick(feed, source, sourceTs, recvMs, now);
    }
  }

  /** A quote of `symbol` on `exchange` (times as for `onTrade`). */
  onQuote(exchange: string, symbol: string, bid: number, ask: number, sourceTs: number, recvMs: number, now: number): void {
    const list = this.#bySymbol.get(exchange)?.get(symbol);
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const { feed, source } = list[i]!;
      source.bid = bid;
      source.ask = ask;
      this.#onTick(feed, source, sourceTs, recvMs, now);
    }
  }

  /** An exchange's connection state (its status reports); anything but `connected` makes its sources unhealthy at once. */
  onExchangeState(exchange: string, state: ExchangeState, now: number): void {
    const down = state !== 'connected';
    for (const feed of this.#feeds) {
      for (const source of feed.sources) {
        if (source.exchange !== exchange || source.down === down) continue;
        source.down = down;
        if (!down) continue;
        source.healthySince = NaN;
        if (feed.active === source.priority) this.#switch(feed, state === 'circuit_open' ? 'circuit_open' : 'disconnected', now);
      }
    }
  }

  /** Staleness and switch-back, for every feed (the owner calls it every 250 ms). */
  check(now: number): void {
    for (const feed of this.#feeds) {
      for (const source of feed.sources) {
        if (!this.#fresh(feed, source, now)) source.healthySince = NaN;
      }
      const active = feed.active;
      if (active >= 0 && Number.isNaN(feed.sources[active]!.healthySince)) {
        this.#switch(feed, 'stale', now);
        continue;
      }
      const limit = active < 0 ? feed.sources.length : active;
      for (let i = 0; i < limit; i++) {
        const s = feed.sources[i]!;
        if (Number.isNaN(s.healthySince)) continue;
        if (active < 0 || now - s.healthySince >= feed.config.switchBackMs) {
          if (this.#deviates(feed, s, now)) continue;
          this.#activate(feed, i, feed.started ? 'recovered' : 'started', now);
          break;
        }
      }
    }
  }

  /** Every feed's state now, in config order. */
  states(now: number): FeedState[] {
    return this.#feeds.map((f) => this.#state(f, now));
  }

  /** One feed's state, undefined when there is no such feed. */
  state(name: string, now: number): FeedState | undefined {
    const feed = this.#byName.get(name);
    return feed === undefined ? undefined : this.#state(feed, now);
  }

  /** The active source of `name` (`{exchange, symbol}`), else its primary; undefined for an unknown feed. */
  barSource(name: string): { exchange: string; symbol: string } | undefined {
    const feed = this.#byName.get(name);
    if (feed === undefined) return undefined;
    return feed.sources[Math.max(0, feed.active)]!;
  }

  #onTick(feed: Feed, source: Source, sourceTs: number, recvMs: number, now: number): void {
    source.lastRecv = recvMs;
    source.sourceTs = sourceTs;
    if (source.down) return; // a late record of a connection already judged down publishes nothing
    if (now - recvMs > feed.config.staleMs) {
      // Stale on arrival (see the module comment): its price is the source's last, but it is no evidence of health.
      source.healthySince = NaN;
      if (feed.active === source.priority) this.#switch(feed, 'stale', now);
      return;
    }
    if (Number.isNaN(source.healthySince)) source.healthySince = recvMs;
    if (feed.active !== source.priority) {
      // With no active source, the first healthy one takes the feed, and this tick is its first price.
      if (feed.active >= 0 || this.#deviates(feed, source, recvMs)) return;
      this.#activate(feed, source.priority, feed.started ? 'recovered' : 'started', recvMs);
    } else if (this.#deviates(feed, source, recvMs)) {
      source.healthySince = NaN;
      this.#switch(feed, 'deviation', recvMs);
      return;
    }
    this.#publish(feed, source, recvMs);
  }

  #publish(feed: Feed, source: Source, now: number): void {
    const price = priceOf(source);
    if (Number.isNaN(price)) return;
    feed.price = price;
    feed.priceTs = now;
    feed.prices++;
    if (!this.#wantsPrices()) return;
    this.#out.price({
      feed: feed.config.name,
      price,
      bid: Number.isNaN(source.bid) ? null : source.bid,
      ask: Number.isNaN(source.ask) ? null : source.ask,
      source: source.key,
      ts: now,
      sourceTs: source.sourceTs,
    });
  }

  #fresh(feed: Feed, s: Source, now: number): boolean {
    return !s.down && now - s.lastRecv <= feed.config.staleMs;
  }

  /** Is `s`'s price beyond `maxDeviationBps` of the median of the other fresh sources? (false when there are none) */
  #deviates(feed: Feed, s: Source, now: number): boolean {
    const maxBps = feed.config.maxDeviationBps;
    const price = priceOf(s);
    if (maxBps === 0 || Number.isNaN(price)) return false;
    const xs = this.#scratch;
    let n = 0;
    for (const o of feed.sources) {
      if (o === s || !this.#fresh(feed, o, now)) continue;
      const p = priceOf(o);
      if (!Number.isNaN(p)) xs[n++] = p;
    }
    if (n === 0) return false;
    const median = medianOf(xs, n);
    return (Math.abs(price - median) / median) * 10_000 > maxBps;
  }

  /** The active source is no longer usable: the next healthy one in priority order takes over, or none. */
  #switch(feed: Feed, reason: SourceSwitchReason, now: number): void {
    const from = feed.active;
    for (let i = 0; i < feed.sources.length; i++) {
      const s = feed.sources[i]!;
      if (i === from || Number.isNaN(s.healthySince) || !this.#fresh(feed, s, now) || this.#deviates(feed, s, now)) continue;
      this.#activate(feed, i, reason, now);
      return;
    }
    this.#activate(feed, -1, reason, now);
  }

  #activate(feed: Feed, to: number, reason: SourceSwitchReason, now: number): void {
    const from = feed.active;
    if (from === to) return;
    feed.active = to;
    if (to >= 0) feed.started = true;
    feed.switches++;
    this.switchesByReason.set(reason, (this.switchesByReason.get(reason) ?? 0) + 1);
    this.#out.source({
      feed: feed.config.name,
      from: from < 0 ? null : feed.sources[from]!.key,
      to: to < 0 ? null : feed.sources[to]!.key,
      reason,
      ts: now,
    });
  }

  #state(feed: Feed, now: number): FeedState {
    const active = feed.active < 0 ? undefined : feed.sources[feed.active]!;
    return {
      feed: feed.config.name,
      active: active?.key ?? null,
      price: Number.isNaN(feed.price) ? null : feed.price,
      bid: active === undefined || Number.isNaN(active.bid) ? null : active.bid,
      ask: active === undefined || Number.isNaN(active.ask) ? null : active.ask,
      ts: Number.isNaN(feed.priceTs) ? null : feed.priceTs,
      sources: feed.sources.map((s) => ({
        source: s.key,
        connected: !s.down,
        healthy: !Number.isNaN(s.healthySince) && this.#fresh(feed, s, now),
        price: Number.isNaN(priceOf(s)) ? null : priceOf(s),
        ageMs: Number.isNaN(s.lastRecv) ? null : Math.max(0, now - s.lastRecv),
      })),
      prices: feed.prices,
      switches: feed.switches,
    };
  }
}

/** A source's price: its last trade, else its quote's mid, else NaN. */
function priceOf(s: Source): number {
  if (!Number.isNaN(s.trade)) return s.trade;
  return Number.isNaN(s.bid) || Number.isNaN(s.ask) ? NaN : (s.bid + s.ask) / 2;
}

/** Median of xs[0..n) (sorts them in place; n ≤ 16, insertion sort). */
function medianOf(xs: Float64Array, n: number): number {
  for (let i = 1; i < n; i++) {
    const v = xs[i]!;
    let j = i - 1;
    while (j >= 0 && xs[j]! > v) {
      xs[j + 1] = xs[j]!;
      j--;
    }
    xs[j + 1] = v;
  }
  return n % 2 === 1 ? xs[(n - 1) / 2]! : (xs[n / 2 - 1]! + xs[n / 2]!) / 2;
}
