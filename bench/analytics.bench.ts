/**
 * Main-thread cost per trade of feeds, alert rules and portfolios (issue 14:
 * goal under 1 µs per trade at 10k trades/s): what the runtime's pump output
 * does per trade (src/api/tickwire.ts) on a portfolio of 50 assets, 100
 * alert rules (a price level and a 5 % change per asset) and 10 feeds of two
 * sources each, trades cycling over the 50 markets with a random walk. The
 * portfolio is valued every 1000 trades (its 100 ms tick at 10k trades/s),
 * inside the timed window: its cost counts per trade.
 *
 * Peer: the same trades with nothing configured (the lookups that find
 * nothing): the difference is what these features add.
 */
import { AlertEngine } from '../src/alerts/rules.ts';
import type { AlertRuleConfig, ExchangeConfig, PortfolioConfig, PriceFeedConfig } from '../src/config/types.ts';
import { checkHoldings } from '../src/portfolios/holdings.ts';
import { priceGraph } from '../src/portfolios/price-paths.ts';
import { PortfolioBook } from '../src/portfolios/valuation.ts';
import { FeedRouter } from '../src/prices/feed-router.ts';
import { runCases, type Row } from './harness.ts';

const BATCH = 1000;
const ASSETS = 50;
const TICK_EVERY = 1000;

function exchange(symbols: string[]): ExchangeConfig {
  return { url: undefined, symbols, channels: ['trades'], rate: 0, seed: 1, restUrl: undefined, key: undefined, secret: undefined, assetClass: 'stocks', feed: undefined };
}

interface Setup {
  trade(exchange: string, symbol: string, price: number, now: number): void;
  tick(now: number): void;
}

function configured(): Setup {
  const assets = Array.from({ length: ASSETS }, (_, i) => `A${i}`);
  const exchanges = { binance: exchange(assets.map((a) => `${a}USDT`)), okx: exchange(assets.slice(0, 10).map((a) => `${a}-USDT`)) };
  const feeds: Record<string, PriceFeedConfig> = {};
  for (const a of assets.slice(0, 10)) {
    feeds[`${a}-USDT`] = {
      name: `${a}-USDT`, base: a, quote: 'USDT', staleMs: 3000, maxDeviationBps: 50, switchBackMs: 30_000,
      sources: [{ exchange: 'binance', symbol: `${a}USDT`, key: `binance:${a}USDT` }, { exchange: 'okx', symbol: `${a}-USDT`, key: `okx:${a}-USDT` }],
    };
  }
  const rules: AlertRuleConfig[] = assets.flatMap((a): AlertRuleConfig[] => [
    { id: `${a}-level`, level: 'info', cooldownMs: 60_000, type: 'price', target: { exchange: 'binance', symbol: `${a}USDT` }, above: 1e9, below: undefined, hysteresisPct: 0 },
    { id: `${a}-move`, level: 'info', cooldownMs: 60_000, type: 'change', target: { exchange: 'binance', symbol: `${a}USDT` }, pct: 5, windowMs: 3_600_000 },
  ]);
  const portfolio: PortfolioConfig = {
    id: 'main', quote: 'USD', holdings: Object.fromEntries(assets.map((a) => [a, 1])), pegs: { USDT: 'USD' }, minChangeBps: 1, heartbeatMs: 10_000, staleMs: 60_000,
  };
  const graph = priceGraph(feeds, exchanges, portfolio.pegs);
  const engine = new AlertEngine(rules, () => {}, 0);
  const book = new PortfolioBook(graph, [{ config: portfolio, holdings: checkHoldings(portfolio.holdings, graph, 'USD') }], () => {}, 0);
  const router = new FeedRouter(Object.values(feeds), {
    price: (e) => {
      engine.onFeedPrice(e.feed, e.price, e.ts);
      book.onFeedPrice(e.feed, e.price, e.ts);
    },
    source: (e) => engine.onSource(e),
  });
  return pipeline(router, engine, book);
}

function empty(): Setup {
  const engine = new AlertEngine([], () => {}, 0);
  const router = new FeedRouter([], { price: () => {}, source: () => {} });
  const book = new PortfolioBook(priceGraph({}, {}, {}), [], () => {}, 0);
  return pipeline(router, engine, book);
}

/** What the runtime's pump output does per trade, and its timers' work. */
function pipeline(router: FeedRouter, engine: AlertEngine, book: PortfolioBook): Setup {
  return {
    trade(exchange, symbol, price, now) {
      router.onTrade(exchange, symbol, price, now, now, now);
      engine.onTrade(exchange, symbol, price, now);
      book.onTrade(exchange, symbol, price, now);
    },
    tick: (now) => {
      router.check(now);
      engine.check(now);
      book.tick(now);
    },
  };
}

/** A case replaying BATCH trades a call over the 50 markets, 0.1 ms apart (10k trades/s). */
function replay(setup: Setup): () => void {
  const symbols = Array.from({ length: ASSETS }, (_, i) => `A${i}USDT`);
  const prices = new Float64Array(ASSETS).fill(100);
  let seed = 1;
  let now = 1_000_000;
  let n = 0;
  return () => {
    for (let i = 0; i < BATCH; i++) {
      const k = n % ASSETS;
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      prices[k] = prices[k]! * (1 + ((seed / 0x7fffffff) - 0.5) * 0.0004);
      now += 0.1;
      setup.trade('binance', symbols[k]!, prices[k]!, now);
      if (++n % TICK_EVERY === 0) setup.tick(now);
    }
  };
}

export function analyticsBench(): Row[] {
  return runCases('analytics', [
    { id: 'analytics.trade_50_assets_100_rules', name: '50-asset portfolio, 100 rules, 10 feeds', unit: 'trade', batch: BATCH, fn: replay(configured()), peer: 'analytics.trade_nothing' },
    { id: 'analytics.trade_nothing', name: 'nothing configured', unit: 'trade', batch: BATCH, fn: replay(empty()) },
  ]);
}
