/**
 * What the older `/streamer/*` API (docs/streamer-api.md) sees of a running
 * tickwire: which exchange serves a symbol, whether that exchange can answer
 * now, timeframes in the streamer's names, and the bodies of its status,
 * available and health answers. The routes (streamer-routes.ts) only parse
 * requests and write these out.
 *
 * Decisions where the older API's clients are silent:
 *  - A symbol is served by `streamer.exchange` when the config sets it, else
 *    by the first exchange in config order that lists it (native or
 *    BASE-QUOTE); `/streamer/available` lists each symbol once, as served.
 *  - Readiness of an exchange, checked in this order: circuit open →
 *    STREAMER_NOT_RUNNING; no frame since start → STREAMER_NOT_INITIALIZED
 *    (even with bars restored from storage: they are not live yet); stopped →
 *    STREAMER_NOT_RUNNING; not connected and silent for longer than its
 *    staleness window (`exchanges.<name>.reliability.staleAfterMs`, default
 *    60 s) → STREAMER_NOT_RUNNING. A reconnect shorter than that window
 *    still serves the bars held.
 *  - Timeframes are named as the streamer names them where it has a name
 *    (M1 M5 M15 M30 H1 H4 D1, and W1), else tickwire's (1s, 3m, 2h…).
 *  - Times in answers: `timestamp` and `last_check` are ISO-8601 UTC to the
 *    second (`2025-12-05T08:00:00Z`); bar times are epoch seconds, as the
 *    candles' `time`.
 *  - `/streamer/health` reads every series' bars: the check runs at most once
 *    per HEALTH_CHECK_MS (the route is public and unlimited) and `last_check`
 *    says when it ran.
 */
import type { BarVisitor } from '../buffers/bar-store.ts';
import type { Tickwire } from '../api/types.ts';
import { DEFAULT_STALE_AFTER_MS } from '../config/reliability.ts';
import { ErrorCode, TickwireError } from '../errors.ts';
import { BarField } from '../model/records.ts';
import type { ExchangeStatus } from '../model/status.ts';
import { METATRADER_ALIASES, type TimeframeName } from '../model/timeframes.ts';

/** How often `/streamer/health` looks at the buffers, at most, ms. */
export const HEALTH_CHECK_MS = 1_000;

/** Whether an exchange can answer `/streamer` reads now. */
export type Readiness = 'running' | 'not_initialized' | 'not_running';

/** One served symbol: the exchange answering for it and its native id. */
export interface Served {
  exchange: string;
  symbol: string;
}

/** `2025-12-05T08:00:00Z`: ISO-8601 UTC to the second, as the streamer's clients parse it. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}

const STREAMER_NAME = new Map<TimeframeName, string>(Object.entries(METATRADER_ALIASES).map(([alias, name]) => [name, alias]));

/** A timeframe as the streamer names it (M1…), tickwire's name where it has none. */
export function streamerTimeframe(tf: TimeframeName): string {
  return STREAMER_NAME.get(tf) ?? tf;
}

/** Counts bars and keeps the newest open time while visiting a series. */
class BufferCounter implements BarVisitor {
  bars = 0;
  newestOpenMs = NaN;

  begin(): void {
    this.bars = 0;
    this.newestOpenMs = NaN;
  }

  onBar(buf: Float64Array, offset: number): void {
    this.bars++;
    this.newestOpenMs = buf[offset + BarField.OPEN_TIME]!;
  }
}

/** Per symbol (as served), per timeframe (streamer name): bars held and the newest bar's open time, epoch s (null: none). */
export type BufferStatus = Record<string, Record<string, { bars: number; newest_time: number | null }>>;

export class StreamerView {
  readonly #tw: Tickwire;
  readonly #now: () => number;
  #health: { at: number; buffers: BufferStatus } | undefined;

  /** `now`: the wall clock, ms (tests pin it). */
  constructor(tw: Tickwire, now: () => number = Date.now) {
    this.#tw = tw;
    this.#now = now;
  }

  /** The wall clock this view answers with, ms. */
  now(): number {
    return this.#now();
  }

