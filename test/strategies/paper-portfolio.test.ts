/**
 * A paper strategy's positions as a portfolio, through the whole live path
 * (fake Binance on loopback, feed worker, pump, strategy pool, paper
 * executor, portfolio valuation, HTTP and the stream): the portfolio named
 * after the strategy holds the account's position and cash after a real
 * fill, valued at the last trade, with the figures computed by hand; a PUT
 * of its holdings is refused CHANGE_REFUSED (409) and changes nothing; a
 * configured portfolio of the same name is a config error at its key path.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { PortfolioEvent } from '../../src/model/events.ts';
import type { FillEvent } from '../../src/model/strategy.ts';
import { hashToken } from '../../src/server/auth.ts';
import { createServer, type TickwireServer } from '../../src/server/server.ts';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { Client } from '../server/helpers.ts';
import { configError } from '../support/config-error.ts';
import { until } from '../support/until.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const TOKEN = 'paper-portfolio-test-token-0123456789';
const CASH = 1000;
const FEE_BPS = 10;
const SLIPPAGE_BPS = 20;

/** The `ordered` fixture buys 1 BTC once a closed bar's close is at or above 100, and holds while it stays there. */
function config(binanceUrl: string): Record<string, unknown> {
  return {
    timeframes: ['1s'],
    exchanges: { binance: { url: binanceUrl, symbols: ['BTCUSDT'] } },
    auth: { tokens: [{ name: 'analyzer', sha256: hashToken(TOKEN), scopes: ['admin'] }] },
    strategies: {
      sma: {
        module: path.join(FIXTURES, 'ordered.mjs'),
        exchange: 'binance',
        symbol: 'BTCUSDT',
        timeframe: '1s',
        lookback: 3,
        timeoutMs: 5_000,
        executor: { kind: 'paper', cash: CASH, feeBps: FEE_BPS, slippageBps: SLIPPAGE_BPS },
      },
    },
    pool: { threads: 1 },
    // A paper strategy's portfolio is a portfolio like any other: alert rules may name it.
    alerts: { rules: [{ id: 'sma-drop', type: 'portfolio', portfolio: 'sma', pct: 50 }] },
  };
}

let binance: BinanceProtocolServer | undefined;
let tw: Tickwire | undefined;
let server: TickwireServer | undefined;
let client: Client | undefined;
let pump: NodeJS.Timeout | undefined;

afterEach(async () => {
  clearInterval(pump);
  client?.ws.terminate();
  await server?.close();
  await tw?.stop();
  await binance?.stop();
  binance = tw = server = client = pump = undefined;
});

