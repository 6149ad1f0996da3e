/**
 * A plugin that breaks its contract at run time costs a frame, not the
 * worker: a `parse` that throws is counted as a parse error (its message as
 * the exchange's last error) and the trades after it still flow, with no
 * worker restart. Through the library, the plugin listed in a config object.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { TradeEvent } from '../../src/model/events.ts';
import { FakeDeribit } from '../support/fake-deribit.ts';
import { DERIBIT_PLUGIN } from '../support/plugin-project.ts';
import { until } from '../support/until.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tickwire-plugin-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('plugins: a parse that throws', () => {
  it('is counted as a malformed frame; the worker stays and later trades flow', async () => {
    // The example plugin, made to throw on a trade priced 666.
    const file = path.join(dir, 'throwing.mjs');
    const source = readFileSync(path.join(DERIBIT_PLUGIN, 'index.mjs'), 'utf8');
    const patched = source.replace('  parse(frame, handler) {\n', "  parse(frame, handler) {\n    if (frame.includes('\"price\":666')) throw new Error('cannot price 666');\n");
    expect(patched).not.toBe(source);
    writeFileSync(file, patched);

    const venue = await FakeDeribit.start(['BTC-PERPETUAL']);
    const tw = createTickwire({ plugins: [file], timeframes: ['1m'], exchanges: { deribit: { url: venue.url, symbols: ['BTC-PERPETUAL'], channels: ['trades'] } } }, { statusMs: 100 });
    const trades: TradeEvent[] = [];
    tw.on('trade', (t) => trades.push(t));
    try {
      await tw.start();
      await until(() => venue.channels().length === 1, 30_000, 'subscribed');
      venue.trade('BTC-PERPETUAL', 100, 1, 'buy');
      venue.trade('BTC-PERPETUAL', 666, 1, 'buy');
      venue.trade('BTC-PERPETUAL', 101, 2, 'sell');
      await until(() => trades.length === 2 && tw.status().exchanges.deribit!.parseErrors === 1, 30_000, 'two trades and one parse error');
      expect(trades.map((t) => t.price)).toEqual([100, 101]);
      const status = tw.status().exchanges.deribit!;
      expect(status.restarts).toBe(0);
      expect(status.lastError).toBe('parse threw: cannot price 666');
    } finally {
      await tw.stop();
      await venue.close();
    }
  });
});
