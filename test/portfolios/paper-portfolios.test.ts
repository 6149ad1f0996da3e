/**
 * Paper strategies' portfolios, pure: which strategies get one and in what
 * assets, and how a fill's amounts move a valued book (paths and the change
 * reference kept, published at the next tick even when the value did not
 * move); several paper strategies sharing one book stay apart. Values are
 * hand-computed.
 */
import { describe, expect, it } from 'vitest';
import { RuntimePortfolios } from '../../src/api/portfolios.ts';
import { EVENT_TYPES, type TickwireEvents } from '../../src/api/types.ts';
import { EventBus } from '../../src/events/bus.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import type { ExecutorConfig, StrategyConfig } from '../../src/config/types.ts';
import type { PortfolioEvent } from '../../src/model/events.ts';
import { checkHoldings } from '../../src/portfolios/holdings.ts';
import { paperPortfolios, portfolioIds } from '../../src/portfolios/paper-portfolios.ts';
import { priceGraph } from '../../src/portfolios/price-paths.ts';
import { PortfolioBook } from '../../src/portfolios/valuation.ts';

function strategy(symbol: string, executor: ExecutorConfig): StrategyConfig {
  return { module: 'm', exchange: 'binance', symbol, timeframe: '1m', lookback: 1, params: {}, features: {}, timeoutMs: 250, maxErrors: 5, executor };
}
const PAPER: ExecutorConfig = { kind: 'paper', cash: 1000, feeBps: 0, slippageBps: 0 };

describe('paper portfolios', () => {
  it('gives each paper strategy a portfolio of its name in its series’ quote asset; others get none', () => {
    const strategies = {
      sma: strategy('BTCUSDT', PAPER),
      hook: strategy('ETHUSDT', { kind: 'webhook', url: 'https://example.com', retries: 3, timeoutMs: 2000, headers: {} }),
      stock: strategy('AAPL', PAPER),
    };
    expect(paperPortfolios(strategies)).toEqual([
      { base: 'BTC', config: { id: 'sma', quote: 'USDT', holdings: { BTC: 0, USDT: 1000 }, pegs: {}, minChangeBps: 1, heartbeatMs: 10_000, staleMs: 60_000 } },
    ]);
    expect(portfolioIds({ portfolios: { main: paperPortfolios(strategies)[0]!.config }, strategies })).toEqual(['main', 'sma']);
    expect(portfolioIds({})).toEqual([]);
  });

  it('takes a fill’s amounts in place: the change reference stays, and the next tick publishes', () => {
    const exchanges = { binance: { url: undefined, symbols: ['BTCUSDT'] } } as never;
    const { config } = paperPortfolios({ sma: strategy('BTCUSDT', PAPER) })[0]!;
    const graph = priceGraph({}, exchanges, {});
    const published: PortfolioEvent[] = [];
    const book = new PortfolioBook(graph, [{ config, holdings: checkHoldings(config.holdings, graph, 'USDT') }], (e) => published.push(e), 0);
    book.onTrade('binance', 'BTCUSDT', 100, 1);
    book.tick(2);
    expect(published.map((e) => e.value)).toEqual([1000]); // cash only: the reference
    // Buy 2 at 100, no fee: the value does not move, the holdings do.
    book.setAmounts('sma', { BTC: 2, USDT: 800 });
    book.tick(3);
    expect(published).toHaveLength(2);
    expect(published[1]!.holdings.map((h) => [h.asset, h.amount, h.value])).toEqual([['BTC', 2, 200], ['USDT', 800, 800]]);
    expect(published[1]!.change).toEqual({ abs: 0, pct: 0, since: 2 });
    // The price moves: change measured from the cash's first valuation.
    book.onTrade('binance', 'BTCUSDT', 110, 4);
    book.tick(5);
    expect(published[2]!.value).toBe(1020);
    expect(published[2]!.change).toEqual({ abs: 20, pct: 2, since: 2 });
    expect(book.setAmounts('nope', { BTC: 1 })).toBe(false);
  });

  it('publishes at a tick only a value moved past minChangeBps (or a heartbeat), as valuation() gives it then', () => {
    const exchanges = { binance: { url: undefined, symbols: ['BTCUSDT'] } } as never;
    const { config } = paperPortfolios({ sma: strategy('BTCUSDT', PAPER) })[0]!;
    const graph = priceGraph({}, exchanges, {});
    const published: PortfolioEvent[] = [];
    const book = new PortfolioBook(graph, [{ config, holdings: checkHoldings({ BTC: 2, USDT: 800 }, graph, 'USDT') }], (e) => published.push(e), 0);
    book.onTrade('binance', 'BTCUSDT', 100, 1);
    book.tick(2);
    expect(published.map((e) => e.value)).toEqual([1000]);
    // 1000 → 1000.05: 0.5 bps, below minChangeBps (1): valued, not published.
    book.onTrade('binance', 'BTCUSDT', 100.025, 3);
    book.tick(4);
    expect(published).toHaveLength(1);
    // 1000 → 1000.5: 5 bps since the last publish: published, exactly as valued at that instant.
    book.onTrade('binance', 'BTCUSDT', 100.25, 5);
    book.tick(6);
    expect(published).toHaveLength(2);
    expect(published[1]).toEqual(book.valuation('sma', 6));
    expect(published[1]!.change).toEqual({ abs: 1000.5 - 1000, pct: ((1000.5 - 1000) / 1000) * 100, since: 2 });
    // No trade, no heartbeat due: nothing; the heartbeat publishes an unmoved value.
    book.tick(7);
    expect(published).toHaveLength(2);
    book.tick(6 + config.heartbeatMs);
    expect(published.map((e) => e.value)).toEqual([1000, 1000.5, 1000.5]);
  });

  it('keeps paper strategies that share one book apart: a trade prices them all, a fill moves only its own', () => {
    const config = {
      exchanges: { binance: { url: undefined, symbols: ['BTCUSDT', 'ETHUSDT'] } },
      strategies: { a: strategy('BTCUSDT', PAPER), b: strategy('BTCUSDT', PAPER), c: { ...strategy('ETHUSDT', PAPER), executor: { ...PAPER, cash: 500 } } },
      storage: null,
    } as never;
    const portfolios = new RuntimePortfolios(config, new EventBus<TickwireEvents>(EVENT_TYPES), () => {});
    const trade = (symbol: string, price: number): TradeEvent => ({ exchange: 'binance', symbol, price, size: 1, side: 'buy', ts: 1, recvTs: 1 } as TradeEvent);
    portfolios.onTrade(trade('BTCUSDT', 100));
    portfolios.onTrade(trade('ETHUSDT', 10));
    portfolios.onFill({ strategy: 'a', position: 2, cash: 800 } as never);
    const value = (id: string) => portfolios.valuation(id).holdings.map((h) => [h.asset, h.amount, h.value]);
    expect(value('a')).toEqual([['BTC', 2, 200], ['USDT', 800, 800]]);
    expect(value('b')).toEqual([['BTC', 0, 0], ['USDT', 1000, 1000]]);
    expect(value('c')).toEqual([['ETH', 0, 0], ['USDT', 500, 500]]);
    portfolios.onTrade(trade('BTCUSDT', 110));
    expect(portfolios.valuations().map((e) => [e.id, e.value])).toEqual([['a', 1020], ['b', 1000], ['c', 500]]);
    expect(() => portfolios.setHoldings('b', { BTC: 1 })).toThrow(expect.objectContaining({ code: 'CHANGE_REFUSED' }));
  });
});
