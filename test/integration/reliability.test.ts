/**
 * The per-exchange reliability knobs reach the exchange's worker: a venue
 * that accepts the connection and then says nothing is replaced after the
 * configured `staleAfterMs` (1 s here; the default is 60 s), with the
 * configured reconnect delays.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createTickwire } from '../../src/api/tickwire.ts';
import type { Tickwire } from '../../src/api/types.ts';
import { until } from '../support/until.ts';

let venue: WebSocketServer | undefined;
let tickwire: Tickwire | undefined;

afterEach(async () => {
  await tickwire?.stop();
  for (const c of venue?.clients ?? []) c.terminate();
  await new Promise<void>((r) => (venue ? venue.close(() => r()) : r()));
  tickwire = venue = undefined;
});

describe('reliability knobs in the running feed', () => {
  it('a silent venue is replaced after the configured staleness window', async () => {
    let connections = 0;
    venue = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    venue.on('connection', () => connections++); // accepts, then never sends a frame or a ping
    await new Promise<void>((r) => venue!.once('listening', () => r()));
    const { port } = venue.address() as { port: number };
    tickwire = createTickwire(
      {
        timeframes: ['1m'],
        exchanges: { binance: { url: `ws://127.0.0.1:${port}`, symbols: ['BTCUSDT'], reliability: { staleAfterMs: 1_000, reconnect: { initialMs: 10, maxMs: 100 } } } },
      },
      { tickMs: 50, statusMs: 100 },
    );
    await tickwire.start();
    await until(() => connections >= 3, 30_000, 'the venue to see three connections');
    await until(() => tickwire!.status().exchanges['binance']!.reconnects >= 2, 10_000, 'two reconnects in status');
    expect(tickwire.status().exchanges['binance']!.lastError).toMatch(/no frame or ping for 1000 ms/);
  });
});