  /** Exchanges `/streamer` reads, in the order they are searched. */
  exchanges(): string[] {
    const pinned = this.#tw.config.streamer?.exchange ?? null;
    return pinned === null ? Object.keys(this.#tw.config.exchanges) : [pinned];
  }

  /** The exchange serving `symbol` (native or BASE-QUOTE) and its native id; SYMBOL_NOT_FOUND when none lists it. */
  locate(symbol: string): Served {
    for (const exchange of this.exchanges()) {
      try {
        return { exchange, symbol: this.#tw.resolveSymbol(exchange, symbol) };
      } catch (err) {
        if (err instanceof TickwireError && (err.code === ErrorCode.SYMBOL_NOT_FOUND || err.code === ErrorCode.EXCHANGE_NOT_FOUND)) continue;
        throw err;
      }
    }
    throw new TickwireError(ErrorCode.SYMBOL_NOT_FOUND, `symbol ${JSON.stringify(symbol)} is not served by ${this.exchanges().join(', ')}`);
  }

  /** Whether `exchange` can answer now, from its status (see the module comment for the rules). */
  readiness(exchange: string, status: ExchangeStatus | undefined = this.#tw.status().exchanges[exchange]): Readiness {
    if (status === undefined) return 'not_initialized';
    if (status.state === 'circuit_open') return 'not_running';
    if (status.lastMessageAgeMs === null) return 'not_initialized';
    if (status.state === 'stopped') return 'not_running';
    const staleAfterMs = this.#tw.config.exchanges[exchange]?.reliability?.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    if (status.state !== 'connected' && status.lastMessageAgeMs > staleAfterMs) return 'not_running';
    return 'running';
  }

  /** Throws STREAMER_NOT_INITIALIZED or STREAMER_NOT_RUNNING unless `exchange` can answer now. */
  requireRunning(exchange: string): void {
    const status = this.#tw.status().exchanges[exchange];
    const r = this.readiness(exchange, status);
    if (r === 'not_initialized') {
      throw new TickwireError(ErrorCode.STREAMER_NOT_INITIALIZED, `streamer not initialized: ${exchange} has delivered no data since start`);
    }
    if (r === 'not_running') {
      const state = status?.state ?? 'stopped';
      const age = status?.lastMessageAgeMs;
      const silent = age === null || age === undefined ? '' : `, last data ${Math.round(age / 1000)} s ago`;
      throw new TickwireError(ErrorCode.STREAMER_NOT_RUNNING, `streamer not running: ${exchange} is ${state}${silent}`);
    }
  }

  /** Every served symbol (each name once, as the first exchange searched lists it) → its exchange. */
  served(): Map<string, Served> {
    const out = new Map<string, Served>();
    const all = this.#tw.symbols();
    for (const exchange of this.exchanges()) {
      for (const symbol of Object.keys(all[exchange] ?? {})) if (!out.has(symbol)) out.set(symbol, { exchange, symbol });
    }
    return out;
  }

  /** The configured timeframes in the streamer's names. */
  timeframes(): string[] {
    return this.#tw.config.timeframes.map(streamerTimeframe);
  }

  /** `/streamer/available`: symbol → timeframes (streamer names). */
  available(): Record<string, string[]> {
    const all = this.#tw.symbols();
    const out: Record<string, string[]> = {};
    for (const [symbol, { exchange }] of this.served()) out[symbol] = (all[exchange]?.[symbol] ?? []).map(streamerTimeframe);
    return out;
  }

  /** `/streamer/status` without `success` and `timestamp`: running state, symbols, timeframes, metrics. */
  status(): Record<string, unknown> {
    const report = this.#tw.status();
    const exchanges: Record<string, unknown> = {};
    const states: Readiness[] = [];
    const totals = { messages: 0, trades: 0, quotes: 0, reconnects: 0, parse_errors: 0, ring_overflow: 0 };
    for (const name of this.exchanges()) {
      const s = report.exchanges[name];
      const readiness = this.readiness(name, s);
      states.push(readiness);
      exchanges[name] = {
        status: readiness,
        state: s?.state ?? 'stopped',
        last_message_age_ms: s?.lastMessageAgeMs ?? null,
        message_rate: s?.messageRate ?? 0,
        messages: s?.messages ?? 0,
        trades: s?.trades ?? 0,
        quotes: s?.quotes ?? 0,
        reconnects: s?.reconnects ?? 0,
      };
      if (s === undefined) continue;
      totals.messages += s.messages;
      totals.trades += s.trades;
      totals.quotes += s.quotes;
      totals.reconnects += s.reconnects;
      totals.parse_errors += s.parseErrors;
      totals.ring_overflow += s.ringOverflow;
    }
    const symbols = [...this.served().keys()];
    return {
      running: states.every((s) => s === 'running'),
      status: overall(states),
      symbols,
      timeframes: this.timeframes(),
      metrics: { uptime_seconds: Math.floor(report.uptimeMs / 1000), symbols: symbols.length, ...totals, exchanges },
    };
  }

  /** Buffer status of every served series, read at most once per HEALTH_CHECK_MS; `at` is when it was read. */
  buffers(): { at: number; buffers: BufferStatus } {
    const now = this.#now();
    if (this.#health !== undefined && now - this.#health.at < HEALTH_CHECK_MS && now >= this.#health.at) return this.#health;
    const counter = new BufferCounter();
    const all = this.#tw.symbols();
    const buffers: BufferStatus = {};
    for (const [symbol, { exchange }] of this.served()) {
      const byTf: BufferStatus[string] = {};
      for (const tf of all[exchange]?.[symbol] ?? []) {
        this.#tw.visitBars(exchange, symbol, tf, counter);
        byTf[streamerTimeframe(tf)] = { bars: counter.bars, newest_time: counter.bars === 0 ? null : counter.newestOpenMs / 1000 };
      }
      buffers[symbol] = byTf;
    }
    this.#health = { at: now, buffers };
    return this.#health;
  }
}

/** The streamer's overall status from its exchanges' readiness. */
function overall(states: readonly Readiness[]): 'running' | 'initializing' | 'degraded' | 'stopped' {
  if (states.every((s) => s === 'running')) return 'running';
  if (!states.includes('not_running')) return 'initializing';
  return states.includes('running') ? 'degraded' : 'stopped';
}
