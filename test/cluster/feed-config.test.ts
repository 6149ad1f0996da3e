/**
 * A feed process runs market data only (docs/scale-out.md, "What runs
 * where"): its runtime gets the config without price feeds, portfolios,
 * alert rules, strategies or their pool, which the edges run; everything
 * else is the config as given.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TickwireRuntime } from '../../src/api/tickwire.ts';
import { feedRuntimeConfig } from '../../src/cluster/feed-node.ts';
import { parseConfig } from '../../src/config/load.ts';

describe('a feed runtime config', () => {
  it('keeps the market data and leaves feeds, portfolios, alerts and strategies to the edges', async () => {
    const config = parseConfig({
      timeframes: ['1m'],
      storage: false,
      exchanges: { simulated: { symbols: ['SIM-BTC'] }, binance: { symbols: ['BTCUSDT'] } },
      feeds: { 'BTC-USD': { sources: ['simulated:SIM-BTC', 'binance:BTCUSDT'] } },
      portfolios: { main: { quote: 'USD', holdings: { BTC: 1 } } },
      alerts: { rules: [{ id: 'btc-high', type: 'price', feed: 'BTC-USD', above: 70_000 }] },
      strategies: {
        hook: {
          module: path.join(import.meta.dirname, 'fixtures/buy-above.mjs'),
          exchange: 'simulated',
          symbol: 'SIM-BTC',
          timeframe: '1m',
          executor: { kind: 'webhook', url: 'http://127.0.0.1:9/orders' },
        },
      },
      pool: { threads: 1 },
      cluster: { servers: ['nats://127.0.0.1:4222'], name: 'feedconfig' },
    });
    const feed = feedRuntimeConfig(config);
    for (const key of ['feeds', 'portfolios', 'alerts', 'strategies', 'pool'] as const) expect(feed[key]).toBeUndefined();
    const { feeds: _f, portfolios: _p, alerts: _a, strategies: _s, pool: _pool, ...marketData } = config;
    expect(feed).toEqual(marketData);
    expect(config.strategies).toBeDefined(); // the given config is left as it was

    const runtime = new TickwireRuntime(feed);
    expect(runtime.feeds()).toEqual([]);
    expect(runtime.portfolios()).toEqual([]);
    expect(runtime.alerts().rules).toEqual([]);
    expect(runtime.strategies()).toEqual([]);
    await runtime.stop();
  });
});
