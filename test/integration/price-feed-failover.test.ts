/**
 * A price feed over two fake venues on loopback, through the whole live path
 * (workers, shared memory, pump, router): the primary (a fake Binance) is
 * killed and the feed fails over to the secondary (a fake Coinbase) within
 * staleMs + 1 s, never pricing from the dead primary after the switch; the
 * primary is restored on the same port and takes the feed back after
 * switchBackMs. Trades are the recorded frames' shapes with live times.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import type { PriceEvent, SourceEvent } from '../../src/model/events.ts';
import { BinanceProtocolServer } from '../../src/sim/binance-protocol-server.ts';
import { FakeCoinbase } from '../support/fake-coinbase.ts';
import { tradeBtcOnBoth } from '../support/btc-trades.ts';
import { until } from '../support/until.ts';

let binance: BinanceProtocolServer | undefined;
let coinbase: FakeCoinbase | undefined;
let tw: Tickwire | undefined;
let pump: NodeJS.Timeout | undefined;

afterEach(async () => {
  clearInterval(pump);
  await tw?.stop();
  await binance?.stop();
  await coinbase?.close();
  tw = binance = coinbase = pump = undefined;
});

const STALE_MS = 1000;
const SWITCH_BACK_MS = 1500;

describe('price feed failover between venues', () => {
  it('fails over when the primary dies and switches back once it is healthy again', async () => {
    binance = new BinanceProtocolServer({ pingIntervalMs: 1_000 });
    await binance.start();
    coinbase = await new FakeCoinbase().start();
    tw = createTickwire(
      {
        timeframes: ['1m'],
        exchanges: { binance: { url: binance.url, symbols: ['BTCUSDT'] }, coinbase: { url: coinbase.url, symbols: ['BTC-USD'] } },
        feeds: { 'BTC-USD': { sources: ['binance:BTCUSDT', 'coinbase:BTC-USD'], staleMs: STALE_MS, switchBackMs: SWITCH_BACK_MS } },
      },
      { statusMs: 100, tickMs: 50, connection: { backoffBaseMs: 100, backoffMaxMs: 300 } },
    );
    const prices: PriceEvent[] = [];
    const switches: SourceEvent[] = [];
    tw.events.on('price', (p) => void prices.push(p));
    tw.events.on('source', (s) => void switches.push(s));
    await tw.start();
    const b = binance;
    const c = coinbase;
    await until(() => b.hasSubscribers('btcusdt@trade') && c.subscribers('matches', 'BTC-USD') === 1, 20_000, 'both venues subscribed');

    // Both venues trade every 50 ms around 50 000 (2 bps apart: no deviation).
    pump = tradeBtcOnBoth(b, c);
    const active = () => tw!.feed('BTC-USD').active;
    await until(() => active() === 'binance:BTCUSDT', 20_000, 'the primary serving the feed');
    expect(switches[0]!.reason).toBe('started');

    // Kill the primary.
    const killedAt = Date.now();
    await b.stop();
    await until(() => active() === 'coinbase:BTC-USD', 30_000, 'failover to the secondary');
    const failover = switches.find((s) => s.to === 'coinbase:BTC-USD' && s.from === 'binance:BTCUSDT')!;
    expect(['disconnected', 'stale']).toContain(failover.reason);
    // Within staleMs + 1 s, with slack for a loaded machine.
    expect(failover.ts - killedAt).toBeLessThan(STALE_MS + 1000 + 3000);
    await until(() => prices.some((p) => p.source === 'coinbase:BTC-USD' && p.ts > failover.ts), 10_000, 'prices from the secondary');
    expect(prices.filter((p) => p.ts > failover.ts && p.source === 'binance:BTCUSDT')).toEqual([]);

    // Restore the primary on the same port: it takes the feed back after switchBackMs of health.
    await b.start();
    const restoredAt = Date.now();
    await until(() => active() === 'binance:BTCUSDT', 60_000, 'switch back to the primary');
    const back = switches.at(-1)!;
    expect(back).toMatchObject({ feed: 'BTC-USD', from: 'coinbase:BTC-USD', to: 'binance:BTCUSDT', reason: 'recovered' });
    expect(back.ts - restoredAt).toBeGreaterThanOrEqual(SWITCH_BACK_MS);
    await until(() => prices.some((p) => p.source === 'binance:BTCUSDT' && p.ts > back.ts), 10_000, 'prices from the primary again');
    // Between failover and switch-back, only the secondary priced the feed.
    expect(prices.filter((p) => p.ts > failover.ts && p.ts < back.ts && p.source !== 'coinbase:BTC-USD')).toEqual([]);

    const report = tw.feed('BTC-USD');
    expect(report.switches).toBe(switches.length);
    expect(report.day.bars).toBeGreaterThan(0);
    expect(report.day.volume).toBeGreaterThan(0);
    const metrics = await tw.metrics();
    expect(metrics).toMatch(/tickwire_feed_active_source\{feed="BTC-USD",source="binance:BTCUSDT"\} 1/);
    expect(metrics).toMatch(/tickwire_feed_switches_total\{reason="recovered"\} [1-9]/);
  }, 120_000);
});
