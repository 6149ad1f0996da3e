/** The hostile tests' big market: 200 symbols on binance, 1m and 5m bars with room for 1000 each (seeded: 999 closed and a forming one). */
import type { TickwireConfig } from '../../src/config/types.ts';
import { TIMEFRAMES } from '../../src/model/timeframes.ts';
import { FakeTickwire, fakeConfig } from '../support/fake-tickwire.ts';

export const SYMBOLS = 200;
export const BARS = 1000;

/** fakeConfig() with SYMBOLS symbols on binance alone, every timeframe with room for BARS bars. */
export function bigConfig(): TickwireConfig {
  const cfg = fakeConfig();
  cfg.exchanges = { binance: { ...cfg.exchanges['binance']!, symbols: Array.from({ length: SYMBOLS }, (_, i) => `S${i}USDT`) } };
  for (const tf of TIMEFRAMES) cfg.history[tf] = BARS;
  return cfg;
}

/** bigConfig() with 1m and 5m of every symbol seeded: BARS - 1 closed bars and a forming one. */
export function seeded(): FakeTickwire {
  const tw = new FakeTickwire(bigConfig());
  const t0 = Date.UTC(2024, 0, 1);
  for (let i = 0; i < SYMBOLS; i++) {
    tw.seed('binance', `S${i}USDT`, '1m', BARS - 1, t0);
    tw.seed('binance', `S${i}USDT`, '5m', BARS - 1, t0);
  }
  return tw;
}
