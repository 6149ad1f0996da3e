/**
 * The `portfolios:` section: holdings valued live in a quote asset.
 *
 * ```yaml
 * portfolios:
 *   main:
 *     quote: USD
 *     holdings: { BTC: 0.5, ETH: 4, SOL: 100, USD: 2500 }
 *     pegs: { USDT: USD }      # one USDT is one USD (when no USDT-USD feed prices it)
 *     minChangeBps: 1          # publish when the value moves more than this
 *     heartbeatMs: 10000       # and at least this often
 *     staleMs: 60000           # a price older than this lists its asset in `stale`
 * ```
 *
 * Every holding must be priced in the quote through the configured feeds,
 * markets and pegs (src/portfolios/price-paths.ts); one that is not is a
 * config error at its key path, as are negative or non-numeric amounts.
 * Each paper strategy has a portfolio of its own name
 * (src/portfolios/paper-portfolios.ts): a configured one of that name is a
 * config error too.
 */
import type { Checker } from '../check/checker.ts';
import { isMap } from '../check/paths.ts';
import { TickwireError } from '../errors.ts';
import { checkHoldings } from '../portfolios/holdings.ts';
import { priceGraph } from '../portfolios/price-paths.ts';
import { paperPortfolios } from '../portfolios/paper-portfolios.ts';
import { PORTFOLIO_DEFAULTS } from '../portfolios/valuation.ts';
import type { ExchangeConfig, PortfolioConfig, PriceFeedConfig, StrategyConfig } from './types.ts';

const KEYS = ['quote', 'holdings', 'pegs', 'minChangeBps', 'heartbeatMs', 'staleMs'] as const;
export const MAX_PORTFOLIOS = 100;
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ASSET = /^[A-Z0-9]{1,20}$/;

/** Check `portfolios:` against the feeds and exchanges (`{}` when absent). */
export function portfoliosSection(
  c: Checker,
  value: unknown,
  feeds: Readonly<Record<string, PriceFeedConfig>>,
  exchanges: Readonly<Record<string, ExchangeConfig>>,
): Record<string, PortfolioConfig> {
  if (value === undefined || value === null) return {};
  if (!isMap(value) || Object.keys(value).length > MAX_PORTFOLIOS) {
    c.fail('portfolios', value, `a map of at most ${MAX_PORTFOLIOS} portfolio ids → { quote, holdings, pegs, minChangeBps, heartbeatMs, staleMs }`);
    return {};
  }
  const out: Record<string, PortfolioConfig> = {};
  for (const [id, given] of Object.entries(value)) {
    const path = `portfolios.${id}`;
    if (!ID.test(id)) {
      c.fail(path, id, 'an id of letters, digits, _ . - (at most 64)');
      continue;
    }
    const p = c.section(given, path, KEYS);
    const quote = p.quote;
    if (typeof quote !== 'string' || !ASSET.test(quote)) c.fail(`${path}.quote`, quote, 'an asset code in upper case (USD)');
    const pegs: Record<string, string> = {};
    if (p.pegs !== undefined && p.pegs !== null) {
      if (!isMap(p.pegs)) c.fail(`${path}.pegs`, p.pegs, 'a map asset → the asset it is worth one of ({ USDT: USD })');
      else {
        for (const [a, b] of Object.entries(p.pegs)) {
          if (ASSET.test(a) && typeof b === 'string' && ASSET.test(b) && a !== b) pegs[a] = b;
          else c.fail(`${path}.pegs.${a}`, b, 'another asset code in upper case');
        }
      }
    }
    const config: PortfolioConfig = {
      id,
      quote: typeof quote === 'string' ? quote : '',
      holdings: {},
      pegs,
      minChangeBps: c.number(p.minChangeBps, `${path}.minChangeBps`, PORTFOLIO_DEFAULTS.minChangeBps, (n) => n >= 0 && n <= 10_000, 'basis points from 0 to 10000'),
      heartbeatMs: c.number(p.heartbeatMs, `${path}.heartbeatMs`, PORTFOLIO_DEFAULTS.heartbeatMs, (n) => Number.isInteger(n) && n >= 100 && n <= 3_600_000, 'an integer number of ms from 100 to 3600000'),
      staleMs: c.number(p.staleMs, `${path}.staleMs`, PORTFOLIO_DEFAULTS.staleMs, (n) => Number.isInteger(n) && n >= 100 && n <= 86_400_000, 'an integer number of ms from 100 to 86400000'),
    };
    try {
      const checked = checkHoldings(p.holdings ?? {}, priceGraph(feeds, exchanges, pegs), config.quote);
      config.holdings = Object.fromEntries(checked.map((h) => [h.asset, h.amount]));
    } catch (err) {
      if (!(err instanceof TickwireError)) throw err;
      c.issues.push({ path: `${path}.holdings`, message: err.message });
    }
    out[id] = config;
  }
  return out;
}

/** Refuse, at `portfolios.<id>`, a configured portfolio that has a paper strategy's name (that strategy's executor owns the id). */
export function checkPaperPortfolioIds(c: Checker, portfolios: Readonly<Record<string, PortfolioConfig>>, strategies: Readonly<Record<string, StrategyConfig>>): void {
  for (const { config } of paperPortfolios(strategies)) {
    if (portfolios[config.id] === undefined) continue;
    c.issues.push({
      path: `portfolios.${config.id}`,
      message: `the paper strategy "${config.id}" (strategies.${config.id}) holds its positions in a portfolio of that name, expected another portfolio id or strategy name`,
    });
  }
}
