/**
 * A venue other than Binance through the whole live path: config → registry
 * → exchange worker → shared memory → events, over real loopback sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import { coinbaseFrames, FakeCoinbase } from '../support/fake-coinbase.ts';
import { until } from '../support/until.ts';

let fake: FakeCoinbase | undefined;
let tickwire: Tickwire | undefined;

afterEach(async () => {
  await tickwire?.stop();
  await fake?.close();
  tickwire = undefined;
  fake = undefined;
});

describe('coinbase through the worker', () => {
  it('subscribes, and every recorded match becomes one trade with the aggressor side, and a bar', async () => {
    fake = await new FakeCoinbase().start();
    tickwire = createTickwire({ timeframes: ['1m'], exchanges: { coinbase: { url: fake.url, symbols: ['SKL-USD', 'DASH-BTC'] } } }, { statusMs: 100, tickMs: 50 });
    const trades: TradeEvent[] = [];
    tickwire.on('trade', (t) => trades.push(t));
    await tickwire.start();
    const f = fake;
    await until(() => f.subscribers('matches', 'SKL-USD') === 1, 10_000, 'the subscription');
    const matches = coinbaseFrames().filter((l) => l.includes('"type":"match"') && /"product_id":"(SKL-USD|DASH-BTC)"/.test(l));
    expect(matches.length).toBeGreaterThan(5);
    for (const m of matches) f.publish(m);
    const ids = new Set(matches.map((m) => JSON.parse(m).trade_id as number));
    await until(() => trades.length === ids.size, 10_000, 'every match');
    for (const m of matches.slice(0, 5)) {
      const d = JSON.parse(m);
      const t = trades.find((x) => x.tradeId === d.trade_id && x.symbol === d.product_id)!;
      // match.side is the maker's: the aggressor is the other side.
      expect(t).toMatchObject({ exchange: 'coinbase', price: Number(d.price), size: Number(d.size), side: d.side === 'sell' ? 'buy' : 'sell', ts: Date.parse(d.time) });
    }
    const sklTrades = trades.filter((t) => t.symbol === 'SKL-USD').length;
    const bars = tickwire.bars('coinbase', 'SKL-USD', '1m');
    expect(bars.reduce((n, b) => n + b.trades, 0)).toBe(sklTrades);
    expect(tickwire.status().exchanges['coinbase']).toMatchObject({ state: 'connected', parseErrors: 0 });
  });
});