describe('paper strategy positions as a portfolio', () => {
  it('holds the account’s position and cash after a fill, valued live; a PUT is refused', async () => {
    binance = new BinanceProtocolServer({ pingIntervalMs: 1_000 });
    await binance.start();
    tw = createTickwire(config(binance.url), { statusMs: 100, tickMs: 50 });
    const fills: FillEvent[] = [];
    tw.events.on('fill', (f) => void fills.push(f));
    await tw.start();
    server = createServer(tw, { host: '127.0.0.1', port: 0 });
    const { port } = await server.listen();
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${TOKEN}` };

    // Before any fill: the configured cash, no position.
    expect(tw.portfolio('sma')).toMatchObject({ id: 'sma', quote: 'USDT' });
    expect(tw.portfolio('sma').holdings.map((h) => [h.asset, h.amount, h.source])).toEqual([['BTC', 0, 'binance:BTCUSDT'], ['USDT', CASH, 'quote']]);
    client = await Client.connect(`ws://127.0.0.1:${port}/v1/stream`, ['tickwire.json', `bearer.${TOKEN}`]);
    expect(await client.subscribe(['portfolio:sma'])).toMatchObject({ type: 'subscribed', channels: ['portfolio:sma'] });

    // Trades at 100.5 every 50 ms: 1 s bars close at 100.5, the strategy buys 1 BTC, filled at the next trade.
    const b = binance;
    await until(() => b.hasSubscribers('btcusdt@trade'), 20_000, 'the venue subscribed');
    let id = 0;
    const trade = (price: string): void => {
      const now = Date.now();
      id++;
      b.publish('btcusdt@trade', { e: 'trade', E: now, s: 'BTCUSDT', t: id, p: price, q: '0.01', T: now, m: false, M: true });
    };
    pump = setInterval(() => trade('100.50'), 50);
    await until(() => fills.length > 0, 60_000, 'a paper fill');
    clearInterval(pump);
    // The last trade, at 104, prices the position.
    trade('104.00');
    await until(() => tw!.portfolio('sma').holdings[0]!.price === 104, 20_000, 'the position priced at the last trade');

    // By hand: bought 1 at 100.5 + 20 bps slippage = 100.701, fee 10 bps of it = 0.100701.
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ side: 'buy', size: 1, position: 1 });
    expect(fills[0]!.price).toBeCloseTo(100.701, 9);
    const cash = CASH - 100.701 - 0.100701; // 899.198299
    const v = tw.portfolio('sma');
    expect(v.holdings.map((h) => h.asset)).toEqual(['BTC', 'USDT']);
    expect(v.holdings[0]).toMatchObject({ amount: 1, price: 104, value: 104, source: 'binance:BTCUSDT' });
    expect(v.holdings[1]!.amount).toBeCloseTo(cash, 9);
    expect(v.holdings[1]).toMatchObject({ price: 1, source: 'quote' });
    expect(v.value).toBeCloseTo(104 + cash, 9); // 1003.198299
    expect(v.holdings[0]!.weight).toBeCloseTo(104 / (104 + cash), 9);
    expect(v.stale).toEqual([]);
    // A fill does not restart the change reference: `change` is the strategy's result since the cash was first valued.
    expect(v.change.abs).toBeCloseTo(104 + cash - CASH, 9); // +3.198299
    expect(v.change.pct).toBeCloseTo(((104 + cash - CASH) / CASH) * 100, 9);
    // The strategy's own account agrees.
    expect(tw.strategy('sma')!.account).toMatchObject({ position: 1 });
    expect(tw.strategy('sma')!.account!.cash).toBeCloseTo(cash, 9);

    // Served like any portfolio: HTTP and the stream.
    const got = (await (await fetch(`${base}/v1/portfolios/sma`, { headers: auth })).json()) as PortfolioEvent;
    expect(got.value).toBeCloseTo(104 + cash, 9);
    const listed = (await (await fetch(`${base}/v1/portfolios`, { headers: auth })).json()) as { portfolios: PortfolioEvent[] };
    expect(listed.portfolios.map((p) => p.id)).toEqual(['sma']);
    const c = client;
    await until(() => c.received.some((m) => m.type === 'portfolio' && m.channel === 'portfolio:sma' && Math.abs(m.value - (104 + cash)) < 1e-9), 20_000, 'the value on portfolio:sma');

    // Read-only: its executor owns the holdings.
    const put = await fetch(`${base}/v1/portfolios/sma/holdings`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ BTC: 5, USDT: 0 }),
    });
    expect(put.status).toBe(409);
    expect(await put.json()).toEqual({ error: { code: 'CHANGE_REFUSED', message: expect.stringMatching(/paper positions of strategy "sma".*cannot be set by hand/) } });
    expect(tw.portfolio('sma').holdings.map((h) => h.amount)).toEqual([1, v.holdings[1]!.amount]);
  }, 120_000);

  it('refuses a configured portfolio named after a paper strategy, at its key path', () => {
    const given = {
      exchanges: { binance: { symbols: ['BTCUSDT'] } },
      portfolios: { sma: { quote: 'USDT', holdings: { BTC: 1 } } },
      strategies: { sma: { module: path.join(FIXTURES, 'ordered.mjs'), exchange: 'binance', symbol: 'BTCUSDT', timeframe: '1m', executor: { kind: 'paper' } } },
    };
    expect(configError(() => parseConfig(given)).issues).toEqual([
      { path: 'portfolios.sma', message: expect.stringMatching(/^the paper strategy "sma" \(strategies\.sma\) holds its positions in a portfolio of that name/) },
    ]);
    // A strategy with another executor leaves the name free.
    const webhook = { ...given.strategies.sma, executor: { kind: 'webhook', url: 'https://example.com/orders' } };
    expect(Object.keys(parseConfig({ ...given, strategies: { sma: webhook } }).portfolios!)).toEqual(['sma']);
  });
});
