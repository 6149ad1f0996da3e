/**
 * Portfolios owned by strategies' paper executors (docs/strategies.md,
 * "The paper account as a portfolio"). Each strategy with `executor.kind:
 * paper` has a portfolio whose id is the strategy's name, quoted in its
 * series' quote asset (`binance:BTCUSDT` → USDT), holding the paper
 * account's position (the base asset) and cash (the quote asset). It is
 * valued like any portfolio; its holdings follow the executor's fills and
 * cannot be set by hand.
 *
 * Decisions where the issue is silent:
 *  - A config portfolio may not take a paper strategy's name (a config error
 *    at `portfolios.<name>`): one id, one owner.
 *  - A strategy whose symbol names no quote asset (`AAPL`) has no portfolio:
 *    its cash has no asset to be counted in.
 *  - The holdings start from the configured cash on every start, as the paper
 *    account does (it is not stored).
 */
import type { PortfolioConfig, StrategyConfig } from '../config/types.ts';
import { symbolRef } from '../model/symbols.ts';
import { PORTFOLIO_DEFAULTS } from './valuation.ts';

/** A paper strategy's portfolio: its config (holdings as at start) and which asset is the position, which the cash. */
export interface PaperPortfolio {
  config: PortfolioConfig;
  /** The asset the position is held in (the series' base). */
  base: string;
}

/** The portfolios of the paper strategies among `strategies`, in config order. */
export function paperPortfolios(strategies: Readonly<Record<string, StrategyConfig>> | undefined): PaperPortfolio[] {
  const out: PaperPortfolio[] = [];
  for (const [name, s] of Object.entries(strategies ?? {})) {
    if (s.executor.kind !== 'paper') continue;
    const { base, quote } = symbolRef(s.symbol);
    if (quote === '') continue;
    out.push({ base, config: { id: name, quote, holdings: { [base]: 0, [quote]: s.executor.cash }, pegs: {}, ...PORTFOLIO_DEFAULTS } });
  }
  return out;
}

/** Every portfolio id a config serves: its `portfolios:`, then its paper strategies'. */
export function portfolioIds(config: { portfolios?: Readonly<Record<string, PortfolioConfig>>; strategies?: Readonly<Record<string, StrategyConfig>> }): string[] {
  return [...Object.keys(config.portfolios ?? {}), ...paperPortfolios(config.strategies).map((p) => p.config.id)];
}
