/**
 * Alert rules (`alerts.rules`), evaluated on the main thread as events
 * arrive. Pure: events and a clock in, alerts out; the owner calls
 * `check(now)` a few times a second for the rules that fire on time passing
 * (a spread wide for `forMs`, a feed or exchange stale for `forMs`).
 *
 * Firing: a rule fires once per crossing, when its condition turns true
 * (hysteresis: it re-arms only once the condition is false again; a price
 * rule's `hysteresisPct` widens that by a band around the level). A crossing
 * within `cooldownMs` of the rule's last alert raises nothing (counted as
 * `suppressed`) but still arms the rule, so a price hovering at a level
 * raises one alert per cooldown at most. `source` rules fire on every switch
 * of their feed (subject to the cooldown).
 *
 * Rules, each with its condition:
 *  - price: the price (a feed's, or a market's last trade) ≥ `above` / ≤ `below`.
 *  - change: |price now / price at the start of the window − 1| ≥ `pct` %,
 *    the window the last `windowMs` (prices sampled at windowMs/64, so the
 *    reference is at most that much older than the window).
 *  - volume: a closed bar's volume > `factor` × the mean of the `bars` closed
 *    bars before it (judged once `bars` bars were seen).
 *  - spread: the quoted spread > `bps` for at least `forMs`.
 *  - stale: a feed with no price, or an exchange not connected, for `forMs`.
 *  - portfolio: as change, on a portfolio's value.
 *  - source: a switch of the feed's active source.
 *
 * Cost per trade: one Map lookup per exchange and symbol; per rule watching
 * it, a comparison, or for change rules a ring push every windowMs/64.
 */
import type { AlertRuleConfig } from '../config/types.ts';
import type { AlertEvent, SourceEvent } from '../model/events.ts';
import type { ExchangeState } from '../model/status.ts';

/** Alerts kept for `report().recent`. */
export const RECENT_ALERTS = 100;
const SAMPLES = 64;

/** A rule's state as `GET /v1/alerts` shows it. */
export interface RuleState {
  id: string;
  type: AlertRuleConfig['type'];
  level: AlertRuleConfig['level'];
  /** `armed`: waiting for its condition; `active`: the condition holds (fired, or suppressed by the cooldown). */
  state: 'armed' | 'active';
  fired: number;
  suppressed: number;
  lastFiredAt: number | null;
  /** The last value the rule judged (price, percent, ratio, bps, ms), null before any. */
  lastValue: number | null;
  rule: AlertRuleConfig;
}

