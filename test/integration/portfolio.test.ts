/**
 * A portfolio valued from recorded frames, through the whole live path: fake
 * Binance replays recorded BTCUSDT trades, fake Coinbase recorded SKL-USD
 * matches; BTC is priced through binance:BTCUSDT and the USDT=USD peg, SKL
 * directly in USD. The value must equal the one computed by hand from the
 * last recorded prices. Bad holdings are refused INVALID_PARAMETER and change
 * nothing; a holdings change is stored and survives a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { ErrorCode, TickwireError } from '../../src/errors.ts';
import type { PortfolioEvent } from '../../src/model/events.ts';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { longTradeFrames } from '../support/fake-binance.ts';
import { coinbaseFrames, FakeCoinbase } from '../support/fake-coinbase.ts';
import { until } from '../support/until.ts';

let binance: BinanceProtocolServer | undefined;
let coinbase: FakeCoinbase | undefined;
let tw: Tickwire | undefined;
let dir: string | undefined;

afterEach(async () => {
  await tw?.stop();
  await binance?.stop();
  await coinbase?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  tw = binance = coinbase = dir = undefined;
});

function config(binanceUrl: string, coinbaseUrl: string, storagePath: string) {
  return {
    timeframes: ['1m'],
    storage: { path: storagePath, backfill: false },
    exchanges: { binance: { url: binanceUrl, symbols: ['BTCUSDT'] }, coinbase: { url: coinbaseUrl, symbols: ['SKL-USD'] } },
    portfolios: { main: { quote: 'USD', holdings: { BTC: 0.5, SKL: 1000, USDT: 1000, USD: 2500 }, pegs: { USDT: 'USD' }, heartbeatMs: 200 } },
  };
}

function code(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return err instanceof TickwireError ? err.code : String(err);
  }
  return 'none';
}

describe('portfolio valued live', () => {
  it('equals the hand-computed value from the recorded frames; bad holdings change nothing; a PUT survives a restart', async () => {
    binance = new BinanceProtocolServer({ pingIntervalMs: 1_000 });
    await binance.start();
    coinbase = await new FakeCoinbase().start();
    dir = mkdtempSync(path.join(tmpdir(), 'tickwire-portfolio-'));
    const storagePath = path.join(dir, 'bars');
    tw = createTickwire(config(binance.url, coinbase.url, storagePath), { statusMs: 100, tickMs: 50 });
    const published: PortfolioEvent[] = [];
    tw.events.on('portfolio', (p) => void published.push(p));
    await tw.start();
    const b = binance;
    const c = coinbase;
    await until(() => b.hasSubscribers('btcusdt@trade') && c.subscribers('matches', 'SKL-USD') === 1, 20_000, 'both venues subscribed');

    const btcFrames = longTradeFrames().slice(0, 30);
    const sklFrames = coinbaseFrames().filter((l) => l.includes('"type":"match"') && l.includes('"product_id":"SKL-USD"')).slice(0, 10);
    for (const f of btcFrames) b.sendRaw(f);
    for (const f of sklFrames) c.publish(f);
    // By hand: the last recorded prices; BTC = BTCUSDT × 1 (peg), SKL = SKL-USD.
    const btc = Number(JSON.parse(btcFrames.at(-1)!).data.p);
    const skl = Number(JSON.parse(sklFrames.at(-1)!).price);
    const expected = 0.5 * btc + 1000 * skl + 1000 + 2500;
    await until(() => Math.abs(tw!.portfolio('main').value - expected) < 1e-9, 20_000, 'the valuation of the last recorded prices');

    const v = tw.portfolio('main');
    expect(v.quote).toBe('USD');
    expect(v.stale).toEqual([]);
    const byAsset = Object.fromEntries(v.holdings.map((h) => [h.asset, h]));
    expect(byAsset['BTC']).toMatchObject({ amount: 0.5, price: btc, value: 0.5 * btc, source: 'binance:BTCUSDT*peg:USDT=USD' });
    expect(byAsset['SKL']).toMatchObject({ amount: 1000, price: skl, source: 'coinbase:SKL-USD' });
    expect(byAsset['USDT']).toMatchObject({ price: 1, value: 1000, source: 'peg:USDT=USD' });
    expect(byAsset['USD']).toMatchObject({ price: 1, value: 2500, source: 'quote' });
    expect(v.holdings.reduce((s, h) => s + h.weight!, 0)).toBeCloseTo(1, 12);
    await until(() => published.some((p) => Math.abs(p.value - expected) < 1e-9), 10_000, 'the value published');

    // Bad holdings: refused whole, nothing changed.
    for (const bad of [{ BTC: -1 }, { BTC: Number.NaN }, { DOGE: 5 }, { BTC: '1' }, [1], null]) {
      expect(code(() => tw!.setHoldings('main', bad))).toBe(ErrorCode.INVALID_PARAMETER);
    }
    expect(code(() => tw!.setHoldings('nope', { BTC: 1 }))).toBe(ErrorCode.NOT_FOUND);
    expect(tw.portfolio('main').value).toBeCloseTo(expected, 9);

    // A valid change applies at once and is stored.
    const after = tw.setHoldings('main', { BTC: 2, USD: 10 });
    expect(after.value).toBeCloseTo(2 * btc + 10, 9);
    await tw.stop();

    tw = createTickwire(config(b.url, c.url, storagePath), { statusMs: 100, tickMs: 50 });
    await tw.start();
    expect(tw.portfolio('main').holdings.map((h) => [h.asset, h.amount])).toEqual([['BTC', 2], ['USD', 10]]);
  }, 90_000);
});
