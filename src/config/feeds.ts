/**
 * The `feeds:` section: price feeds with failover between venues.
 *
 * ```yaml
 * feeds:
 *   BTC-USD:
 *     sources: [coinbase:BTC-USD, binance:BTCUSDT, kraken:BTC/USD]   # primary first
 *     staleMs: 3000
 *     maxDeviationBps: 50
 *     switchBackMs: 30000
 * ```
 *
 * A feed's name is `BASE-QUOTE` (its channel is `prices:<name>`); each source
 * is `exchange:symbol` with a configured exchange and one of its symbols
 * (native or normalized: stored native). The 24-hour figures come from 1m
 * bars, so a config with feeds must keep the 1m timeframe.
 */
import type { Checker } from '../check/checker.ts';
import { isMap } from '../check/paths.ts';
import { SymbolIndex } from '../model/symbols.ts';
import type { TimeframeName } from '../model/timeframes.ts';
import type { ExchangeConfig, FeedSource, PriceFeedConfig } from './types.ts';

const FEED_KEYS = ['sources', 'staleMs', 'maxDeviationBps', 'switchBackMs'] as const;
/** Feeds at most, and sources per feed: memory and the per-trade cost stay bounded. */
export const MAX_FEEDS = 1000;
export const MAX_SOURCES = 10;
export const DEFAULT_STALE_MS = 3_000;
export const DEFAULT_MAX_DEVIATION_BPS = 50;
export const DEFAULT_SWITCH_BACK_MS = 30_000;
/** A feed name: `BASE-QUOTE`, letters and digits. */
export const FEED_NAME = /^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}$/;

/** Check `feeds:` against the configured exchanges (`{}` when absent). */
export function feedsSection(
  c: Checker,
  value: unknown,
  exchanges: Readonly<Record<string, ExchangeConfig>>,
  timeframes: readonly TimeframeName[],
): Record<string, PriceFeedConfig> {
  if (value === undefined || value === null) return {};
  if (!isMap(value)) {
    c.fail('feeds', value, 'a map of feed name (BASE-QUOTE) → { sources, staleMs, maxDeviationBps, switchBackMs }');
    return {};
  }
  const names = Object.keys(value);
  if (names.length > MAX_FEEDS) {
    c.fail('feeds', value, `at most ${MAX_FEEDS} feeds (got ${names.length})`);
    return {};
  }
  if (names.length > 0 && !timeframes.includes('1m')) {
    c.fail('timeframes', timeframes, 'to include 1m when feeds are configured (their 24-hour figures are computed from 1m bars)');
  }
  const indexes = new Map<string, SymbolIndex>();
  for (const [name, ex] of Object.entries(exchanges)) {
    const index = new SymbolIndex();
    for (const s of ex.symbols) index.add(s);
    indexes.set(name, index);
  }
  const out: Record<string, PriceFeedConfig> = {};
  for (const name of names) {
    const path = `feeds.${name}`;
    if (!FEED_NAME.test(name)) {
      c.fail(path, name, 'a feed name BASE-QUOTE in upper case, letters and digits (BTC-USD)');
      continue;
    }
    const f = c.section(value[name], path, FEED_KEYS);
    const sources = sourcesOf(c, f.sources, `${path}.sources`, indexes);
    const [base, quote] = name.split('-') as [string, string];
    out[name] = {
      name,
      base,
      quote,
      sources,
      staleMs: c.number(f.staleMs, `${path}.staleMs`, DEFAULT_STALE_MS, (n) => Number.isInteger(n) && n >= 100 && n <= 600_000, 'an integer number of ms from 100 to 600000'),
      maxDeviationBps: c.number(f.maxDeviationBps, `${path}.maxDeviationBps`, DEFAULT_MAX_DEVIATION_BPS, (n) => n >= 0 && n <= 10_000, 'basis points from 0 (off) to 10000'),
      switchBackMs: c.number(f.switchBackMs, `${path}.switchBackMs`, DEFAULT_SWITCH_BACK_MS, (n) => Number.isInteger(n) && n >= 0 && n <= 86_400_000, 'an integer number of ms from 0 to 86400000'),
    };
  }
  return out;
}

function sourcesOf(c: Checker, value: unknown, path: string, indexes: ReadonlyMap<string, SymbolIndex>): FeedSource[] {
  const expected = `a list of 1 to ${MAX_SOURCES} sources exchange:symbol, primary first, each on a configured exchange`;
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_SOURCES) {
    c.fail(path, value, expected);
    return [];
  }
  const out: FeedSource[] = [];
  value.forEach((given: unknown, i) => {
    const at = `${path}[${i}]`;
    const colon = typeof given === 'string' ? given.indexOf(':') : -1;
    if (typeof given !== 'string' || colon <= 0 || colon === given.length - 1) {
      c.fail(at, given, 'exchange:symbol (binance:BTCUSDT)');
      return;
    }
    const exchange = given.slice(0, colon);
    const index = indexes.get(exchange);
    if (index === undefined) {
      c.fail(at, given, `an exchange configured under exchanges (${[...indexes.keys()].join(', ')})`);
      return;
    }
    const native = index.resolve(given.slice(colon + 1))?.native;
    if (native === undefined) {
      c.fail(at, given, `a symbol configured on ${exchange} (${index.list().map((r) => r.native).join(', ')})`);
      return;
    }
    const key = `${exchange}:${native}`;
    if (out.some((s) => s.key === key)) {
      c.fail(at, given, 'each source once');
      return;
    }
    out.push({ exchange, symbol: native, key });
  });
  return out;
}
