/** The package entry point offers what the README's examples use, and it works. */
import { describe, expect, it } from 'vitest';
import * as tickwire from '../../src/index.ts';

describe('public entry point', () => {
  it('exports the embedding, server and config faces', () => {
    for (const name of ['createTickwire', 'createServer', 'loadConfigFile', 'loadConfigText', 'parseConfig', 'BarAggregator', 'TickRing', 'BarSeries', 'Doorbell']) {
      expect(typeof (tickwire as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('the README embedding example runs: simulated trades reach a handler, bars are readable', async () => {
    const tw = tickwire.createTickwire({ exchanges: { simulated: { symbols: ['SIM-BTC'], rate: 200 } }, timeframes: ['1m'] });
    const trades: tickwire.TradeEvent[] = [];
    tw.on('trade', (t) => trades.push(t));
    await tw.start();
    try {
      const deadline = Date.now() + 10_000;
      while (trades.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(trades.length).toBeGreaterThanOrEqual(3);
      expect(trades[0]).toMatchObject({ exchange: 'simulated', symbol: 'SIM-BTC' });
      expect(tw.currentBar('simulated', 'SIM-BTC', '1m')?.trades).toBeGreaterThan(0);
    } finally {
      await tw.stop();
    }
  });
});