/** Price samples over a window: the oldest one in it is the change's reference. */
class Window {
  readonly #ts = new Float64Array(SAMPLES + 1);
  readonly #v = new Float64Array(SAMPLES + 1);
  #head = 0;
  #count = 0;
  readonly #windowMs: number;
  readonly #stepMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
    this.#stepMs = windowMs / SAMPLES;
  }

  /** Record `v` at `now`; the change in percent against the window's start (NaN until there is a reference). */
  change(v: number, now: number): number {
    const n = SAMPLES + 1;
    const last = (this.#head + this.#count - 1) % n;
    if (this.#count === 0 || now - this.#ts[last]! >= this.#stepMs) {
      if (this.#count === n) {
        this.#head = (this.#head + 1) % n;
        this.#count--;
      }
      const at = (this.#head + this.#count) % n;
      this.#ts[at] = now;
      this.#v[at] = v;
      this.#count++;
    }
    // Drop references older than the window, keeping the newest of them as the start.
    while (this.#count > 1 && this.#ts[(this.#head + 1) % n]! <= now - this.#windowMs) {
      this.#head = (this.#head + 1) % n;
      this.#count--;
    }
    const ref = this.#v[this.#head]!;
    return this.#count < 2 || ref === 0 ? NaN : (v / ref - 1) * 100;
  }
}

interface Rule {
  readonly config: AlertRuleConfig;
  active: boolean;
  fired: number;
  suppressed: number;
  lastFiredAt: number;
  lastValue: number;
  /** change and portfolio rules */
  window: Window | undefined;
  /** volume rules: the last `bars` volumes */
  volumes: Float64Array | undefined;
  volumeSum: number;
  volumeCount: number;
  /** spread: since when it has been wide; stale: since when the target has been silent or down (NaN: not). */
  since: number;
}

/** Evaluates the rules; `raise` gets each alert. */
export class AlertEngine {
  readonly #rules: Rule[];
  readonly #raise: (a: AlertEvent) => void;
  /** exchange → symbol → rules on its trades (price, change). */
  readonly #byMarket = new Map<string, Map<string, Rule[]>>();
  readonly #byQuote = new Map<string, Map<string, Rule[]>>();
  readonly #byBar = new Map<string, Rule[]>();
  readonly #byFeed = new Map<string, Rule[]>();
  readonly #bySource = new Map<string, Rule[]>();
  readonly #byPortfolio = new Map<string, Rule[]>();
  readonly #stale: Rule[] = [];
  readonly #spread: Rule[] = [];
  readonly #recent: AlertEvent[] = [];

  constructor(rules: readonly AlertRuleConfig[], raise: (a: AlertEvent) => void, now: number) {
    this.#raise = raise;
    this.#rules = rules.map((config) => ({
      config, active: false, fired: 0, suppressed: 0, lastFiredAt: NaN, lastValue: NaN,
      window: config.type === 'change' || config.type === 'portfolio' ? new Window(config.windowMs) : undefined,
      volumes: config.type === 'volume' ? new Float64Array(config.bars) : undefined,
      volumeSum: 0, volumeCount: 0,
      since: config.type === 'stale' && 'feed' in config.target ? now : NaN,
    }));
    for (const r of this.#rules) {
      const c = r.config;
      switch (c.type) {
        case 'price':
        case 'change':
          if ('feed' in c.target) push(this.#byFeed, c.target.feed, r);
          else pushMarket(this.#byMarket, c.target.exchange, c.target.symbol, r);
          break;
        case 'volume':
          push(this.#byBar, `${c.exchange}\u0000${c.symbol}\u0000${c.timeframe}`, r);
          break;
        case 'spread':
          pushMarket(this.#byQuote, c.exchange, c.symbol, r);
          this.#spread.push(r);
          break;
        case 'stale':
          if ('feed' in c.target) push(this.#byFeed, c.target.feed, r);
          this.#stale.push(r);
          break;
        case 'portfolio':
          push(this.#byPortfolio, c.portfolio, r);
          break;
        case 'source':
          push(this.#bySource, c.feed, r);
          break;
      }
    }
  }

  /** Does any rule watch trades of this market? (the owner may skip the call) */
  watchesTrades(exchange: string, symbol: string): boolean {
    return this.#byMarket.get(exchange)?.has(symbol) === true;
  }

  onTrade(exchange: string, symbol: string, price: number, now: number): void {
    const rules = this.#byMarket.get(exchange)?.get(symbol);
    if (rules !== undefined) for (let i = 0; i < rules.length; i++) this.#onPrice(rules[i]!, price, now);
  }

  onQuote(exchange: string, symbol: string, bid: number, ask: number, now: number): void {
    const rules = this.#byQuote.get(exchange)?.get(symbol);
    if (rules === undefined) return;
    const bps = ((ask - bid) / ((ask + bid) / 2)) * 10_000;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (r.config.type !== 'spread') continue;
      r.lastValue = bps;
      if (bps > r.config.bps) {
        if (Number.isNaN(r.since)) r.since = now;
        this.#judgeSpread(r, now);
      } else {
        r.since = NaN;
        r.active = false;
      }
    }
  }

  /** A feed's price. */
  onFeedPrice(feed: string, price: number, now: number): void {
    const rules = this.#byFeed.get(feed);
    if (rules === undefined) return;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      if (r.config.type === 'stale') {
        r.since = now;
        r.active = false;
      } else {
        this.#onPrice(r, price, now);
      }
    }
  }

  onSource(e: SourceEvent): void {
    for (const r of this.#bySource.get(e.feed) ?? []) {
      this.#fire(r, null, `${e.feed} source ${e.from ?? 'none'} → ${e.to ?? 'none'} (${e.reason})`, e.ts);
      r.active = false; // every switch is its own event
    }
  }

  /** A closed bar's volume. */
  onBarClose(exchange: string, symbol: string, timeframe: string, volume: number, now: number): void {
    const rules = this.#byBar.get(`${exchange}\u0000${symbol}\u0000${timeframe}`);
    if (rules === undefined) return;
    for (const r of rules) {
      if (r.config.type !== 'volume') continue;
      const n = r.config.bars;
      const vs = r.volumes!;
      if (r.volumeCount >= n) {
        const ratio = volume / (r.volumeSum / n);
        r.lastValue = ratio;
        if (ratio > r.config.factor) {
          this.#cross(r, ratio, `${exchange} ${symbol} ${timeframe} volume ${fmt(volume)} is ${fmt(ratio)}× the mean of the last ${n} bars`, now);
        } else {
          r.active = false;
        }
      }
      const at = r.volumeCount % n;
      r.volumeSum += volume - (r.volumeCount >= n ? vs[at]! : 0);
      vs[at] = volume;
      r.volumeCount++;
    }
  }

  onExchangeState(exchange: string, state: ExchangeState, now: number): void {
    for (const r of this.#stale) {
      const c = r.config;
      if (c.type !== 'stale' || !('exchange' in c.target) || c.target.exchange !== exchange) continue;
      if (state === 'connected') {
        r.since = NaN;
        r.active = false;
      } else if (Number.isNaN(r.since)) {
        r.since = now;
      }
    }
  }

  onPortfolio(id: string, value: number, now: number): void {
    const rules = this.#byPortfolio.get(id);
    if (rules === undefined) return;
    for (const r of rules) {
      if (r.config.type !== 'portfolio') continue;
      const pct = r.window!.change(value, now);
      r.lastValue = pct;
      if (Math.abs(pct) >= r.config.pct) this.#cross(r, pct, `portfolio ${id} value ${fmt(value)} moved ${fmt(pct)}% within ${r.config.windowMs / 1000} s`, now);
      else r.active = false;
    }
  }

  /** The rules that fire on time passing: stale targets, spreads wide for long enough. */
  check(now: number): void {
    for (const r of this.#stale) {
      const c = r.config;
      if (c.type !== 'stale' || Number.isNaN(r.since)) continue;
      const silent = now - r.since;
      r.lastValue = silent;
      if (silent >= c.forMs) {
        const what = 'feed' in c.target ? `feed ${c.target.feed} has had no price` : `exchange ${c.target.exchange} has not been connected`;
        this.#cross(r, silent, `${what} for ${Math.round(silent / 1000)} s`, now);
      }
    }
    for (const r of this.#spread) if (!Number.isNaN(r.since)) this.#judgeSpread(r, now);
  }

  /** Every rule's state, and the last alerts (oldest first). */
  report(): { rules: RuleState[]; recent: AlertEvent[] } {
    return {
      rules: this.#rules.map((r) => ({
        id: r.config.id,
        type: r.config.type,
        level: r.config.level,
        state: r.active ? 'active' : 'armed',
        fired: r.fired,
        suppressed: r.suppressed,
        lastFiredAt: Number.isNaN(r.lastFiredAt) ? null : r.lastFiredAt,
        lastValue: Number.isFinite(r.lastValue) ? r.lastValue : null,
        rule: r.config,
      })),
      recent: [...this.#recent],
    };
  }

  /** A trade or feed price for a price or change rule; the alert's text is built only when it fires (hot path: once per trade). */
  #onPrice(r: Rule, price: number, now: number): void {
    const c = r.config;
    if (c.type === 'price') {
      r.lastValue = price;
      if (c.above !== undefined) {
        if (price >= c.above) {
          if (!r.active) this.#cross(r, price, `${targetLabel(c.target)} price ${fmt(price)} crossed above ${fmt(c.above)}`, now);
        } else if (price < c.above * (1 - c.hysteresisPct / 100)) r.active = false;
      } else if (c.below !== undefined) {
        if (price <= c.below) {
          if (!r.active) this.#cross(r, price, `${targetLabel(c.target)} price ${fmt(price)} crossed below ${fmt(c.below)}`, now);
        } else if (price > c.below * (1 + c.hysteresisPct / 100)) r.active = false;
      }
    } else if (c.type === 'change') {
      const pct = r.window!.change(price, now);
      r.lastValue = pct;
      if (Math.abs(pct) >= c.pct) {
        if (!r.active) this.#cross(r, pct, `${targetLabel(c.target)} moved ${fmt(pct)}% within ${c.windowMs / 1000} s (now ${fmt(price)})`, now);
      } else r.active = false;
    }
  }

  #judgeSpread(r: Rule, now: number): void {
    const c = r.config;
    if (c.type !== 'spread' || now - r.since < c.forMs) return;
    this.#cross(r, r.lastValue, `${c.exchange} ${c.symbol} spread ${fmt(r.lastValue)} bps above ${fmt(c.bps)} for ${Math.round((now - r.since) / 1000)} s`, now);
  }

  /** The condition holds: fire on the crossing only. */
  #cross(r: Rule, value: number, message: string, now: number): void {
    if (r.active) return;
    r.active = true;
    this.#fire(r, value, message, now);
  }

  #fire(r: Rule, value: number | null, message: string, now: number): void {
    if (now - r.lastFiredAt < r.config.cooldownMs) {
      r.suppressed++;
      return;
    }
    r.fired++;
    r.lastFiredAt = now;
    const alert: AlertEvent = { id: `${r.config.id}:${r.fired}:${Math.round(now)}`, level: r.config.level, source: r.config.id, message, value, ts: now };
    if (this.#recent.length === RECENT_ALERTS) this.#recent.shift();
    this.#recent.push(alert);
    this.#raise(alert);
  }
}

function push<K>(map: Map<K, Rule[]>, key: K, r: Rule): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [r]);
  else list.push(r);
}

function pushMarket(map: Map<string, Map<string, Rule[]>>, exchange: string, symbol: string, r: Rule): void {
  let bySymbol = map.get(exchange);
  if (bySymbol === undefined) map.set(exchange, (bySymbol = new Map()));
  push(bySymbol, symbol, r);
}

/** A number for a message: up to 8 significant digits. */
function fmt(n: number): string {
  return Number.isFinite(n) ? String(Number(n.toPrecision(8))) : String(n);
}

/** How an alert names what a price or change rule watches: the feed, or `exchange symbol`. */
function targetLabel(t: { feed: string } | { exchange: string; symbol: string }): string {
  return 'feed' in t ? t.feed : `${t.exchange} ${t.symbol}`;
}
