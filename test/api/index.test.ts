/** The package entry point offers what the README's examples use, and it works. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tickwire from '../../src/index.ts';
import * as internal from '../../src/internal.ts';

describe('public entry point', () => {
  it('exports the embedding, server and config faces', () => {
    for (const name of ['createTickwire', 'createServer', 'loadConfigFile', 'loadConfigText', 'parseConfig', 'BarAggregator']) {
      expect(typeof (tickwire as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('keeps the shared-memory buffers in the internal entry (tickwire/internal), not in the main one', () => {
    for (const name of ['TickRing', 'BarSeries', 'Doorbell']) {
      expect(typeof (internal as Record<string, unknown>)[name], name).toBe('function');
      expect((tickwire as Record<string, unknown>)[name], name).toBeUndefined();
    }
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> };
    expect(pkg.exports['./internal']).toEqual({ types: './dist/src/internal.d.ts', import: './dist/src/internal.js' });
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
